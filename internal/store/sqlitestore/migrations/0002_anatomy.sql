-- The message anatomy (package anatomy's versioned encoding), computed
-- once when the content is written. NULL for blobs stored before this
-- migration: the server parses those on first use and stores the result.
ALTER TABLE blobs ADD COLUMN anatomy BLOB;
