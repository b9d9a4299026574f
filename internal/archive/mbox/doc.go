// Package mbox reads and writes mbox files.
//
// The Writer writes one mboxrd file per mailbox under a directory: the
// mailbox "Archive/2024" is the file "Archive/2024.mbox" (each level a
// directory; in each level "%", "\", control characters, the characters
// Windows refuses, a leading "." and the "." of a trailing ".mbox" or
// ".sbd" are written %XX, so that every name has one file and back), and
// the subscriptions in a "subscriptions" file at the root (Dovecot 2.3's
// format). Each message is written as
//
//	From <Return-Path address, or MAILER-DAEMON> <asctime of the internal date in UTC>
//	Status: O or RO
//	X-Status: <A F T D for \Answered \Flagged \Draft \Deleted>   (when any)
//	X-Keywords: <keywords separated by spaces>                  (when any)
//	X-Rookery-Mbox: 1 size=<bytes> date=<RFC 3339 internal date> [crlf] [noeol]
//	<the content, mboxrd-quoted>
//	<blank line>
//
// where "crlf" says every line of the content ended in CRLF and is
// written with LF, and "noeol" that the content did not end with a line
// end and one was added. The Reader takes this block off again only right
// after the From line, undoes what the marker says and checks the size,
// so that a message comes back byte for byte with its flags and its
// internal date in its zone; other tools see ordinary mbox with the usual
// flag headers. A message whose marker does not match its content
// (truncated, edited) is a *archive.BadMessageError at "file:offset".
//
// Other tools' files are read as they are: flags from Status, X-Status
// and X-Keywords (space- or comma-separated), which stay in the content;
// bare LF line ends turned into CRLF (as IMAP wants); the internal date
// from the From line (asctime, with an optional numeric zone before or
// after the year; otherwise UTC). Quoting is undone mboxrd-style (one ">"
// off every ">"*"From " line) unless OpenDialect says MBOXO (only
// ">From "). A line starting with "From " separates messages at the start
// of the file, after a blank line, or when it carries a valid date;
// Content-Length headers are ignored (they are often wrong, and the
// quoting makes them unnecessary). A file that ends inside a line ends
// with a truncated message, reported as bad.
//
// Reading streams: the file is scanned once for separators and flags,
// and a message's content is read again from its offset by its Open;
// nothing holds more than a line (64 KiB pieces) of a message in memory.
// The Writer holds a message up to 4 MiB in memory, larger ones in a
// temporary file, to choose its line-end handling before writing it.
package mbox
