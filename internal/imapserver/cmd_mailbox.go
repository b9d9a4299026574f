package imapserver

import (
	"context"
	"strings"

	"rookery/internal/imap"
	"rookery/internal/imapcmd"
	"rookery/internal/store"
)

// specialUses are the special-use attributes (RFC 6154) a mailbox may carry.
var specialUses = []string{`\Archive`, `\Drafts`, `\Junk`, `\Sent`, `\Trash`}

func cmdCreate(ctx context.Context, c *conn, cmd *imapcmd.Command) error {
	args := cmd.Args.(*imapcmd.Create)
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
		for _, su := range specialUses {
			if strings.EqualFold(su, args.SpecialUse[0]) {
				use = su
			}
		}
		if use == "" {
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

func cmdDelete(ctx context.Context, c *conn, cmd *imapcmd.Command) error {
	args := cmd.Args.(*imapcmd.MailboxArg)
	name, err := c.mailboxName(args.Mailbox)
	if err != nil {
		return err
	}
	if name == "INBOX" {
		return imap.Errorf(imap.CodeCannot, "INBOX cannot be deleted")
	}
	return c.srv.opts.Store.DeleteMailbox(ctx, c.acct.ID, name)
}

func cmdRename(ctx context.Context, c *conn, cmd *imapcmd.Command) error {
	args := cmd.Args.(*imapcmd.Rename)
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

func cmdSubscribe(ctx context.Context, c *conn, cmd *imapcmd.Command) error {
	args := cmd.Args.(*imapcmd.MailboxArg)
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

func cmdStatus(ctx context.Context, c *conn, cmd *imapcmd.Command) error {
	args := cmd.Args.(*imapcmd.Status)
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

// statusItems are the STATUS data items the server knows.
var statusItems = map[string]bool{
	"MESSAGES": true, "UIDNEXT": true, "UIDVALIDITY": true, "UNSEEN": true,
	"DELETED": true, "SIZE": true, "RECENT": true, "HIGHESTMODSEQ": true,
	"MAILBOXID": true, "DELETED-STORAGE": true,
}

// writeStatus writes one untagged STATUS response with items in the order
// asked.
func (c *conn) writeStatus(ctx context.Context, id store.MailboxID, items []string) error {
	for _, it := range items {
		if !statusItems[it] {
			return imap.BadRequest(imap.CodeClientBug, "Unknown STATUS item %s", sanitize(it))
		}
	}
	st, err := c.srv.opts.Store.Status(ctx, id)
	if err != nil {
		return err
	}
	for _, it := range items {
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
		e.Raw(it).SP()
		switch it {
		case "MESSAGES":
			e.Number(st.Messages)
		case "UIDNEXT":
			e.Number(st.UIDNext)
		case "UIDVALIDITY":
			e.Number(st.UIDValidity)
		case "UNSEEN":
			e.Number(st.Unseen)
		case "DELETED":
			e.Number(st.Deleted)
		case "SIZE":
			e.Number64(uint64(st.Size))
		case "DELETED-STORAGE":
			// RFC 9208 §4.1.4: the storage EXPUNGE would free, in the
			// unit of the STORAGE resource (1024 octets, §5.1),
			// rounded up as GETQUOTA rounds usage.
			e.Number64(uint64(st.DeletedSize+1023) / 1024)
		case "RECENT":
			e.Number(st.Recent)
		case "HIGHESTMODSEQ":
			e.Number64(st.HighestModSeq)
		case "MAILBOXID":
			e.Raw("(").Raw(imap.MailboxID(st.Mailbox)).Raw(")")
		}
	}
	e.Raw(")").CRLF()
	return nil
}
