package imapserver

import (
	"context"
	"strconv"
	"strings"

	"rookery/internal/imapcmd"
)

// capabilities lists what the server offers in the connection's state.
// IMAP4rev1 is always listed beside IMAP4rev2: common clients refuse a
// server that lists only IMAP4rev2.
func (c *conn) capabilities() []string {
	caps := []string{"IMAP4rev1", "IMAP4rev2", "LITERAL+", "SASL-IR", "ID", "ENABLE"}
	if c.state == stateNotAuth {
		if c.srv.opts.TLS != nil && !c.isTLS {
			caps = append(caps, "STARTTLS")
		}
		if c.plaintextAllowed() {
			caps = append(caps, "AUTH=PLAIN", "AUTH=LOGIN", "AUTH=SCRAM-SHA-256")
			if c.channelBinding() != nil {
				caps = append(caps, "AUTH=SCRAM-SHA-256-PLUS")
			}
		} else {
			caps = append(caps, "LOGINDISABLED")
		}
		return caps
	}
	caps = append(caps,
		"NAMESPACE", "UNSELECT", "UIDPLUS", "MOVE", "CHILDREN",
		"LIST-EXTENDED", "LIST-STATUS", "SPECIAL-USE", "CREATE-SPECIAL-USE",
		"MULTIAPPEND", "APPENDLIMIT="+strconv.FormatInt(c.srv.opts.AppendLimit, 10),
		"UTF8=ACCEPT", "STATUS=SIZE", "IDLE", "CONDSTORE", "QRESYNC",
		"BINARY", "PREVIEW", "QUOTA", "QUOTA=RES-STORAGE", "QUOTA=RES-MESSAGE")
	if c.srv.opts.MailboxLimits.MaxMailboxes > 0 {
		// RFC 9208 §5.3: GETQUOTA lists MAILBOX; CREATE and RENAME
		// past it answer NO [OVERQUOTA].
		caps = append(caps, "QUOTA=RES-MAILBOX")
	}
	return append(caps,
		"ESEARCH", "SEARCHRES", "WITHIN", "SAVEDATE", "SORT", "SORT=DISPLAY", "ESORT",
		"THREAD=ORDEREDSUBJECT", "THREAD=REFERENCES",
		"OBJECTID")
}

func cmdCapability(_ context.Context, c *conn, _ *imapcmd.Command, _ imapcmd.None) error {
	c.enc.Raw("* CAPABILITY ").Raw(strings.Join(c.capabilities(), " ")).CRLF()
	return nil
}

func cmdNoop(context.Context, *conn, *imapcmd.Command, imapcmd.None) error { return nil }

func cmdLogout(_ context.Context, c *conn, _ *imapcmd.Command, _ imapcmd.None) error {
	c.enc.Raw("* BYE Logging out").CRLF()
	c.state = stateLogout
	return nil
}

func cmdID(_ context.Context, c *conn, _ *imapcmd.Command, _ *imapcmd.ID) error {
	c.enc.Raw(`* ID ("name" "Rookery" "vendor" "Rookery")`).CRLF()
	return nil
}

func cmdNamespace(_ context.Context, c *conn, _ *imapcmd.Command, _ imapcmd.None) error {
	c.enc.Raw(`* NAMESPACE (("" "/")) NIL NIL`).CRLF()
	return nil
}
