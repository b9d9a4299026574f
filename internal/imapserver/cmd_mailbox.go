package imapserver

import (
	"context"
	"fmt"
	"strconv"

	"rookery/internal/imap"
	"rookery/internal/imapcmd"
	"rookery/internal/store"
)

func cmdCreate(ctx context.Context, c *conn, cmd *imapcmd.Command, args *imapcmd.Create) error {
	name, err := c.newMailboxName(args.Mailbox)
	if err != nil {
		return err
	}
	if name == "INBOX" {
		return imap.Errorf(imap.CodeAlreadyExists, "INBOX always exists")
	}
	use := ""
	switch len(args.SpecialUse) {
	case 0:
	case 1:
		var ok bool
		if use, ok = store.SpecialUse(args.SpecialUse[0]); !ok {
			return imap.Errorf(imap.CodeUseAttr, "Unsupported special-use attribute %s", sanitize(args.SpecialUse[0]))
		}
	default:
		return imap.Errorf(imap.CodeUseAttr, "Only one special-use attribute per mailbox")
	}
	mb, err := c.srv.opts.Store.CreateMailbox(ctx, c.acct.ID, name, use)
	if err != nil {
		return err
	}
	c.okCode = "MAILBOXID (" + imap.MailboxID(mb) + ")" // RFC 8474 §4.1
	return nil
}

func cmdDelete(ctx context.Context, c *conn, cmd *imapcmd.Command, args *imapcmd.MailboxArg) error {
	name, err := c.mailboxName(args.Mailbox)
	if err != nil {
		return err
	}
	if name == "INBOX" {
		return imap.Errorf(imap.CodeCannot, "INBOX cannot be deleted")
	}
	return c.srv.opts.Store.DeleteMailbox(ctx, c.acct.ID, name)
}

func cmdRename(ctx context.Context, c *conn, cmd *imapcmd.Command, args *imapcmd.Rename) error {
	from, err := c.mailboxName(args.From)
	if err != nil {
		return err
	}
	to, err := c.newMailboxName(args.To)
	if err != nil {
		return err
	}
	if to == "INBOX" {
		return imap.Errorf(imap.CodeAlreadyExists, "INBOX always exists")
	}
	return c.srv.opts.Store.RenameMailbox(ctx, c.acct.ID, from, to)
}

func cmdSubscribe(ctx context.Context, c *conn, cmd *imapcmd.Command, args *imapcmd.MailboxArg) error {
	subscribe := cmd.Name == "SUBSCRIBE"
	name, err := c.mailboxName(args.Mailbox)
	if subscribe {
		name, err = c.newMailboxName(args.Mailbox)
	}
	if err != nil {
		return err
	}
	return c.srv.opts.Store.SetSubscribed(ctx, c.acct.ID, name, subscribe)
}

func cmdStatus(ctx context.Context, c *conn, cmd *imapcmd.Command, args *imapcmd.Status) error {
	name, err := c.mailboxName(args.Mailbox)
	if err != nil {
		return err
	}
	mb, err := c.srv.opts.Store.Mailbox(ctx, c.acct.ID, name)
	if err != nil {
		return err
	}
	if mb.NoSelect {
		return imap.Errorf(imap.CodeNonExistent, "Mailbox is not selectable")
	}
	return c.writeStatus(ctx, mb.ID, args.Items)
}

// writeStatus writes one untagged STATUS response with items in the order
// asked: every item of imapcmd.StatusItems (the parser accepts no other).
func (c *conn) writeStatus(ctx context.Context, id store.MailboxID, items []string) error {
	st, err := c.srv.opts.Store.Status(ctx, id)
	if err != nil {
		return err
	}
	vals := make([]string, len(items))
	for i, it := range items {
		v, ok := c.statusValue(it, st)
		if !ok {
			// imapcmd accepted an item the server cannot answer: a bug
			// (TestStatusItemsAnswered), reported before any output.
			return fmt.Errorf("STATUS item %s has no answer", it)
		}
		vals[i] = v
		if it == "HIGHESTMODSEQ" {
			c.enableCondStore() // RFC 7162 §3.1: a CONDSTORE enabling command
		}
	}
	e := c.enc
	e.Raw("* STATUS ")
	c.writeName(st.Name)
	e.Raw(" (")
	for i, it := range items {
		if i > 0 {
			e.SP()
		}
		e.Raw(it).SP().Raw(vals[i])
	}
	e.Raw(")").CRLF()
	return nil
}

// statusValue is the value of one STATUS item, as sent.
func (c *conn) statusValue(item string, st store.MailboxStatus) (string, bool) {
	u := func(n uint64) (string, bool) { return strconv.FormatUint(n, 10), true }
	switch item {
	case "MESSAGES":
		return u(uint64(st.Messages))
	case "UIDNEXT":
		return u(uint64(st.UIDNext))
	case "UIDVALIDITY":
		return u(uint64(st.UIDValidity))
	case "UNSEEN":
		return u(uint64(st.Unseen))
	case "DELETED":
		return u(uint64(st.Deleted))
	case "SIZE":
		return u(uint64(st.Size))
	case "DELETED-STORAGE":
		// RFC 9208 §4.1.4: the storage EXPUNGE would free, in the unit
		// of the STORAGE resource (1024 octets, §5.1), rounded up as
		// GETQUOTA rounds usage.
		return u(uint64(st.DeletedSize+1023) / 1024)
	case "RECENT":
		return u(uint64(st.Recent))
	case "HIGHESTMODSEQ":
		return u(st.HighestModSeq)
	case "MAILBOXID":
		return "(" + imap.MailboxID(st.Mailbox) + ")", true
	case "APPENDLIMIT":
		// RFC 7889 §3: this mailbox's limit, here the server-wide one
		// the capability advertises.
		return u(uint64(c.srv.opts.AppendLimit))
	}
	return "", false
}
