-- Text indexing off the commit path (issue 11): the writer transaction
-- that stores a message stores its extracted search text here, and the
-- indexer moves it into search_text in batches afterwards (writer.go,
-- indexStep). A document is in exactly one of search_pending and
-- search_text at every commit, and SearchCandidates returns the messages
-- of pending documents as candidates (the residual evaluation is exact),
-- so an answer never misses a message whose text is not indexed yet.
-- Rows survive a restart: the indexer resumes with what is left.
CREATE TABLE search_pending (
	doc      INTEGER PRIMARY KEY, -- search_docs.id
	hfrom    TEXT NOT NULL,
	hto      TEXT NOT NULL,
	hcc      TEXT NOT NULL,
	hbcc     TEXT NOT NULL,
	hsubject TEXT NOT NULL,
	hother   TEXT NOT NULL,
	body     TEXT NOT NULL,
	queued   INTEGER NOT NULL -- Unix milliseconds of the commit (index lag)
);

-- A document deleted (its blob's last message gone, or reindex) takes its
-- pending text with it: a later document may reuse its id.
CREATE TRIGGER search_docs_pending_delete AFTER DELETE ON search_docs BEGIN
	DELETE FROM search_pending WHERE doc = OLD.id;
END;
