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
)

// SyntaxError is malformed input. Msg is a human-readable description
// suitable for a BAD response.
type SyntaxError struct {
	Msg string
}

func (e *SyntaxError) Error() string { return e.Msg }

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
