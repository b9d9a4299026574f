package imapserver

import (
	"context"
	"errors"
	"strconv"

	"rookery/internal/imap"
	"rookery/internal/imapcmd"
	"rookery/internal/imapnum"
	"rookery/internal/mailview"
	"rookery/internal/store"
)

func u32(n uint32) string { return strconv.FormatUint(uint64(n), 10) }

// targetUIDs resolves a command's set (sequence numbers or UIDs, or "$"
// when saved) to the UIDs the client knows.
func (c *conn) targetUIDs(cmd *imapcmd.Command, set imapnum.Set, saved bool) ([]store.UID, error) {
	if saved {
		return c.sel.savedUIDs(), nil
	}
	if cmd.UID {
		return c.sel.view.UIDSet(set), nil
	}
	uids, err := c.sel.view.SeqSet(set)
	if errors.Is(err, mailview.ErrBadSeq) {
		return nil, imap.BadRequest(imap.CodeClientBug, "Invalid message sequence number")
	}
	return uids, err
}

func cmdExpunge(ctx context.Context, c *conn, _ *imapcmd.Command, _ imapcmd.None) error {
	return c.expunge(ctx, nil)
}

// cmdUIDExpunge is UID EXPUNGE (RFC 4315 §2.1): only the named messages.
func cmdUIDExpunge(ctx context.Context, c *conn, cmd *imapcmd.Command, args *imapcmd.Expunge) error {
	uids, _ := c.targetUIDs(cmd, args.UIDs, args.Saved)
	if len(uids) == 0 && !c.sel.readOnly {
		return nil
	}
	return c.expunge(ctx, imapnum.Compact(uids))
}

// expunge removes the \Deleted messages of the selected mailbox, only
// those of uids when it is not nil.
func (c *conn) expunge(ctx context.Context, uids imapnum.Set) error {
	if c.sel.readOnly {
		return imap.Errorf(imap.CodeCannot, "Mailbox is read-only")
	}
	res, err := c.srv.opts.Store.Expunge(ctx, c.sel.mailbox.ID, uids)
	if err != nil {
		return err
	}
	c.applyOwnChange(store.Changes{Expunged: res.UIDs}, res.ModSeq)
	return nil
}

func cmdStore(ctx context.Context, c *conn, cmd *imapcmd.Command, args *imapcmd.Store) error {
	if c.sel.readOnly {
		return imap.Errorf(imap.CodeCannot, "Mailbox is read-only")
	}
	flags, bad, ok := imap.ParseFlags(withoutRecent(args.Flags))
	if !ok {
		return imap.BadRequest(imap.CodeClientBug, "Invalid flag %s", sanitize(bad))
	}
	uids, err := c.targetUIDs(cmd, args.Set, args.Saved)
	if err != nil || len(uids) == 0 {
		return err
	}
	op := map[imapcmd.StoreOp]store.FlagOp{
		imapcmd.StoreReplace: store.FlagsReplace,
		imapcmd.StoreAdd:     store.FlagsAdd,
		imapcmd.StoreRemove:  store.FlagsRemove,
	}[args.Op]
	var since store.ModSeq
	if args.HasUnchanged {
		c.enableCondStore()
		// UNCHANGEDSINCE 0 fails for every message (RFC 7162 §3.1.3).
		since = args.UnchangedSince
		if since == 0 {
			return c.storeModified(cmd, uids)
		}
	}
	res, err := c.srv.opts.Store.StoreFlags(ctx, c.sel.mailbox.ID, imapnum.Compact(uids), op, flags, since)
	if err != nil {
		return err
	}
	c.reportStore(cmd, args, res)
	c.applyOwnStore(res)
	if len(res.Modified) > 0 {
		return c.storeModified(cmd, res.Modified)
	}
	return nil
}

// applyOwnStore brings the view up to date with the session's own flag
// change when nothing else changed the mailbox before it: a change
// advances HIGHESTMODSEQ by exactly one (store.Store), so if the view was
// synchronised to the mod-sequence just below the change's, the change is
// all there is to learn and the store need not be asked (Changes) when
// its event arrives. Otherwise the event brings the view up to date.
func (c *conn) applyOwnStore(res store.StoreResult) {
	if len(res.Updated) > 0 {
		c.applyOwnChange(store.Changes{Updated: res.Updated}, res.Updated[0].ModSeq)
	}
}

// applyOwnAppend is applyOwnChange for an APPEND into the selected
// mailbox: the new messages join the view (EXISTS when it flushes), and
// when they did the session claims \Recent as it does for any new
// message (syncView).
func (c *conn) applyOwnAppend(ctx context.Context, msgs []store.NewMessage, res store.AppendResult) error {
	ch := store.Changes{Updated: make([]store.Message, len(res.UIDs))}
	for i, uid := range res.UIDs {
		ch.Updated[i] = store.Message{UID: uid, ModSeq: res.ModSeq, Flags: msgs[i].Flags}
	}
	if !c.applyOwnChange(ch, res.ModSeq) || c.sel.readOnly {
		return nil
	}
	lo, hi, err := c.srv.opts.Store.ClaimRecent(ctx, c.sel.mailbox.ID)
	if err != nil {
		return err
	}
	c.sel.view.AddRecent(lo, hi)
	return nil
}

