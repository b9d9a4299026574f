package imapserver

import (
	"context"

	"rookery/internal/imap"
	"rookery/internal/imapcmd"
	"rookery/internal/imapnum"
	"rookery/internal/imapwire"
	"rookery/internal/mailview"
	"rookery/internal/store"
)

// permanentFlagsBase are the system flags a client may store.
var permanentFlagsBase = []string{imap.FlagAnswered, imap.FlagFlagged, imap.FlagDeleted, imap.FlagSeen, imap.FlagDraft}

func cmdSelect(ctx context.Context, c *conn, cmd *imapcmd.Command, args *imapcmd.Select) error {
	if args.QResync != nil && !c.qresync {
		// RFC 7162 §3.2.5: QRESYNC parameters need ENABLE QRESYNC first.
		return imap.BadRequest(imap.CodeClientBug, "QRESYNC is not enabled")
	}
	name, err := c.mailboxName(args.Mailbox)
	if err != nil {
		return err
	}
	if c.sel != nil {
		// RFC 9051 §6.3.2: a SELECT deselects the current mailbox first,
		// even if it fails.
		c.sel = nil
		c.state = stateAuth
		c.untagged("OK", imap.CodeClosed, "Previous mailbox is now closed")
	}
	mb, err := c.srv.opts.Store.Mailbox(ctx, c.acct.ID, name)
	if err != nil {
		return err
	}
	if mb.NoSelect {
		return imap.Errorf(imap.CodeNonExistent, "Mailbox is not selectable")
	}
	snap, err := c.srv.opts.Store.Snapshot(ctx, mb.ID)
	if err != nil {
		return err
	}
	view := mailview.New(snap)
	if !args.ReadOnly {
		// Claiming is a write: skip it when the snapshot shows nothing
		// to claim (most SELECTs of a mailbox already looked at).
		if snap.RecentFrom < snap.UIDNext {
			lo, hi, err := c.srv.opts.Store.ClaimRecent(ctx, mb.ID)
			if err != nil {
				return err
			}
			view.AddRecent(lo, hi)
		}
	} else {
		// EXAMINE counts the unclaimed \Recent messages without claiming
		// them (RFC 3501 §6.3.2): another session's SELECT still gets them.
		view.AddRecent(snap.RecentFrom, snap.UIDNext)
	}
	if args.CondStore {
		c.condStore = true // the HIGHESTMODSEQ below is the one it needs
	}
	e := c.enc
	c.writeFlagsResponse(view.Keywords())
	e.Raw("* ").Number(view.Len()).Raw(" EXISTS").CRLF()
	if !c.rev2 {
		recent := view.RecentCount()
		e.Raw("* ").Number(recent).Raw(" RECENT").CRLF()
		if snap.FirstUnseen != 0 {
			if seq, ok := view.Seq(snap.FirstUnseen); ok {
				e.Raw("* OK [UNSEEN ").Number(seq).Raw("] First unseen").CRLF()
			}
		}
	}
	e.Raw("* OK [UIDVALIDITY ").Number(snap.UIDValidity).Raw("] UIDs valid").CRLF()
	e.Raw("* OK [UIDNEXT ").Number(snap.UIDNext).Raw("] Predicted next UID").CRLF()
	// RFC 7162 §3.1.2.1: a server with persistent mod-sequences sends
	// HIGHESTMODSEQ with every successful SELECT and EXAMINE.
	e.Raw("* OK [HIGHESTMODSEQ ").Number64(snap.HighestModSeq).Raw("] Highest").CRLF()
	e.Raw("* OK [MAILBOXID (").Raw(imap.MailboxID(snap.Mailbox)).Raw(")] Ok").CRLF() // RFC 8474 §4.2
	if args.ReadOnly {
		e.Raw("* OK [PERMANENTFLAGS ()] Read-only mailbox").CRLF()
	} else {
		c.writePermanentFlags(view.Keywords())
	}
	if c.rev2 {
		e.Raw(`* LIST () "/" `)
		c.writeName(snap.Name)
		e.CRLF()
	}
	c.sel = &selected{mailbox: snap.Mailbox, view: view, readOnly: args.ReadOnly}
	c.state = stateSelected
	// The view starts in sync: the RECENT count above is what it reported.
	view.Flush(discardSink{}, mailview.Mode{Recent: true})
	if args.QResync != nil {
		if err := c.qresyncSelect(ctx, args.QResync); err != nil {
			return err
		}
	}
	if args.ReadOnly {
		c.okCode = "READ-ONLY"
	} else {
		c.okCode = "READ-WRITE"
	}
	c.okText = cmd.Name + " completed"
	return nil
}

