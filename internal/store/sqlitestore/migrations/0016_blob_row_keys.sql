-- Contents and search documents found from their blob row (issue 11:
-- durable APPEND flat to 100,000 messages).
--
-- Blob ids are SHA-256 hex strings, so every index keyed by one receives
-- its new entries at random places: once such an index is larger than a
-- commit, every message stored dirties one more page of it, written to
-- the WAL and again by the checkpoint. Before this migration a message
-- with a new content went into three such indexes besides the blobs
-- table's own key (blob_contents' key, search_docs' UNIQUE blob, and
-- messages_blob); at 100,000 messages that was most of the pages each
-- commit wrote. Now contents and documents have integer ids that grow
-- with each insert, and the blob row, whose page the insert dirties
-- anyway, holds both: a new content costs one random index page
-- (blobs' key) plus messages_blob, which the foreign key needs.
--
-- The inline contents are copied once (their rowids are kept), so the
-- migration needs free disk space about the size of the inline
-- contents; the pages of the dropped table are reused by new data.

CREATE TABLE contents (
	id      INTEGER PRIMARY KEY,
	content BLOB NOT NULL
);

ALTER TABLE blobs ADD COLUMN content INTEGER; -- contents.id; NULL: the content is a file
ALTER TABLE blobs ADD COLUMN doc INTEGER;     -- search_docs.id; NULL: no document yet

INSERT INTO contents(id, content) SELECT rowid, content FROM blob_contents;
UPDATE blobs SET content = (SELECT c.rowid FROM blob_contents c WHERE c.id = blobs.id);
DROP TABLE blob_contents;

UPDATE blobs SET doc = (SELECT d.id FROM search_docs d WHERE d.blob = blobs.id);

DROP TRIGGER blobs_search_delete;
DROP TRIGGER search_docs_message_doc;
DROP TRIGGER search_docs_pending_delete;

CREATE TABLE search_docs_new (
	id        INTEGER PRIMARY KEY,
	blob      TEXT NOT NULL, -- blobs.id, whose doc column points back here
	date      TEXT NOT NULL DEFAULT '',
	subject   TEXT NOT NULL DEFAULT '',
	msgid     TEXT NOT NULL DEFAULT '',
	inreplyto TEXT NOT NULL DEFAULT '',
	refs      TEXT NOT NULL DEFAULT '',
	sent      INTEGER,
	textver   INTEGER NOT NULL DEFAULT 1
);
INSERT INTO search_docs_new(id, blob, date, subject, msgid, inreplyto, refs, sent, textver)
	SELECT id, blob, date, subject, msgid, inreplyto, refs, sent, textver FROM search_docs;
DROP TABLE search_docs;
ALTER TABLE search_docs_new RENAME TO search_docs;

-- A blob row deleted (its last message gone) takes its inline content and
-- its document with it.
CREATE TRIGGER blobs_delete AFTER DELETE ON blobs BEGIN
	DELETE FROM contents WHERE id = OLD.content;
	DELETE FROM search_text WHERE rowid = OLD.doc;
	DELETE FROM search_docs WHERE id = OLD.doc;
END;

-- Messages stored before their content had a document get it when it is
-- created (rookery reindex, or a content stored before it could be
-- indexed and referenced again).
CREATE TRIGGER search_docs_message_doc AFTER INSERT ON search_docs BEGIN
	UPDATE messages SET doc = NEW.id WHERE blob = NEW.blob;
END;

CREATE TRIGGER search_docs_pending_delete AFTER DELETE ON search_docs BEGIN
	DELETE FROM search_pending WHERE doc = OLD.id;
END;
