// Package pgstore is the PostgreSQL store.Store backend (pgx/v5, a
// pgxpool pool), for several Rookery nodes sharing one database. It
// implements store.Store and store.SearchIndex and passes the
// conformance suite in storetest, with the semantics of sqlitestore.
//
// # Schema
//
// The schema is created and upgraded by the numbered SQL files embedded
// from migrations/, each applied in its own transaction holding an
// advisory lock (migrationLock) and recorded in schema_migrations, so
// nodes that start together apply each once (Migrate, Open).
//
//	accounts          name, password hash, SCRAM verifier, quota limits and usage
//	mailboxes         one row per mailbox incarnation: UIDVALIDITY, UIDNEXT,
//	                  HIGHESTMODSEQ, recent_from, STATUS counters; IDs from a
//	                  sequence, never reused
//	retired_names     UIDVALIDITY values names had (see mailboxes.go)
//	retired_accounts  the highest UIDVALIDITY of deleted accounts' names
//	subscriptions     subscribed names
//	mailbox_keywords  each mailbox's keyword set
//	messages          (mailbox, uid): flags, keywords (text[]), dates, size, content
//	expunged          (mailbox, uid, modseq) of expunged messages (QRESYNC)
//	blobs             one row per distinct content (hex SHA-256) with its
//	                  reference count, anatomy, and the content itself when
//	                  small (bytea, at most inlineMax bytes)
//	blob_chunks       large contents in chunkSize pieces, streamed in by WriteBlob
//	blob_texts        the index text of each content, with pg_trgm GIN indexes
//	installation      the UIDVALIDITY floor of accounts created later (a copy's)
//
// An installation is copied into and out of the store with
// store.Restorer and store.Dumper (restore.go, dump.go: `rookery store
// copy`), keeping MailboxIDs, UIDVALIDITY, UIDs and mod-sequences.
//
// # Concurrency
//
// Every change runs in one read-committed transaction (Store.write),
// run again on serialization failures and deadlocks a bounded number of
// times, and a method returns after its COMMIT (synchronous_commit).
// Writers of a mailbox's messages lock its row first (UPDATE … RETURNING
// advances UIDNEXT and HIGHESTMODSEQ; Copy and Move lock both rows in ID
// order), then the rows of contents (reference counts, in ID order where
// several are added), then the account row, whose usage UPDATE …
// RETURNING gives the quota check its locked values. The row locks
// serialise the writers of one mailbox across all nodes, so UIDs are
// never given twice. Changes of an account's mailbox list (create,
// delete, rename, subscriptions, account deletion) hold a transaction
// advisory lock keyed by the account ID. Multi-query reads (Snapshot,
// Changes, SearchCandidates) run in a read-only repeatable-read
// transaction, so they see one state.
//
// A content is written by WriteBlob before the transaction that
// references it: a small one travels in BlobRef.Content and is inserted
// by Append; a large one is committed by WriteBlob with its row pinned
// for an hour, so that a concurrent expunge of the same content cannot
// delete it before the Append. Unreferenced rows are deleted in the
// transaction that drops their last reference, unless pinned; those
// whose pin expired are swept when a store opens and every sweepEvery.
// Concurrent appends to one mailbox share a transaction (group commit,
// append.go), each in a savepoint of its own.
//
// Index texts are written in the transaction that stores the content, so
// searches never wait for an indexer (WaitIndexed returns at once).
//
// # Events
//
// After each commit the store publishes its events (as sqlitestore does)
// to Options.Bus, and its notifier announces them with pg_notify
// (notify.go), so that the other nodes' listeners publish them to their
// own buses (listen.go), catching up after a lost connection.
package pgstore
