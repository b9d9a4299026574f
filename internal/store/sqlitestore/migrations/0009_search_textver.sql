-- search_docs.textver is the version of the extracted text of the
-- document (searchtext.Version, store.IndexText.Version).
--
-- Version 2 added to the from/to/cc/bcc columns the address text that the
-- FROM, TO, CC and BCC keys search (the envelope's addresses, without
-- comments: search.OpAddress). A document written before has version 1:
-- for those keys its message stays a candidate (the residual evaluation
-- is exact) until `rookery reindex` writes it again.
ALTER TABLE search_docs ADD COLUMN textver INTEGER NOT NULL DEFAULT 1;
