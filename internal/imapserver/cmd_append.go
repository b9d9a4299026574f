package imapserver

import (
	"context"
	"errors"
	"io"
	"strings"

	"rookery/internal/anatomy"
	"rookery/internal/imap"
	"rookery/internal/imapcmd"
	"rookery/internal/imapnum"
	"rookery/internal/imapwire"
	"rookery/internal/ingest"
	"rookery/internal/store"
)

func cmdAppend(ctx context.Context, c *conn, cmd *imapcmd.Command, app *imapcmd.Append) (err error) {
	defer func() {
		if err != nil {
			c.drainAppend(app)
		}
	}()
	name, err := c.mailboxName(app.Mailbox)
	if err != nil {
		return err
	}
	mb, err := c.srv.opts.Store.Mailbox(ctx, c.acct.ID, name)
	if errors.Is(err, store.ErrNoSuchMailbox) {
		return c.noTarget(name)
	}
	if err != nil {
		return err
	}
	if mb.NoSelect {
		return imap.Errorf(imap.CodeCannot, "Mailbox is not selectable")
	}
	var msgs []store.NewMessage
	pending := 0 // memory the written messages hold until Append
	for {
		m, err := app.Next()
		if err != nil {
			return appendReadError(err)
		}
		if m == nil {
			break
		}
		flags, bad, ok := imap.ParseFlags(withoutRecent(m.Flags))
		if !ok {
			drainLiteral(m.Literal)
			return imap.BadRequest(imap.CodeClientBug, "Invalid flag %s", sanitize(bad))
		}
		if m.Literal.Size() == 0 {
			return imap.Errorf(imap.CodeCannot, "Cannot append an empty message")
		}
		var content io.Reader = m.Literal
		limit := c.srv.opts.AppendLimit
		if m.Literal.Binary() {
			// A literal8 may hold binary parts: they are stored in base64
			// (RFC 3516 §4.3 allows it, losing nothing), since only FETCH
			// BINARY may send them as they are (RFC 9051 §4.3.1). That
			// grows them by 4 bytes for 3 and a CRLF per 76 characters
			// (and a rewritten header field by at most 2 bytes).
			content = anatomy.EncodeBinaryParts(m.Literal)
			limit += limit/2 + 64<<10
		}
		ref, err := ingest.Write(ctx, c.srv.opts.Store, content, limit, c.srv.log)
		drainLiteral(m.Literal)
		if err != nil {
			// A NUL in a literal that is not a literal8 fails the
			// stream (imapwire): the store keeps nothing of it, and
			// nothing of this APPEND's other messages is appended.
			return appendReadError(err)
		}
		msgs = append(msgs, store.NewMessage{Blob: ref, Flags: flags, InternalDate: m.Date})
		if pending += ref.MemSize(); pending > maxAppendPending {
			return imap.Errorf(imap.CodeLimit, "Too much data in one MULTIAPPEND; append fewer messages at a time")
		}
	}
	if len(msgs) == 0 {
		return imap.BadRequest(imap.CodeClientBug, "APPEND without a message")
	}
	res, err := c.srv.opts.Store.Append(ctx, mb.ID, msgs)
	if err != nil {
		return err
	}
	if c.sel != nil && c.sel.mailbox.ID == mb.ID {
		if err := c.applyOwnAppend(ctx, msgs, res); err != nil {
			return err
		}
	}
	c.okCode = "APPENDUID " + u32(res.UIDValidity) + " " + imapnum.Compact(res.UIDs).String()
	c.okText = "APPEND completed"
	return nil
}

// maxAppendPending bounds the memory one MULTIAPPEND holds before its
// messages are committed together (small contents, anatomies and index
// texts stay in memory until then).
const maxAppendPending = 64 << 20

// withoutRecent drops \Recent, which a client cannot set (RFC 3501 §2.3.2).
func withoutRecent(flags []string) []string {
	out := flags[:0:0]
	for _, f := range flags {
		if !strings.EqualFold(f, imap.FlagRecent) {
			out = append(out, f)
		}
	}
	return out
}

func appendReadError(err error) error {
	if errors.Is(err, imapwire.ErrTooBig) {
		return imap.Errorf(imap.CodeTooBig, "Message exceeds the APPENDLIMIT")
	}
	var syn *imapcmd.SyntaxError
	if errors.As(err, &syn) {
		return imap.BadRequest(imap.CodeClientBug, "Syntax error: %s", sanitize(syn.Msg))
	}
	var wire *imapwire.SyntaxError // from a message literal as it streams
	if errors.As(err, &wire) {
		return imap.BadRequest(imap.CodeClientBug, "Syntax error: %s", sanitize(wire.Msg))
	}
	return err
}

// drainLiteral consumes what is left of a message literal.
func drainLiteral(r imapcmd.LiteralReader) {
	_, _ = io.Copy(io.Discard, r)
}

// drainAppend reads the rest of a failed APPEND so the connection stays in
// step with the client: synchronizing literals are refused (the client then
// sends nothing), non-synchronizing ones are read and discarded.
func (c *conn) drainAppend(app *imapcmd.Append) {
	c.refuseLiterals = true
	defer func() { c.refuseLiterals = false }()
	for i := 0; i < 1000; i++ {
		m, err := app.Next()
		if err != nil {
			// After a refused synchronizing literal the client sends
			// nothing more: the decoder has consumed the line's CRLF,
			// and DiscardLine would wait for the next command's line.
			if errors.Is(err, errLiteralRefused) {
				return
			}
			if c.dec.DiscardLine() != nil {
				c.bye("Cannot skip the rest of the command")
				c.state = stateLogout
			}
			return
		}
		if m == nil {
			return
		}
		drainLiteral(m.Literal)
	}
}
