// Package delivery is the one path for incoming mail, used by the LMTP
// front end (package lmtp) and by `rookery deliver`: it resolves an address
// to an account and mailbox, prepends Return-Path and Delivered-To, enforces
// the size limit and quota, and returns only once the message is durable
// (store.Append committed it: its metadata, and the content itself unless
// store.WriteBlob had fsynced it to a file). Messages enter the store
// through package ingest (anatomy and search text computed on the way).
//
// Invariants:
//   - Message bytes are streamed into store.WriteBlob (through
//     ingest.Write), never held whole in memory (beyond the small
//     contents a store keeps inline and ingest's bounded text capture).
//     Each recipient gets its own copy (its own Delivered-To); the first
//     copy is written from the input stream, the others from the first
//     copy's content.
//   - Bare LF line endings are turned into CRLF as the bytes stream through
//     (IMAP requires CRLF; sendmail-style pipes deliver LF).
//   - Errors are classified (Permanent/Temporary) here, once, for every
//     front end; the package knows nothing of IMAP or SMTP syntax.
//   - One policy for odd requests, whichever front end: a mailbox that
//     does not exist (or holds no messages) falls back to INBOX, logged;
//     a name that cannot name a mailbox of the account ("../bob",
//     "/bob/INBOX", "a//b", control characters) is ErrBadMailbox; a
//     message of nothing but blank lines is ErrEmpty, found at the end
//     of the stream, so the store keeps nothing of it.
package delivery
