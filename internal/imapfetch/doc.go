// Package imapfetch turns a FETCH body section into the bytes to send,
// using a message's stored anatomy: part numbers → byte ranges (part body,
// MIME header, HEADER/TEXT of the message or of an embedded message),
// HEADER.FIELDS(.NOT) filtering, partial <origin.count>, BINARY decoding of
// base64 and quoted-printable with exact sizes, and PREVIEW text (RFC 8970).
//
// It reads only the ranges a section needs, through an io.ReaderAt, and
// never holds a body whole in memory (a filtered header is bounded by the
// header's size; a PREVIEW reads at most previewRead bytes). It does not
// parse commands or know sequence numbers.
package imapfetch
