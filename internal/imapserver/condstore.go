package imapserver

import (
	"context"

	"rookery/internal/imap"
	"rookery/internal/imapcmd"
	"rookery/internal/imapnum"
	"rookery/internal/store"
)

// CONDSTORE and QRESYNC (RFC 7162): mod-sequences in responses, FETCH
// CHANGEDSINCE, SELECT (QRESYNC ...). The store keeps every expunged UID with
// the mod-sequence of its expunge until the mailbox is deleted, so a client
// can resynchronise from any mod-sequence it was ever told, and the
// seq-match data of SELECT (QRESYNC) is never needed (it is accepted and
// ignored).

// enableCondStore records a CONDSTORE enabling command (RFC 7162 §3.1). A
// client that enables it with a mailbox selected learns the mailbox's
// HIGHESTMODSEQ at once (§3.1.2.1: it did not get one it could rely on
// from SELECT).
func (c *conn) enableCondStore() {
	if c.condStore {
		return
	}
	c.condStore = true
	if c.sel != nil {
		c.enc.Raw("* OK [HIGHESTMODSEQ ").Number64(c.sel.mailbox.HighestModSeq).Raw("] Highest").CRLF()
	}
}

// fetchModifiers handles the CONDSTORE side of a FETCH: a MODSEQ item or a
// CHANGEDSINCE modifier enables CONDSTORE; CHANGEDSINCE adds the MODSEQ item
// (§3.1.4.1), narrows uids to the messages changed since, and with VANISHED
// (UID FETCH only, QRESYNC enabled) reports the UIDs of the set expunged
// since as VANISHED (EARLIER) (§3.2.6). It returns the UIDs to fetch and,
// when it could read them, their messages (nil: read them from the store).
func (c *conn) fetchModifiers(ctx context.Context, cmd *imapcmd.Command, args *imapcmd.Fetch, uids []store.UID, setSeen bool) ([]store.UID, []store.Message, error) {
	hasModSeq := false
	for _, it := range args.Items {
		if it.Name == "MODSEQ" {
			hasModSeq = true
		}
	}
	if !hasModSeq && !args.HasChangedSince {
		return uids, nil, nil
	}
	if args.Vanished && !c.qresync {
		return nil, nil, imap.BadRequest(imap.CodeClientBug, "VANISHED requires ENABLE QRESYNC")
	}
	c.enableCondStore()
	if !args.HasChangedSince {
		return uids, nil, nil
	}
	if !hasModSeq {
		args.Items = append(args.Items, imapcmd.FetchItem{Name: "MODSEQ"})
	}
	view := c.sel.view
	ch, err := c.srv.opts.Store.Changes(ctx, c.sel.mailbox.ID, args.ChangedSince)
	if err != nil {
		return nil, nil, err
	}
	if args.Vanished {
		set := args.Set.Resolve(^uint32(0))
		var gone []store.UID
		for _, u := range ch.Expunged {
			// A UID the view still holds has an expunge pending: it is
			// reported (as VANISHED) when the protocol allows, with the
			// sequence numbers kept consistent until then.
			if _, known := view.Seq(u); !known && set.Contains(u) {
				gone = append(gone, u)
			}
		}
		if len(gone) > 0 {
			c.enc.Raw("* VANISHED (EARLIER) ").Raw(imapnum.Compact(gone).String()).CRLF()
		}
	}
	out := make([]store.UID, 0, min(len(ch.Updated), len(uids)))
	msgs := make([]store.Message, 0, cap(out))
	j := 0
	for _, m := range ch.Updated {
		for j < len(uids) && uids[j] < m.UID {
			j++
		}
		if j < len(uids) && uids[j] == m.UID {
			out = append(out, m.UID)
			msgs = append(msgs, m)
		}
	}
	if setSeen {
		// Setting \Seen changes the flags read here: read them again.
		msgs = nil
	}
	return out, msgs, nil
}

// qresyncSelect sends what SELECT (QRESYNC ...) adds after the usual
// responses (§3.2.5.1): VANISHED (EARLIER) for UIDs expunged since the
// client's mod-sequence, then FETCH (UID FLAGS MODSEQ) for messages changed
// since. Changes committed after the snapshot are left to the usual flush,
// so the view's numbering stays what the client was told.
func (c *conn) qresyncSelect(ctx context.Context, q *imapcmd.QResync) error {
	view := c.sel.view
	if q.UIDValidity != c.sel.mailbox.UIDValidity || q.ModSeq >= view.HighestModSeq() {
		return nil
	}
	ch, err := c.srv.opts.Store.Changes(ctx, c.sel.mailbox.ID, q.ModSeq)
	if err != nil {
		return err
	}
	known := q.KnownUIDs.Resolve(^uint32(0))
	var gone []store.UID
	for _, u := range ch.Expunged {
		if q.KnownUIDs != nil && !known.Contains(u) {
			continue
		}
		if _, inView := view.Seq(u); !inView {
			gone = append(gone, u)
		}
	}
	if len(gone) > 0 {
		c.enc.Raw("* VANISHED (EARLIER) ").Raw(imapnum.Compact(gone).String()).CRLF()
	}
	for _, m := range ch.Updated {
		seq, ok := view.Seq(m.UID)
		if !ok {
			continue
		}
		c.writeFlagsFetch(seq, m, true, true)
		view.Reported(m.UID, m.ModSeq)
	}
	return nil
}

// writeFlagsFetch writes "* seq FETCH (UID u FLAGS (...) MODSEQ (n))" with
// UID when withUID or CONDSTORE is on, FLAGS when withFlags, and MODSEQ when
// CONDSTORE is on.
func (c *conn) writeFlagsFetch(seq uint32, m store.Message, withUID, withFlags bool) {
	if withFlags {
		c.announceKeywords(m.Flags)
	}
	e := c.enc
	e.Raw("* ").Number(seq).Raw(" FETCH (")
	sep := false
	if withUID || c.condStore {
		e.Raw("UID ").Number(m.UID)
		sep = true
	}
	if withFlags {
		if sep {
			e.SP()
		}
		e.Raw("FLAGS ")
		writeFlags(e, imap.FlagNames(m.Flags, c.sel.view.IsRecent(m.UID) && !c.rev2))
		sep = true
	}
	if c.condStore {
		if sep {
			e.SP()
		}
		e.Raw("MODSEQ (").Number64(m.ModSeq).Raw(")")
	}
	e.Raw(")").CRLF()
}