// writeFlagsResponse writes the untagged FLAGS response: the system flags
// and the mailbox's keywords.
func (c *conn) writeFlagsResponse(keywords []string) {
	e := c.enc
	e.Raw("* FLAGS (")
	writeFlagNames(e, permanentFlagsBase, keywords)
	e.Raw(")").CRLF()
}

// writePermanentFlags writes the PERMANENTFLAGS response of a read-write
// mailbox: the flags it has and, while the mailbox has fewer keywords
// than MailboxLimits.MaxKeywords, \* (RFC 9051 §7.1: new keywords may be
// created). keywords are those the session knows of, all of them in the
// mailbox's keyword set: a session that learns of keywords another one
// added sends this again (writeKeywords), without \* once they fill
// the set.
func (c *conn) writePermanentFlags(keywords []string) {
	e := c.enc
	e.Raw("* OK [PERMANENTFLAGS (")
	writeFlagNames(e, permanentFlagsBase, keywords)
	if limit := c.srv.opts.MailboxLimits.MaxKeywords; limit > 0 && len(keywords) >= limit {
		e.Raw(`)] Flags permitted; no new keywords (at most `).Number64(uint64(limit)).Raw(`)`).CRLF()
		return
	}
	e.Raw(` \*)] Flags permitted`).CRLF()
}

func writeFlagNames(e *imapwire.Encoder, sys, keywords []string) {
	for i, f := range sys {
		if i > 0 {
			e.SP()
		}
		e.Raw(f)
	}
	for _, k := range keywords {
		e.SP().Raw(k)
	}
}

// announceKeywords tells the client of the keywords of f it has not been
// told of yet (RFC 9051 §7.3.5: a FLAGS response, and PERMANENTFLAGS for
// a read-write mailbox), before a response that carries them.
func (c *conn) announceKeywords(f store.Flags) {
	v := c.sel.view
	v.NoteKeywords(f.Keywords)
	c.writeNewKeywords()
}

// writeNewKeywords sends the keyword list if it grew since last sent.
func (c *conn) writeNewKeywords() {
	if all, ok := c.sel.view.TakeKeywords(); ok {
		c.writeKeywords(all)
	}
}

// writeKeywords announces the mailbox's keyword list.
func (c *conn) writeKeywords(all []string) {
	c.writeFlagsResponse(all)
	if !c.sel.readOnly {
		c.writePermanentFlags(all)
	}
}

// discardSink swallows responses already conveyed another way.
type discardSink struct{}

func (discardSink) Expunge(uint32)                    {}
func (discardSink) Vanished(imapnum.Set)              {}
func (discardSink) Exists(uint32)                     {}
func (discardSink) Recent(uint32)                     {}
func (discardSink) Keywords([]string)                 {}
func (discardSink) Flags(uint32, store.Message, bool) {}

func cmdClose(ctx context.Context, c *conn, cmd *imapcmd.Command, _ imapcmd.None) error {
	sel := c.sel
	c.sel = nil
	c.state = stateAuth
	if cmd.Name == "CLOSE" && !sel.readOnly {
		// CLOSE expunges silently (RFC 9051 §6.4.1).
		if _, err := c.srv.opts.Store.Expunge(ctx, sel.mailbox.ID, nil); err != nil {
			return err
		}
	}
	return nil
}
