package imapserver

import (
	"context"
	"strconv"

	"rookery/internal/imap"
	"rookery/internal/imapcmd"
)

// Quotas (RFC 9208). Each account has one quota root, "", covering all
// its mailboxes, with the resources STORAGE (in KiB) and MESSAGE, and
// MAILBOX (the number of mailboxes, §5.3) when the server limits it
// (MailboxLimits.MaxMailboxes, the same for every account). Limits are
// set by the administrator (`rookery user quota`, the configuration),
// never by SETQUOTA.

func cmdGetQuota(ctx context.Context, c *conn, cmd *imapcmd.Command, args *imapcmd.GetQuota) error {
	if args.Root != "" {
		return imap.Errorf(imap.CodeNonExistent, "No such quota root")
	}
	return c.writeQuota(ctx)
}

func cmdGetQuotaRoot(ctx context.Context, c *conn, cmd *imapcmd.Command, args *imapcmd.GetQuotaRoot) error {
	name, err := c.mailboxName(args.Mailbox)
	if err != nil {
		return err
	}
	if _, err := c.srv.opts.Store.Mailbox(ctx, c.acct.ID, name); err != nil {
		return err
	}
	c.enc.Raw("* QUOTAROOT ")
	c.writeName(name)
	c.enc.Raw(` ""`).CRLF()
	return c.writeQuota(ctx)
}

func cmdSetQuota(context.Context, *conn, *imapcmd.Command, *imapcmd.SetQuota) error {
	return imap.Errorf(imap.CodeNoPerm, "Quotas are set by the administrator")
}

// writeQuota writes `* QUOTA "" (...)` with the resources that have a
// limit (RFC 9208 §5.1: an unlimited resource is not listed).
func (c *conn) writeQuota(ctx context.Context) error {
	u, err := c.srv.opts.Store.Quota(ctx, c.acct.ID)
	if err != nil {
		return err
	}
	c.enc.Raw(`* QUOTA "" (`)
	sep := ""
	if u.StorageLimitBytes > 0 {
		// STORAGE is in units of 1024 octets; usage rounds up.
		c.enc.Raw("STORAGE " + strconv.FormatInt((u.StorageBytes+1023)/1024, 10) + " " + strconv.FormatInt(u.StorageLimitBytes/1024, 10))
		sep = " "
	}
	if u.MessageLimit > 0 {
		c.enc.Raw(sep + "MESSAGE " + strconv.FormatInt(u.Messages, 10) + " " + strconv.FormatInt(u.MessageLimit, 10))
		sep = " "
	}
	if u.MailboxLimit > 0 {
		c.enc.Raw(sep + "MAILBOX " + strconv.FormatInt(u.Mailboxes, 10) + " " + strconv.FormatInt(u.MailboxLimit, 10))
	}
	c.enc.Raw(")").CRLF()
	return nil
}
