// Package anatomy parses an Internet message (RFC 5322 / MIME) once, while
// it is written to the store, into a tree of parts with byte offsets, sizes,
// line counts and the decoded header fields that IMAP's ENVELOPE,
// BODYSTRUCTURE and body sections need. It knows no IMAP syntax.
//
// Invariants:
//   - Parsing never fails on malformed MIME: the result is a best-effort
//     structure (like Dovecot's message parser). Depth (MaxDepth), the
//     number of parts (MaxParts) and the header bytes kept per part
//     (MaxHeaderSize) are bounded, so memory is bounded whatever the input.
//   - Offsets are relative to the start of the message; for every part
//     HeaderOffset+HeaderSize == BodyOffset, and every part lies inside its
//     parent's body.
//   - Marshal/Unmarshal use a versioned binary encoding; Unmarshal rejects
//     unknown versions with ErrVersion so that callers can re-parse.
//   - EncodeBinaryParts (for APPEND with a literal8) changes only the
//     bodies of binary parts, to base64, and their Content-Transfer-Encoding
//     fields; the part structure it follows is the Parser's own.
package anatomy
