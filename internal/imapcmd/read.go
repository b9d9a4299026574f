package imapcmd

import (
	"errors"
	"fmt"
	"strings"

	"rookery/internal/imapnum"
	"rookery/internal/imapwire"
)

// DefaultAppendLimit is the APPEND message size limit used when
// Options.AppendLimit is 0.
const DefaultAppendLimit = 64 << 20

// Options configures Read.
type Options struct {
	// AppendLimit bounds the size of one APPEND message literal (0 means
	// DefaultAppendLimit). A larger literal fails with an error matching
	// imapwire.ErrTooBig before the server asks for it.
	AppendLimit int64
}

// Parser reads the arguments of one command; the parse functions
// (ParseFetch, ParseStore, ...) take it.
type Parser struct {
	d    *imapwire.Decoder
	opts Options
	tag  string
	name string // upper-case command name without UID
	uid  bool
}

// ArgsFunc parses the arguments of a command, starting right after its
// name (so it reads the leading SP itself) and stopping before the CRLF.
type ArgsFunc func(p *Parser) (any, error)

// Lookup returns the ArgsFunc of a command name (upper-case, without the
// UID prefix; uid tells whether it came after "UID"), or nil if the
// command is unknown. The caller's command table is the one list of
// command names: imapcmd has the parse functions, not the list.
type Lookup func(name string, uid bool) ArgsFunc

// None is the argument value of a command without arguments.
type None struct{}

// Read reads one command. It returns a *SyntaxError for bad syntax (also
// wrapping imapwire.ErrTooBig and imapwire.ErrLineTooLong), an
// *UnknownCommandError for an unknown command name, and I/O errors
// unchanged (io.EOF when the client closed the connection). After an error
// other than an I/O error the caller calls d.DiscardLine before reading the
// next command.
//
// Read consumes the whole command line including its CRLF, except for
// APPEND: it stops after the mailbox name and the caller reads the
// messages with (*Append).Next (or calls d.DiscardLine to reject it).
// Validation errors are always reported before the CRLF is consumed.
func Read(d *imapwire.Decoder, opts Options, lookup Lookup) (*Command, error) {
	if opts.AppendLimit <= 0 {
		opts.AppendLimit = DefaultAppendLimit
	}
	p := &Parser{d: d, opts: opts}
	tag, err := d.AtomFunc(imapwire.IsTagChar)
	if err == nil {
		if eol, perr := d.AtEOL(); perr == nil && eol && tag != "" {
			// "a6" alone: answer "a6 BAD", not "* BAD".
			p.tag = tag
			return nil, p.errorf("missing command name")
		}
		err = d.SP()
	}
	if err != nil {
		// A tag not followed by SP was not a valid tag either.
		var se *imapwire.SyntaxError
		if errors.As(err, &se) {
			err = &SyntaxError{Msg: "bad tag: " + se.Msg, Err: err}
		}
		return nil, p.wrap(err)
	}
	p.tag = tag
	name, err := p.keyword()
	if err != nil {
		return nil, p.wrap(err)
	}
	if name == "UID" {
		if err := d.SP(); err != nil {
			return nil, p.wrap(err)
		}
		if name, err = p.keyword(); err != nil {
			return nil, p.wrap(err)
		}
		p.uid = true
	}
	p.name = name
	parse := lookup(name, p.uid)
	if parse == nil {
		if p.uid {
			name = "UID " + name
		}
		return nil, &UnknownCommandError{Tag: tag, Name: name}
	}
	args, err := parse(p)
	if err != nil {
		return nil, p.wrap(err)
	}
	if name != "APPEND" {
		if err := d.CRLF(); err != nil {
			return nil, p.wrap(err)
		}
	}
	return &Command{Tag: tag, Name: name, UID: p.uid, Args: args}, nil
}

