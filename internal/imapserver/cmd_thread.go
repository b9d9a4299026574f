package imapserver

import (
	"context"

	"rookery/internal/imap"
	"rookery/internal/imapcmd"
	"rookery/internal/search"
	"rookery/internal/store"
)

func cmdThread(ctx context.Context, c *conn, cmd *imapcmd.Command, args *imapcmd.Thread) error {
	var algo func([]*search.Message) ([]*search.Thread, error)
	switch args.Algorithm {
	case "ORDEREDSUBJECT":
		algo = search.ThreadOrderedSubject
	case "REFERENCES":
		algo = search.ThreadReferences
	default:
		return imap.BadRequest(imap.CodeClientBug, "Unknown threading algorithm %s", args.Algorithm)
	}
	msgs, _, err := c.runSearchWith(ctx, args.Charset, args.Key, search.NeedsHeader, true, true, store.SortDate|store.SortSubject|store.SortIDs)
	if err != nil {
		return err
	}
	threads, err := algo(msgs)
	if err != nil {
		return err
	}
	buf := append([]byte("* THREAD"), ' ')
	if len(threads) == 0 {
		buf = buf[:len(buf)-1]
	}
	buf = search.AppendThreads(buf, threads, cmd.UID)
	c.enc.Raw(string(buf))
	return c.enc.CRLF()
}
