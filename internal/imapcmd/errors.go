package imapcmd

import "fmt"

// SyntaxError is a command that could not be parsed; the server answers
// BAD. Tag is "" if the tag itself could not be read. Err, if set, is the
// cause: errors.Is(err, imapwire.ErrTooBig) and imapwire.ErrLineTooLong
// see through it.
type SyntaxError struct {
	Tag string
	Msg string
	Err error
}

func (e *SyntaxError) Error() string { return e.Msg }

// Unwrap returns the cause.
func (e *SyntaxError) Unwrap() error { return e.Err }

// UnknownCommandError is a command name that Read does not know. Name is
// upper-cased and includes a "UID " prefix if one was sent.
type UnknownCommandError struct {
	Tag  string
	Name string
}

func (e *UnknownCommandError) Error() string {
	return fmt.Sprintf("unknown command %s", e.Name)
}
