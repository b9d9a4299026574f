-- Deleted documents leave tombstones in the FTS5 segments that held
-- them, and the indexer's merge step (writer.merge) rewrites a segment
-- once a share of its documents given by 'deletemerge' is deleted: 10%
-- by default. Mailboxes that keep only recent mail expunge all the time,
-- so large segments were rewritten again and again for a tenth of their
-- documents: under a mixed load of 50 clients that trim their mailboxes,
-- merging was 14% of the server's CPU, 6% with 50%. A segment may now
-- hold up to half deleted documents, which searches skip by their
-- tombstones.
INSERT INTO search_text(search_text, rank) VALUES ('deletemerge', 50);