// applyOwnChange applies ch, the whole of a change of the session's own
// at modseq, to the view when the view is synchronised to modseq-1 (see
// applyOwnStore), and reports whether it did.
func (c *conn) applyOwnChange(ch store.Changes, modseq store.ModSeq) bool {
	v := c.sel.view
	if modseq == 0 || v.HighestModSeq() != modseq-1 {
		return false
	}
	c.sel.mailbox.HighestModSeq = modseq
	ch.Mailbox = c.sel.mailbox
	v.Apply(ch)
	return true
}

// reportStore writes the untagged FETCH responses of a STORE (RFC 9051
// §6.4.6, RFC 7162 §3.1.3) and records what the client was told:
//   - without .SILENT, the new flags of every matched message;
//   - with .SILENT, nothing for a message only this STORE changed, but the
//     flags of one that another session changed since this client last
//     heard of it (its idea of the flags would be wrong otherwise);
//   - with CONDSTORE on, UID and MODSEQ always, even with .SILENT (then
//     without FLAGS), so that the client's cached mod-sequences stay right.
func (c *conn) reportStore(cmd *imapcmd.Command, args *imapcmd.Store, res store.StoreResult) {
	view := c.sel.view
	i, j := 0, 0
	for i < len(res.Updated) || j < len(res.Unchanged) {
		var m store.Message
		updated := j == len(res.Unchanged) || (i < len(res.Updated) && res.Updated[i].UID < res.Unchanged[j].UID)
		others := false
		if updated {
			m = res.Updated[i]
			if i < len(res.PrevModSeqs) {
				others = res.PrevModSeqs[i] > view.ModSeq(m.UID)
			}
			i++
		} else {
			m = res.Unchanged[j]
			j++
			others = m.ModSeq > view.ModSeq(m.UID)
		}
		seq, ok := view.Seq(m.UID)
		if !ok {
			continue
		}
		switch {
		case !args.Silent || others:
			c.writeFlagsFetch(seq, m, cmd.UID, true)
		case updated && c.condStore:
			c.writeFlagsFetch(seq, m, true, false)
		case !updated:
			// Nothing changed and the client knows the flags.
			continue
		}
		view.Reported(m.UID, m.ModSeq)
	}
}

// storeModified ends a conditional STORE that left messages unchanged
// (RFC 7162 §3.1.3).
func (c *conn) storeModified(cmd *imapcmd.Command, uids []store.UID) error {
	set := uids
	if !cmd.UID {
		seqs := make([]uint32, 0, len(uids))
		for _, u := range uids {
			if s, ok := c.sel.view.Seq(u); ok {
				seqs = append(seqs, s)
			}
		}
		set = seqs
	}
	c.okCode = "MODIFIED " + imapnum.Compact(set).String()
	c.okText = "Conditional STORE failed for some messages"
	return nil
}

func cmdCopy(ctx context.Context, c *conn, cmd *imapcmd.Command, args *imapcmd.Copy) error {
	name, err := c.mailboxName(args.Mailbox)
	if err != nil {
		return err
	}
	uids, err := c.targetUIDs(cmd, args.Set, args.Saved)
	if err != nil {
		return err
	}
	dst, err := c.srv.opts.Store.Mailbox(ctx, c.acct.ID, name)
	if errors.Is(err, store.ErrNoSuchMailbox) {
		return c.noTarget(name)
	}
	if err != nil {
		return err
	}
	if dst.NoSelect {
		return imap.Errorf(imap.CodeCannot, "Mailbox is not selectable")
	}
	move := cmd.Name == "MOVE"
	if move && c.sel.readOnly {
		return imap.Errorf(imap.CodeCannot, "Mailbox is read-only")
	}
	if len(uids) == 0 {
		return nil
	}
	var res store.CopyResult
	if move {
		res, err = c.srv.opts.Store.Move(ctx, c.sel.mailbox.ID, imapnum.Compact(uids), dst.ID)
	} else {
		res, err = c.srv.opts.Store.Copy(ctx, c.sel.mailbox.ID, imapnum.Compact(uids), dst.ID)
	}
	if err != nil {
		return err
	}
	if len(res.DstUIDs) == 0 {
		return nil
	}
	code := "COPYUID " + u32(res.UIDValidity) + " " + imapnum.Compact(res.SrcUIDs).String() + " " + imapnum.Compact(res.DstUIDs).String()
	if move {
		// RFC 6851 §4.3: COPYUID goes in an untagged OK before the expunges.
		c.untagged("OK", code, "Moved")
		return nil
	}
	c.okCode = code
	return nil
}
