-- Text search index (SEARCH/SORT/THREAD, issue 5): one document per
-- distinct content (blob), so copies of a message share it.
--
-- search_docs gives each indexed blob the integer rowid FTS5 needs.
-- search_text holds the document: header fields as "Name: value" lines
-- grouped by field, and the body text (see package searchtext). The text
-- is folded rune by rune to one representative of its simple case
-- folding class before it is stored (searchtext.IndexFold), and needles
-- are folded the same way, so the trigram index answers case-insensitive
-- substring questions; the trigram tokenizer's own case folding then only
-- widens matches.
--
-- Rows are written in the writer transaction that inserts the blob row
-- (Append, delivery) and deleted by the trigger below in the transaction
-- that deletes it (the last reference expunged, moved away or deleted).
-- Blobs stored before this migration have no document until
-- `rookery reindex` runs; searches stay correct meanwhile because
-- messages whose blob has no document are always candidates.

-- It also keeps the decoded header fields SORT and THREAD read
-- (store.SortFields), so that they never open message files.
CREATE TABLE search_docs (
	id         INTEGER PRIMARY KEY,
	blob       TEXT NOT NULL UNIQUE, -- blobs.id; removed with it by the trigger below
	date       TEXT NOT NULL DEFAULT '',
	subject    TEXT NOT NULL DEFAULT '',
	msgid      TEXT NOT NULL DEFAULT '',
	inreplyto  TEXT NOT NULL DEFAULT '',
	refs       TEXT NOT NULL DEFAULT ''
);

CREATE VIRTUAL TABLE search_text USING fts5(
	hfrom, hto, hcc, hbcc, hsubject, hother, body,
	tokenize = 'trigram'
);

CREATE TRIGGER blobs_search_delete AFTER DELETE ON blobs BEGIN
	DELETE FROM search_text WHERE rowid IN (SELECT id FROM search_docs WHERE blob = OLD.id);
	DELETE FROM search_docs WHERE blob = OLD.id;
END;

-- Text matches are joined back to a mailbox's messages by blob.
CREATE INDEX messages_blob ON messages(blob, mailbox);
