package imapwire

import (
	"bytes"
	"fmt"
	"io"
)

// LiteralReader is a literal being received from the connection. It
// yields exactly Size bytes, then io.EOF. A literal that is not a literal8
// fails with a *SyntaxError (ErrNUL) at its first NUL byte (see checkChar8).
type LiteralReader interface {
	Read(p []byte) (int, error)
	// Size is the announced size.
	Size() int64
	// Binary is true for literal8 (~{n}, RFC 3516).
	Binary() bool
}

type literalReader struct {
	d      *Decoder
	size   int64
	binary bool
	err    error // sticky: a NUL was read from a literal that is not a literal8
}

func (l *literalReader) Size() int64  { return l.size }
func (l *literalReader) Binary() bool { return l.binary }

func (l *literalReader) Read(p []byte) (int, error) {
	if l.err != nil {
		// The rest of the literal is skipped by the next token method
		// (or DiscardLine), never handed out.
		return 0, l.err
	}
	d := l.d
	if d.lit != l || d.litLeft == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > d.litLeft {
		p = p[:d.litLeft]
	}
	n, err := d.r.Read(p)
	d.litLeft -= int64(n)
	if !l.binary {
		if cerr := checkChar8(p[:n]); cerr != nil {
			l.err = cerr
			return 0, cerr
		}
	}
	if err == io.EOF {
		if d.litLeft > 0 {
			err = io.ErrUnexpectedEOF
		} else {
			err = nil
		}
	}
	if d.litLeft == 0 && err == nil {
		d.lit = nil
		if n == 0 {
			return 0, io.EOF
		}
	}
	return n, err
}

// MessageLiteral reads the announcement of a message literal (APPEND):
// {n}, {n+}, ~{n} or ~{n+}, and returns a reader of its n bytes, streamed
// from the connection. If n > max it returns an error matching ErrTooBig
// without calling OnSyncLiteral, so that for a synchronizing literal the
// client sends nothing more; the caller then calls DiscardLine.
//
// The reader should be read to EOF before the next token method is called;
// otherwise the next call discards the rest of the literal. A literal that
// is not a literal8 may not hold NUL: its reader fails at the first NUL
// with a *SyntaxError matching ErrNUL and hands out no more bytes, so a
// consumer that streams it somewhere (a blob file) sees an error, not a
// short message.
func (d *Decoder) MessageLiteral(max int64) (LiteralReader, error) {
	size, sync, binary, err := d.literalHeader(true)
	if err != nil {
		return nil, err
	}
	if size > max {
		return nil, fmt.Errorf("%w (%d bytes, limit %d)", ErrTooBig, size, max)
	}
	if err := d.literalBegin(size, sync); err != nil {
		return nil, err
	}
	l := &literalReader{d: d, size: size, binary: binary}
	d.lit, d.litLeft = l, size
	return l, nil
}

// checkChar8 enforces the one rule for the bytes of every literal that is
// not a literal8, string or message alike: RFC 9051's literal is
// "{" number64 ["+"] "}" CRLF *CHAR8, and CHAR8 (%x01-ff) excludes NUL.
// Binary data is sent as a literal8 (~{n}, RFC 3516), where only APPEND
// accepts it.
func checkChar8(b []byte) error {
	if bytes.IndexByte(b, 0) >= 0 {
		return errNULLiteral()
	}
	return nil
}

// errNULLiteral is checkChar8's error.
func errNULLiteral() error {
	return &SyntaxError{Msg: "NUL in literal (binary data needs a literal8, ~{n})", Err: ErrNUL}
}
