// Package search evaluates IMAP search keys on messages, plans searches
// for a store's index, and implements SORT (RFC 5256, RFC 5957) and THREAD
// (RFC 5256 ORDEREDSUBJECT and REFERENCES). It is pure: it parses no IMAP
// syntax, holds no SQL and reads no message bytes. A message reaches it as
// a Message view whose header, address and text accessors the caller
// fills (lazily, from the anatomy and the blob). Address lists, Date
// comments and msg-id comments are read with package anatomy's one
// address parser and comment reader, as ENVELOPE reads them.
//
// The pieces:
//
//   - Key is the semantic search-key tree (the server converts the
//     syntax tree of package imapcmd into it: NEW becomes RECENT AND
//     UNSEEN, FROM x an ADDRESS key, "$" a UID set, ...).
//   - Compile turns a Key into a Matcher that decides, for one Message,
//     whether it matches, with the semantics of RFC 9051 §6.4.4:
//     substring matching under Unicode simple case folding, date keys on
//     calendar dates in the date's own zone, and so on.
//   - NewPlan splits a Key into the part a store's index can answer
//     (Plan.Index) and the part evaluated per candidate (Plan.Residual).
//   - Sort orders messages by SORT criteria; ThreadOrderedSubject and
//     ThreadReferences build thread trees; AppendThreads writes them in
//     the thread-list syntax of RFC 5256 §4.
//
// Invariants: nothing here keeps state between calls or touches I/O; a
// Matcher is safe for concurrent use; key trees deeper than MaxDepth are
// rejected; thread trees are built without recursion, so long reference
// chains cannot exhaust the stack (AppendThreads recurses once per
// branching level only).
//
// The package searchtest holds the differential harness (generated
// corpus, random keys, reference evaluator) that a store-backed search
// reuses.
package search
