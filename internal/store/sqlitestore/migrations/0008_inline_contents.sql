-- Small message contents live in the database instead of blob files.
--
-- A blob file costs three serial fsyncs per message (the file, its
-- directory, then the metadata commit), which capped durable delivery and
-- APPEND at a few hundred messages per second on an ordinary disk. A
-- content of at most inlineMax bytes (most mail) is written by the writer
-- transaction that references it, so a group commit makes a batch of
-- messages durable with one WAL fsync, and a crash leaves no orphan file.
-- Larger contents stay in files (streamed, never held in memory).
--
-- A blobs row has its content here or in DIR/blobs/, never both; rows are
-- removed together with their blobs row (collectUnreferenced).
CREATE TABLE blob_contents (
	id      TEXT PRIMARY KEY REFERENCES blobs(id),
	content BLOB NOT NULL
);
