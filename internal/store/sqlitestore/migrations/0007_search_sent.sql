-- SORT (DATE) and THREAD order by sent date: parsing every message's
-- Date field on each SORT costs a third of a SORT over a large mailbox.
-- search_docs.sent holds the instant of the Date field (Unix seconds),
-- parsed when the document is written (search.ParseDate).
--
-- sent is NULL when the document has no valid Date field: readers then
-- parse date, as before (coalesce(sent, date)). The documents written
-- before this migration get theirs from a Go step run in the migration's
-- transaction (fillSentDates).
ALTER TABLE search_docs ADD COLUMN sent INTEGER;
