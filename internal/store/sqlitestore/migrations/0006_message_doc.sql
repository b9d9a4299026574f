-- SORT and THREAD read every message's stored header fields
-- (search_docs). Joining by blob id costs two B-tree descents per message
-- on a 64-character text key; messages.doc holds the integer id of the
-- blob's document instead, so SortFields joins on the rowid.
--
-- doc is NULL while the blob has no document (not indexed yet), and is
-- set when its document is written: by the INSERT into messages (Append,
-- Copy) from search_docs, and by the trigger below for messages that
-- exist before their blob's document (`rookery reindex`). Moves keep it.
-- Readers also check d.blob = m.blob, so a stale id (a document deleted
-- and its rowid reused) is never taken for the message's own.
ALTER TABLE messages ADD COLUMN doc INTEGER;

UPDATE messages SET doc = (SELECT d.id FROM search_docs d WHERE d.blob = messages.blob);

CREATE TRIGGER search_docs_message_doc AFTER INSERT ON search_docs BEGIN
	UPDATE messages SET doc = NEW.id WHERE blob = NEW.blob;
END;
