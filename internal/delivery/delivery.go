package delivery

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"rookery/internal/ingest"
	"rookery/internal/logtext"
	"rookery/internal/store"
)

// Sentinel errors of a delivery. Store sentinels (store.ErrOverQuota,
// store.ErrTooBig) are passed through wrapped.
var (
	// ErrUnknownUser: the address names no account (or a domain not served).
	ErrUnknownUser = errors.New("unknown user")
	// ErrBadAddress: the address is not a valid mailbox address.
	ErrBadAddress = errors.New("bad address")
	// ErrEmpty: the message has no content but blank lines (no header
	// field and no body).
	ErrEmpty = errors.New("empty message")
	// ErrBadMailbox: the mailbox asked for (rookery deliver --mailbox, an
	// address's detail) is not a name of a mailbox of the account: it
	// has an empty level (a leading, trailing or doubled "/"), a "." or
	// ".." level, or a control character.
	ErrBadMailbox = errors.New("bad destination mailbox name")
)

// Hooks receive delivery outcomes (for metrics). Nil funcs are skipped.
type Hooks struct {
	// Delivered is called once per recipient with the outcome: "ok",
	// "unknown_user", "over_quota", "too_big", "bad_input" or "error".
	Delivered func(result string)
}

// Options configure an Agent.
type Options struct {
	Store store.Store
	// Domains are the mail domains served (case-insensitive); a
	// recipient name@domain with another domain is unknown. Empty means
	// any domain is accepted. A bare name (no @) is always accepted.
	Domains []string
	// Delimiter separates a name from its detail: name+detail@domain
	// delivers into mailbox detail when it exists (default "+"; "-" or
	// any string; it cannot be disabled other than by a delimiter that
	// never occurs).
	Delimiter string
	// MaxSize bounds a message as received, before the added headers
	// (0 means 64 MiB; negative means unlimited).
	MaxSize int64
	// OverQuotaTemporary makes over-quota a temporary failure (the MTA
	// retries) instead of a permanent one (it bounces).
	OverQuotaTemporary bool
	Logger             *slog.Logger
	Hooks              Hooks
	// Now returns the time for INTERNALDATE (default time.Now).
	Now func() time.Time
}

// Agent delivers messages. It is safe for concurrent use.
type Agent struct {
	opts    Options
	domains map[string]bool
	log     *slog.Logger
}

