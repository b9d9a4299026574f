package imapwire

import (
	"fmt"
	"io"
)

// LiteralReader is a literal being received from the connection. It
// yields exactly Size bytes, then io.EOF.
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
}

func (l *literalReader) Size() int64  { return l.size }
func (l *literalReader) Binary() bool { return l.binary }

func (l *literalReader) Read(p []byte) (int, error) {
	d := l.d
	if d.lit != l || d.litLeft == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > d.litLeft {
		p = p[:d.litLeft]
	}
	n, err := d.r.Read(p)
	d.litLeft -= int64(n)
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
// otherwise the next call discards the rest of the literal.
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
