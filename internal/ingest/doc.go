// Package ingest is the one way a message enters any store: it streams
// the message into store.Store.WriteBlob and, from the same bytes, parses
// its anatomy (package anatomy) and extracts its search text (package
// searchtext, with the sent date parsed for SORT), so that a backend only
// stores bytes and the values it is given. APPEND, LMTP and `rookery
// deliver` write through Write; `rookery reindex` rebuilds the index
// through Reindex.
//
// Invariants:
//   - Parsing and extraction happen here, once, above the backend: no
//     backend parses messages or extracts text.
//   - Memory per message being written is bounded: the parser keeps
//     bounded state, and the text is extracted from a capture of at most
//     captureMax bytes; a larger message is read back from the store
//     (its header and text parts only).
//   - A message whose text cannot be extracted is still stored, without
//     a text: a store's searches treat it as a candidate for every text
//     key until Reindex gives it one.
package ingest
