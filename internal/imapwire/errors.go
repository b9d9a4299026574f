package imapwire

import (
	"errors"
	"fmt"
)

var (
	// ErrLineTooLong means a command exceeded Limits.MaxLine bytes outside
	// literals (or ReadLine's max, or DiscardLine's bound).
	ErrLineTooLong = errors.New("line too long")
	// ErrTooBig means a literal exceeded its limit.
	ErrTooBig = errors.New("literal too big")
	// ErrNUL means a literal that is not a literal8 held a NUL byte; it
	// comes inside a *SyntaxError.
	ErrNUL = errors.New("NUL in literal")
)

// SyntaxError is malformed input. Msg is a human-readable description
// suitable for a BAD response; Err, if set, is a sentinel it matches.
type SyntaxError struct {
	Msg string
	Err error
}

func (e *SyntaxError) Error() string { return e.Msg }

// Unwrap returns the sentinel the error matches, if any.
func (e *SyntaxError) Unwrap() error { return e.Err }

func syntaxf(format string, args ...any) error {
	return &SyntaxError{Msg: fmt.Sprintf(format, args...)}
}

// charName describes a byte for an error message.
func charName(c byte) string {
	switch {
	case c == '\r' || c == '\n':
		return "end of line"
	case c == ' ':
		return "space"
	case c < 0x20 || c >= 0x7f:
		return fmt.Sprintf("byte 0x%02x", c)
	}
	return fmt.Sprintf("%q", c)
}
