// Package msgcheck tells a file that may be a mail message from one that
// cannot be (empty, binary junk), from its first bytes, so that the
// archive readers report the latter as bad messages instead of importing
// them.
package msgcheck

import (
	"errors"
	"io"
)

// HeadSize is how many first bytes Check looks at.
const HeadSize = 1024

// Errors Check returns.
var (
	ErrEmpty     = errors.New("empty file, not a message")
	ErrNotHeader = errors.New("does not start with a header field, not a message")
	ErrBinary    = errors.New("contains NUL bytes in its header, not a message")
)

// Check returns nil when head, the first bytes of a file (at most
// HeadSize are looked at), can start a message: a header field
// ("Name: value", the name printable US-ASCII without ":"), an mbox
// "From " line, or an empty header section (a blank first line); and
// there is no NUL byte among them.
func Check(head []byte) error {
	if len(head) == 0 {
		return ErrEmpty
	}
	if len(head) > HeadSize {
		head = head[:HeadSize]
	}
	for _, c := range head {
		if c == 0 {
			return ErrBinary
		}
	}
	if head[0] == '\n' || (head[0] == '\r' && (len(head) == 1 || head[1] == '\n')) {
		return nil
	}
	if len(head) >= 5 && string(head[:5]) == "From " {
		return nil
	}
	for i, c := range head {
		if c == ':' {
			if i == 0 {
				return ErrNotHeader
			}
			return nil
		}
		if c < 33 || c > 126 {
			return ErrNotHeader
		}
	}
	// A field name longer than what we looked at: accept only if the
	// whole head was a plausible name (a very long first line).
	if len(head) < HeadSize {
		return ErrNotHeader
	}
	return nil
}

// Read reads up to HeadSize first bytes of r and checks them.
func Read(r io.Reader) error {
	var buf [HeadSize]byte
	n, err := io.ReadFull(r, buf[:])
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return err
	}
	return Check(buf[:n])
}