// New returns an Agent with opts.
func New(opts Options) *Agent {
	if opts.Delimiter == "" {
		opts.Delimiter = "+"
	}
	if opts.MaxSize == 0 {
		opts.MaxSize = 64 << 20
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a := &Agent{opts: opts, domains: map[string]bool{}, log: log}
	for _, d := range opts.Domains {
		a.domains[strings.ToLower(strings.TrimSuffix(d, "."))] = true
	}
	return a
}

// MaxSize is the size limit of a message as received (negative: none).
func (a *Agent) MaxSize() int64 { return a.opts.MaxSize }

// Recipient is a resolved recipient.
type Recipient struct {
	// Address is the address as given (for Delivered-To); "" adds no
	// Delivered-To header.
	Address string
	Account store.Account
	// Mailbox is where the message goes if it exists; INBOX otherwise.
	Mailbox string
	// explicit is set when Mailbox was named by the operator (User), not
	// by the sender (an address's detail): falling back to INBOX is then
	// logged as a warning.
	explicit bool
}

// Resolve maps an address (name, name@domain, name+detail@domain) to a
// recipient. It fails with ErrBadAddress, ErrUnknownUser, or an error
// wrapping store.ErrOverQuota when the account is already full (so that an
// MTA learns it at RCPT time).
func (a *Agent) Resolve(ctx context.Context, addr string) (Recipient, error) {
	local, domain, hasDomain := strings.Cut(addr, "@")
	if local == "" || strings.ContainsAny(addr, " \t\r\n<>") || (hasDomain && (domain == "" || strings.Contains(domain, "@"))) {
		return Recipient{}, fmt.Errorf("%w: %q", ErrBadAddress, addr)
	}
	if hasDomain && len(a.domains) > 0 && !a.domains[strings.ToLower(strings.TrimSuffix(domain, "."))] {
		return Recipient{}, fmt.Errorf("%w: domain %q not served", ErrUnknownUser, domain)
	}
	name, detail, _ := strings.Cut(local, a.opts.Delimiter)
	acct, err := a.account(ctx, name)
	if err != nil && detail != "" {
		// The whole local part may be the account name ("a+b").
		if acct2, err2 := a.account(ctx, local); err2 == nil {
			acct, err, detail = acct2, nil, ""
		}
	}
	if err != nil {
		return Recipient{}, err
	}
	r := Recipient{Address: addr, Account: acct, Mailbox: "INBOX"}
	if detail != "" {
		if err := checkMailbox(detail); err != nil {
			return Recipient{}, err
		}
		r.Mailbox = detail
	}
	return r, a.checkFull(ctx, acct)
}

// User returns the recipient for an account name and an optional mailbox
// (`rookery deliver --user NAME --mailbox M`); address is for Delivered-To.
// A mailbox that is not a name of the account's mailboxes fails with
// ErrBadMailbox; one that does not exist is replaced by INBOX at delivery,
// with a warning.
func (a *Agent) User(ctx context.Context, name, mailbox, address string) (Recipient, error) {
	if mailbox != "" {
		if err := checkMailbox(mailbox); err != nil {
			return Recipient{}, err
		}
	}
	acct, err := a.account(ctx, name)
	if err != nil {
		return Recipient{}, err
	}
	r := Recipient{Address: address, Account: acct, Mailbox: "INBOX"}
	if mailbox != "" {
		r.Mailbox, r.explicit = mailbox, true
	}
	return r, a.checkFull(ctx, acct)
}

// checkMailbox refuses a mailbox name for delivery that could not name a
// mailbox of the account, or that reads like a path out of it ("../bob",
// "/bob/INBOX"): mailbox names are looked up within the recipient's
// account, so such a name could never reach another one, but it is a
// mistake or an attack, and is said to be one (ErrBadMailbox) rather
// than quietly delivered to INBOX.
func checkMailbox(name string) error {
	if !utf8.ValidString(name) {
		return fmt.Errorf("%w: %q is not UTF-8", ErrBadMailbox, name)
	}
	if strings.ContainsFunc(name, unicode.IsControl) {
		return fmt.Errorf("%w: %q has a control character", ErrBadMailbox, name)
	}
	for level := range strings.SplitSeq(name, string(store.Separator)) {
		switch level {
		case "":
			return fmt.Errorf("%w: %q has an empty level (a leading, trailing or doubled %q)", ErrBadMailbox, name, store.Separator)
		case ".", "..":
			return fmt.Errorf("%w: %q has a %q level", ErrBadMailbox, name, level)
		}
	}
	return nil
}

// account looks an account name up as the store does for every name
// (store.Store.Account: case-insensitively, store.CanonicalAccountName), so
// that delivery and login agree on who a name is.
func (a *Agent) account(ctx context.Context, name string) (store.Account, error) {
	acct, err := a.opts.Store.Account(ctx, name)
	if errors.Is(err, store.ErrNoSuchAccount) {
		return acct, fmt.Errorf("%w: %q", ErrUnknownUser, name)
	}
	return acct, err
}

// checkFull fails when the account cannot take even a small message.
func (a *Agent) checkFull(ctx context.Context, acct store.Account) error {
	u, err := a.opts.Store.Quota(ctx, acct.ID)
	if err != nil {
		return err
	}
	if (u.StorageLimitBytes > 0 && u.StorageBytes >= u.StorageLimitBytes) || (u.MessageLimit > 0 && u.Messages >= u.MessageLimit) {
		return fmt.Errorf("%s: %w", acct.Name, store.ErrOverQuota)
	}
	return nil
}

// Envelope is the SMTP envelope of a message.
type Envelope struct {
	// From is the reverse path (without <>); with HasFrom it becomes
	// Return-Path (also when empty: the null sender "<>").
	From    string
	HasFrom bool
}

// Deliver stores the message read from r for every recipient and returns
// one error per recipient (nil: durable in the account's store). r is read
// to its end unless reading it fails.
func (a *Agent) Deliver(ctx context.Context, env Envelope, rcpts []Recipient, r io.Reader) []error {
	errs := make([]error, len(rcpts))
	if len(rcpts) == 0 {
		return errs
	}
	body := &blankCheck{r: newCRLFReader(r)}
	p0 := a.prefix(env, rcpts[0])
	limit := int64(-1)
	if a.opts.MaxSize >= 0 {
		limit = a.opts.MaxSize + int64(len(p0))
	}
	// A blank message fails the stream at its end (blankCheck), so that
	// the store keeps nothing of it.
	first, err := ingest.Write(ctx, a.opts.Store, io.MultiReader(strings.NewReader(p0), body), limit, a.log)
	if err != nil {
		for i := range errs {
			errs[i] = a.done(rcpts[i], fmt.Errorf("write message: %w", err))
		}
		return errs
	}
	now := a.opts.Now()
	for i, rc := range rcpts {
		ref := first
		if i > 0 {
			ref, err = a.copyFor(ctx, first, len(p0), a.prefix(env, rc))
			if err != nil {
				errs[i] = a.done(rc, err)
				continue
			}
		}
		errs[i] = a.done(rc, a.appendTo(ctx, rc, store.NewMessage{Blob: ref, InternalDate: now}))
	}
	return errs
}

// copyFor writes prefix + the content of src after its own prefix.
func (a *Agent) copyFor(ctx context.Context, src store.BlobRef, skip int, prefix string) (store.BlobRef, error) {
	var body io.Reader
	if src.Content != nil {
		body = bytes.NewReader(src.Content[skip:])
	} else {
		b, err := a.opts.Store.OpenBlob(ctx, src.ID)
		if err != nil {
			return store.BlobRef{}, fmt.Errorf("reopen message: %w", err)
		}
		defer b.Close()
		body = io.NewSectionReader(b, int64(skip), b.Size()-int64(skip))
	}
	ref, err := ingest.Write(ctx, a.opts.Store, io.MultiReader(strings.NewReader(prefix), body), -1, a.log)
	if err != nil {
		return store.BlobRef{}, fmt.Errorf("write message: %w", err)
	}
	return ref, nil
}

// appendTo appends to the recipient's mailbox, or INBOX when it does not
// exist or is not selectable (as Dovecot's and Cyrus's delivery agents
// do: the message is not lost for a mistyped folder). The fallback is
// logged: as a warning for a mailbox the operator named (User), at info
// level for an address's detail, which any sender may make up.
func (a *Agent) appendTo(ctx context.Context, rc Recipient, msg store.NewMessage) error {
	mb, err := a.opts.Store.Mailbox(ctx, rc.Account.ID, rc.Mailbox)
	if (errors.Is(err, store.ErrNoSuchMailbox) || (err == nil && mb.NoSelect)) && !strings.EqualFold(rc.Mailbox, "INBOX") {
		why := "does not exist"
		if err == nil {
			why = "is not selectable"
		}
		level := slog.LevelInfo
		if rc.explicit {
			level = slog.LevelWarn
		}
		a.log.Log(ctx, level, "mailbox "+why+"; delivering to INBOX", "user", rc.Account.Name, "mailbox", rc.Mailbox)
		mb, err = a.opts.Store.Mailbox(ctx, rc.Account.ID, "INBOX")
	}
	if err != nil {
		return err
	}
	if _, err := a.opts.Store.Append(ctx, mb.ID, []store.NewMessage{msg}); err != nil {
		return err
	}
	return nil
}

// prefix is the header block prepended for one recipient.
func (a *Agent) prefix(env Envelope, rc Recipient) string {
	var b strings.Builder
	if env.HasFrom {
		b.WriteString("Return-Path: <" + headerSafe(env.From) + ">\r\n")
	}
	if rc.Address != "" {
		b.WriteString("Delivered-To: " + headerSafe(rc.Address) + "\r\n")
	}
	return b.String()
}

// headerSafe drops characters that could break a header line.
func headerSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' || r == 0 {
			return -1
		}
		return r
	}, s)
}