// wrap turns decoder errors into *SyntaxError carrying the tag; I/O errors
// pass through unchanged.
func (p *Parser) wrap(err error) error {
	var se *SyntaxError
	var we *imapwire.SyntaxError
	switch {
	case errors.As(err, &se):
		return err
	case errors.As(err, &we), errors.Is(err, imapwire.ErrTooBig), errors.Is(err, imapwire.ErrLineTooLong):
		return &SyntaxError{Tag: p.tag, Msg: err.Error(), Err: err}
	}
	return err
}

func (p *Parser) errorf(format string, args ...any) error {
	return &SyntaxError{Tag: p.tag, Msg: fmt.Sprintf(format, args...)}
}

// keyword reads an atom and upper-cases it.
func (p *Parser) keyword() (string, error) {
	a, err := p.d.Atom()
	return strings.ToUpper(a), err
}

// expectKeyword reads an atom that must equal kw (case-insensitively).
func (p *Parser) expectKeyword(kw string) error {
	a, err := p.keyword()
	if err != nil {
		return err
	}
	if a != kw {
		return p.errorf("expected %s, got %s", kw, a)
	}
	return nil
}

func isSeqChar(c byte) bool { return imapwire.IsDigit(c) || c == ':' || c == ',' || c == '*' }

// seqSet reads a sequence-set.
func (p *Parser) seqSet() (imapnum.Set, error) {
	s, err := p.d.AtomFunc(isSeqChar)
	if err != nil {
		return nil, err
	}
	set, err := imapnum.Parse(s)
	if err != nil {
		return nil, p.errorf("%v", err)
	}
	return set, nil
}

// nzNumber reads a non-zero 32-bit number.
func (p *Parser) nzNumber() (uint32, error) {
	n, err := p.d.Number()
	if err == nil && n == 0 {
		err = p.errorf("number must not be zero")
	}
	return n, err
}

// mailbox reads a mailbox name (astring).
func (p *Parser) mailbox() (string, error) { return p.d.AString() }

// listMailbox reads a list-mailbox: 1*list-char or a string.
func (p *Parser) listMailbox() (string, error) {
	b, err := p.d.PeekByte()
	if err != nil {
		return "", err
	}
	if b == '"' || b == '{' {
		return p.d.String()
	}
	return p.d.AtomFunc(imapwire.IsListChar)
}

// systemFlags maps upper-cased system flags to their canonical spelling.
var systemFlags = map[string]string{
	`\ANSWERED`: `\Answered`,
	`\FLAGGED`:  `\Flagged`,
	`\DELETED`:  `\Deleted`,
	`\SEEN`:     `\Seen`,
	`\DRAFT`:    `\Draft`,
	`\RECENT`:   `\Recent`,
}

// flag reads a flag: "\" atom (system flag or flag-extension) or a keyword
// atom. System flags are returned in canonical case ("\seen" → "\Seen");
// keywords and extensions as sent. "\*" is rejected.
func (p *Parser) flag() (string, error) {
	bs, err := p.d.Accept('\\')
	if err != nil {
		return "", err
	}
	a, err := p.d.Atom()
	if err != nil {
		return "", err
	}
	if !bs {
		return a, nil
	}
	f := `\` + a
	if c, ok := systemFlags[strings.ToUpper(f)]; ok {
		return c, nil
	}
	return f, nil
}

// flagList reads "(" [flag *(SP flag)] ")".
func (p *Parser) flagList() ([]string, error) {
	flags := []string{}
	err := p.d.List(func() error {
		f, err := p.flag()
		flags = append(flags, f)
		return err
	})
	return flags, err
}

// ParseNone parses the empty arguments of CAPABILITY, NOOP, LOGOUT,
// STARTTLS, CHECK, CLOSE, UNSELECT, IDLE, NAMESPACE and EXPUNGE.
func ParseNone(*Parser) (None, error) { return None{}, nil }

func ParseUIDExpunge(p *Parser) (*Expunge, error) {
	if err := p.d.SP(); err != nil {
		return nil, err
	}
	set, saved, err := p.setOrSaved()
	if err != nil {
		return nil, err
	}
	return &Expunge{UIDs: set, Saved: saved}, nil
}
