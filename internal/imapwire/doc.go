// Package imapwire reads and writes the lexical layer of IMAP (RFC 9051 §9,
// RFC 3501 for IMAP4rev1, RFC 7888 LITERAL+/LITERAL-, RFC 3516 literal8):
// atoms, numbers, quoted strings, literals, lists and line ends. It knows no
// command names, connection states or storage.
//
// The Decoder is streaming: it reads from a bufio.Reader one token at a
// time and never buffers more than one bounded token; a message literal
// (APPEND) is handed out as a reader of exactly its announced size. Every
// command is bounded by Limits: MaxLine (bytes outside literals), MaxLiteral
// (each string literal that the Decoder buffers), MaxLiterals (their sum in
// one command) and MaxDepth (list nesting).
//
// Line ends: the RFC requires CRLF. The Decoder also accepts a bare LF
// where a line may end (many test tools and hand-typed sessions send it),
// but never a bare CR.
//
// Errors: ErrLineTooLong and ErrTooBig (wrapped, test with errors.Is) for
// limits; *SyntaxError for malformed input; I/O errors from the underlying
// reader are returned unchanged (io.EOF when the peer closed the
// connection). After an error the caller skips the rest of the command
// with DiscardLine.
//
// The Encoder writes responses to a bufio.Writer with a sticky error:
// calls chain, and the first write error is reported by CRLF, Flush or Err.
package imapwire