// done logs and counts one recipient's outcome and returns err.
func (a *Agent) done(rc Recipient, err error) error {
	result := Result(err)
	if err != nil {
		a.log.Warn("delivery failed", "user", rc.Account.Name, "rcpt", logtext.Clip(rc.Address), "result", result, "err", logtext.Err(err))
	} else {
		a.log.Debug("delivered", "user", rc.Account.Name, "rcpt", logtext.Clip(rc.Address), "mailbox", logtext.Clip(rc.Mailbox))
	}
	if a.opts.Hooks.Delivered != nil {
		a.opts.Hooks.Delivered(result)
	}
	return err
}

// Result names the outcome class of a delivery error (see Hooks).
func Result(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, ErrUnknownUser), errors.Is(err, ErrBadAddress), errors.Is(err, ErrBadMailbox):
		return "unknown_user"
	case errors.Is(err, store.ErrOverQuota):
		return "over_quota"
	case errors.Is(err, store.ErrTooBig):
		return "too_big"
	case errors.Is(err, ErrEmpty):
		return "bad_input"
	}
	return "error"
}

// Temporary reports whether a delivery error is worth retrying later.
// Unknown users, bad addresses and mailbox names, oversize and empty
// messages are permanent;
// over-quota follows Options.OverQuotaTemporary; anything else (I/O,
// database busy) is temporary.
func (a *Agent) Temporary(err error) bool {
	switch Result(err) {
	case "ok", "unknown_user", "too_big", "bad_input":
		return false
	case "over_quota":
		return a.opts.OverQuotaTemporary
	}
	return true
}

// blankCheck passes a message through and, at its end, fails with
// ErrEmpty instead of io.EOF when it held nothing but blank lines (CR,
// LF, space, tab): no header field and no body. RFC 5322 §3.6 asks for a
// Date and a From field at least, which MTAs do not enforce and neither
// does delivery; a message without a single character is refused.
type blankCheck struct {
	r    io.Reader
	seen bool // a character other than CR, LF, SP, HTAB passed
}

func (b *blankCheck) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if !b.seen {
		for _, c := range p[:n] {
			if c != '\r' && c != '\n' && c != ' ' && c != '\t' {
				b.seen = true
				break
			}
		}
	}
	if err == io.EOF && !b.seen {
		return n, ErrEmpty
	}
	return n, err
}
