// Package sqlitestore is the embedded store.Store backend: metadata and
// small message contents in one SQLite database (modernc.org/sqlite, WAL,
// synchronous=FULL), larger contents in content-addressed blob files
// (package blob), all under one data directory:
//
//	DIR/rookery.db   metadata, contents of at most inlineMax bytes
//	DIR/blobs/       files of larger contents
//
// Writes go through a single writer goroutine that does group commit: it
// takes the write jobs that are queued (up to maxBatch), runs each in its own
// SAVEPOINT inside one transaction (a failing job rolls back alone), inserts
// the batch's search texts, commits once — one fsync for the whole batch —
// and only then deletes blob files that lost their last reference,
// publishes each job's events and answers each caller. Reads use a
// separate pool of connections; WAL lets them run beside the writer, and
// multi-query reads run in a read transaction so that they see one
// consistent state.
//
// A small content travels from WriteBlob to Append in BlobRef.Content and
// is inserted (the contents table) by the transaction that references it, so
// it costs no fsync of its own. A larger one is written and fsynced to a
// file by WriteBlob, before the metadata transaction and outside the
// writer, so concurrent appends fsync in parallel. Blob reference counts
// live in the blobs table; a crash between a commit and a file deletion
// leaves an orphan file, which Check (rookery check) reports and, with
// Repair, removes once older than a grace period.
//
// It stores what it is given: the anatomy and search text of a content
// come with its BlobRef (package ingest computes them above the store),
// and the package parses no messages, dates or search keys (search keys
// arrive as store.IndexKey).
//
// The schema is created and upgraded by the numbered migrations embedded from
// migrations/, each applied in its own transaction together with the
// schema_version row that records it.
package sqlitestore
