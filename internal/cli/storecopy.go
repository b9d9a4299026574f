package cli

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"rookery/internal/ingest"
	"rookery/internal/store"
)

// Copy batches: the messages of one RestoreMessages call (one
// transaction of the destination), at most copyBatch and about
// copyBatchMem bytes of contents and texts held in memory.
const (
	copyBatch    = 256
	copyBatchMem = 32 << 20
)

// maxDiffs bounds the differences listed per account (the others are
// counted).
const maxDiffs = 10

// copier copies an installation from src into dst (`rookery store copy`)
// and verifies the copy. It keeps no state between runs: what dst holds
// is what a run resumes from.
type copier struct {
	src  store.Store
	srcD store.Dumper
	dst  store.Store
	dstD store.Dumper
	dstR store.Restorer
	log  *slog.Logger

	batch, batchMem int       // copyBatch, copyBatchMem (tests make them small)
	prog            *progress // io.Discard unless main sets one
}

// newCopier checks that src can be dumped and dst restored into and
// dumped (to verify).
func newCopier(src, dst store.Store, log *slog.Logger) (*copier, error) {
	c := &copier{src: src, dst: dst, log: log, batch: copyBatch, batchMem: copyBatchMem, prog: newProgress(io.Discard, 0, 0)}
	var ok bool
	if c.srcD, ok = src.(store.Dumper); !ok {
		return nil, errors.New("the source backend cannot be dumped")
	}
	if c.dstR, ok = dst.(store.Restorer); !ok {
		return nil, errors.New("the destination backend cannot be restored into")
	}
	if c.dstD, ok = dst.(store.Dumper); !ok {
		return nil, errors.New("the destination backend cannot be dumped (to verify the copy)")
	}
	return c, nil
}

// copyStats is what a copy did.
type copyStats struct {
	accounts, created int   // accounts gone through, of them created by this run
	mailboxes         int   // selectable mailboxes gone through
	copied, present   int64 // messages restored by this run, found in the destination already
	bytes             int64 // bytes of the messages restored by this run
	expunged          int64 // expunged UIDs gone through
	textFailures      int   // contents whose index text could not be extracted
}

// verifyStats is what a verification compared.
type verifyStats struct {
	accounts, mailboxes int
	messages, expunged  int64
}

// refusal is a destination that holds data that is not an earlier copy
// of the source.
type refusal struct{ diffs []string }

func (r *refusal) Error() string {
	return "the destination holds data that is not an earlier copy of the source:\n  " + strings.Join(r.diffs, "\n  ") +
		"\nA copy goes into a new installation, or completes what earlier runs of it left there. " +
		"Delete those accounts from the destination (rookery user del NAME --data TARGET, or --config FILE whose store.dsn is TARGET) " +
		"or choose another one."
}

// main runs a whole copy for Main: copy, verify, report.
func (c *copier) main(ctx context.Context, e *env, from, to string) int {
	accts, err := c.src.Accounts(ctx)
	if err != nil {
		return e.errorf("store copy: %v", err)
	}
	var total, totalBytes int64
	for _, a := range accts {
		total += a.Messages
		totalBytes += a.Bytes
	}
	c.prog = newProgress(e.stderr, total, totalBytes)
	c.prog.linef("copying %s to %s: %d accounts, %d messages, %s", from, to, len(accts), total, formatBytes(totalBytes))
	st, err := c.copy(ctx, accts)
	c.prog.finish()
	if err != nil {
		var r *refusal
		if errors.As(err, &r) {
			return e.errorf("store copy: %v", err)
		}
		if ctx.Err() != nil {
			return e.errorf("store copy: interrupted (%v): run the same command again to complete the copy", err)
		}
		return e.errorf("store copy: %v\nrun the same command again to complete the copy once the cause is fixed", err)
	}
	fmt.Fprintf(e.stdout, "copied %d accounts (%d created), %d mailboxes: %d messages, %s (%d already there), %d expunged UIDs\n",
		st.accounts, st.created, st.mailboxes, st.copied, formatBytes(st.bytes), st.present, st.expunged)
	if st.textFailures > 0 {
		fmt.Fprintf(e.stdout, "%d messages have no search text (it could not be extracted): searches read them instead\n", st.textFailures)
	}
	vs, diffs, err := c.verify(ctx, accts)
	if err != nil {
		return e.errorf("store copy: verify: %v", err)
	}
	if len(diffs) > 0 {
		for _, d := range diffs {
			fmt.Fprintf(e.stdout, "differs: %s\n", d)
		}
		return e.errorf("store copy: verify: %s differs from %s (%d differences listed)", to, from, len(diffs))
	}
	fmt.Fprintf(e.stdout, "verified: %d accounts, %d mailboxes, %d messages, %d expunged UIDs identical\n",
		vs.accounts, vs.mailboxes, vs.messages, vs.expunged)
	return ExitOK
}

// copy copies every account of accts (the source's) that the destination
// lacks or holds only in part. It refuses, changing nothing, when the
// destination holds an account the source does not, or one that is not
// what an interrupted copy leaves.
func (c *copier) copy(ctx context.Context, accts []store.AccountInfo) (copyStats, error) {
	var st copyStats
	have, err := c.preflight(ctx, accts)
	if err != nil {
		return st, err
	}
	inst, err := c.srcD.DumpInstallation(ctx)
	if err != nil {
		return st, err
	}
	if err := c.dstR.RestoreInstallation(ctx, inst); err != nil {
		return st, err
	}
	for _, a := range accts {
		d, err := c.srcD.DumpAccount(ctx, a.Name)
		if err != nil {
			return st, err
		}
		st.accounts++
		if !have[a.Name] {
			if _, err := c.dstR.RestoreAccount(ctx, d); err != nil {
				return st, err
			}
			st.created++
		}
		for _, m := range d.Mailboxes {
			if m.NoSelect {
				continue
			}
			if err := c.copyMailbox(ctx, a.Name+"/"+m.Name, m, &st); err != nil {
				return st, fmt.Errorf("account %s, mailbox %s: %w", a.Name, m.Name, err)
			}
			st.mailboxes++
		}
	}
	c.prog.step("waiting for the search index")
	if err := c.dst.WaitIndexed(ctx); err != nil {
		return st, err
	}
	return st, nil
}

// preflight checks the destination's accounts (see copy) and returns
// the names of those it holds.
func (c *copier) preflight(ctx context.Context, accts []store.AccountInfo) (map[string]bool, error) {
	inSrc := make(map[string]bool, len(accts))
	for _, a := range accts {
		inSrc[a.Name] = true
	}
	dstAccts, err := c.dst.Accounts(ctx)
	if err != nil {
		return nil, err
	}
	have := make(map[string]bool, len(dstAccts))
	var d diffs
	for _, a := range dstAccts {
		have[a.Name] = true
		if !inSrc[a.Name] {
			d.addf("account %s: in the destination but not in the source", a.Name)
			continue
		}
		c.prog.step("checking " + a.Name + " in the destination")
		if _, err := c.compareAccount(ctx, a.Name, true, &d); err != nil {
			return nil, err
		}
	}
	if len(d.list) > 0 {
		return nil, &refusal{d.all()}
	}
	return have, nil
}

// copyMailbox copies the messages of m the destination lacks (it holds
// the mailbox: RestoreAccount made it), then its expunge history.
func (c *copier) copyMailbox(ctx context.Context, label string, m store.MailboxDump, st *copyStats) error {
	c.prog.step(label)
	snap, err := c.dst.Snapshot(ctx, m.ID)
	if err != nil {
		return err
	}
	present := snap.UIDs // ascending
	var batch []store.RestoreMessage
	var mem int
	var batchBytes int64
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		n, err := c.dstR.RestoreMessages(ctx, m.ID, batch)
		if err != nil {
			return err
		}
		st.copied += int64(n)
		st.present += int64(len(batch) - n)
		st.bytes += batchBytes
		c.prog.add(int64(len(batch)), batchBytes)
		batch, mem, batchBytes = batch[:0], 0, 0
		return nil
	}
	var after store.UID
	copied, there := st.copied, st.present
	for {
		page, err := c.srcD.DumpMessages(ctx, m.ID, after, c.batch)
		if err != nil {
			return err
		}
		for _, msg := range page {
			after = msg.UID
			i, found := slices.BinarySearch(present, msg.UID)
			present = present[i:]
			if found {
				st.present++
				c.prog.add(1, msg.Size)
				continue
			}
			rm, err := c.prepare(ctx, msg, st)
			if err != nil {
				return fmt.Errorf("UID %d: %w", msg.UID, err)
			}
			batch = append(batch, rm)
			mem += rm.Blob.MemSize()
			batchBytes += msg.Size
			if len(batch) >= c.batch || mem >= c.batchMem {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		if len(page) < c.batch {
			break
		}
	}
	if err := flush(); err != nil {
		return err
	}
	var exp int64
	after = 0
	for {
		page, err := c.srcD.DumpExpunged(ctx, m.ID, after, c.batch*16)
		if err != nil {
			return err
		}
		if len(page) > 0 {
			if err := c.dstR.RestoreExpunged(ctx, m.ID, page); err != nil {
				return err
			}
			after = page[len(page)-1].UID
			exp += int64(len(page))
		}
		if len(page) < c.batch*16 {
			break
		}
	}
	st.expunged += exp
	if !c.prog.bar && st.copied+st.present+exp > copied+there {
		c.prog.linef("%s: %d messages copied, %d already there, %d expunged UIDs", label, st.copied-copied, st.present-there, exp)
	}
	return nil
}

// prepare writes the content of msg into the destination and returns
// the message to restore, with the source's anatomy and the index text
// (the source's, or extracted again from the content when the source
// cannot give it back).
func (c *copier) prepare(ctx context.Context, msg store.MessageDump, st *copyStats) (store.RestoreMessage, error) {
	b, err := c.src.OpenBlob(ctx, msg.Blob)
	if err != nil {
		return store.RestoreMessage{}, err
	}
	defer b.Close()
	ref, err := c.dst.WriteBlob(ctx, io.NewSectionReader(b, 0, b.Size()), -1)
	if err != nil {
		return store.RestoreMessage{}, err
	}
	if ref.ID != msg.Blob || ref.Size != msg.Size {
		return store.RestoreMessage{}, fmt.Errorf("content %s of %d bytes was stored as %s of %d bytes (damaged in the source? rookery check --contents)",
			msg.Blob, msg.Size, ref.ID, ref.Size)
	}
	ref.Anatomy, ref.Text = msg.Anatomy, msg.Text
	if ref.Text == nil {
		text, parsed, err := ingest.ContentText(b, b.Size(), msg.Anatomy)
		switch {
		case ctx.Err() != nil:
			return store.RestoreMessage{}, ctx.Err()
		case err != nil:
			c.log.Warn("extracting search text", "blob", msg.Blob, "err", err)
			st.textFailures++
		default:
			ref.Text = text
			if parsed != nil {
				ref.Anatomy = parsed
			}
		}
	}
	return store.RestoreMessage{Blob: ref, UID: msg.UID, ModSeq: msg.ModSeq, Flags: msg.Flags,
		InternalDate: msg.InternalDate, SaveDate: msg.SaveDate}, nil
}

// diffs collects differences, at most maxDiffs per subject group.
type diffs struct {
	list []string
	more int // left out
}

func (d *diffs) addf(format string, args ...any) {
	d.list = append(d.list, fmt.Sprintf(format, args...))
}

// all returns the differences, with a last line counting those left out.
func (d *diffs) all() []string {
	if d.more > 0 {
		return append(slices.Clip(d.list), fmt.Sprintf("(%d more differences not listed)", d.more))
	}
	return d.list
}

// limited is a diffs view that lists at most maxDiffs entries and counts
// the rest into d.more.
type limited struct {
	d *diffs
	n int
}

func (l *limited) addf(format string, args ...any) {
	if l.n >= maxDiffs {
		l.d.more++
		return
	}
	l.n++
	l.d.addf(format, args...)
}

// verify compares every account of accts between the source and the
// destination and returns the differences.
func (c *copier) verify(ctx context.Context, accts []store.AccountInfo) (verifyStats, []string, error) {
	var vs verifyStats
	var d diffs
	inSrc := make(map[string]bool, len(accts))
	for _, a := range accts {
		inSrc[a.Name] = true
		s, err := c.compareAccount(ctx, a.Name, false, &d)
		if err != nil {
			return vs, nil, err
		}
		vs.accounts++
		vs.mailboxes += s.mailboxes
		vs.messages += s.messages
		vs.expunged += s.expunged
	}
	dstAccts, err := c.dst.Accounts(ctx)
	if err != nil {
		return vs, nil, err
	}
	for _, a := range dstAccts {
		if !inSrc[a.Name] {
			d.addf("account %s: in the destination but not in the source", a.Name)
		}
	}
	return vs, d.all(), nil
}

// compareAccount compares the account name between the source and the
// destination: everything but messages and expunged UIDs must be equal;
// those must be equal too unless partial, where the destination may
// lack some (an interrupted copy) but hold none the source does not.
func (c *copier) compareAccount(ctx context.Context, name string, partial bool, all *diffs) (verifyStats, error) {
	var vs verifyStats
	d := &limited{d: all}
	sd, err := c.srcD.DumpAccount(ctx, name)
	if err != nil {
		return vs, err
	}
	dd, err := c.dstD.DumpAccount(ctx, name)
	if errors.Is(err, store.ErrNoSuchAccount) {
		d.addf("account %s: missing in the destination", name)
		return vs, nil
	}
	if err != nil {
		return vs, err
	}
	subj := "account " + name
	same := func(what string, a, b any) bool {
		if fmt.Sprint(a) == fmt.Sprint(b) {
			return true
		}
		d.addf("%s: %s %v in the source, %v in the destination", subj, what, a, b)
		return false
	}
	if sd.PasswordHash != dd.PasswordHash {
		d.addf("%s: the password hashes differ", subj)
	}
	if sd.SCRAMSecret != dd.SCRAMSecret {
		d.addf("%s: the SCRAM verifiers differ", subj)
	}
	same("created", sd.Created.Unix(), dd.Created.Unix())
	same("storage limit", limitText(sd.StorageLimit), limitText(dd.StorageLimit))
	same("message limit", limitText(sd.MessageLimit), limitText(dd.MessageLimit))
	same("subscriptions", sd.Subscriptions, dd.Subscriptions)
	same("UIDVALIDITY floor", sd.UIDValidityFloor, dd.UIDValidityFloor)
	same("retired mailbox names", sd.RetiredNames, dd.RetiredNames)
	dm := make(map[string]store.MailboxDump, len(dd.Mailboxes))
	for _, m := range dd.Mailboxes {
		dm[m.Name] = m
	}
	for _, m := range sd.Mailboxes {
		o, ok := dm[m.Name]
		delete(dm, m.Name)
		subj = "mailbox " + name + "/" + m.Name
		if !ok {
			d.addf("%s: missing in the destination", subj)
			continue
		}
		vs.mailboxes++
		// Not one mailbox (or not in one state) unless all agree: then
		// their messages need not be compared.
		ok = same("MailboxID", m.ID, o.ID)
		ok = same("UIDVALIDITY", m.UIDValidity, o.UIDValidity) && ok
		ok = same("UIDNEXT", m.UIDNext, o.UIDNext) && ok
		ok = same("HIGHESTMODSEQ", m.HighestModSeq, o.HighestModSeq) && ok
		ok = same("special-use", m.SpecialUse, o.SpecialUse) && ok
		ok = same("NoSelect", m.NoSelect, o.NoSelect) && ok
		ok = same("keywords", m.Keywords, o.Keywords) && ok
		ok = same("first \\Recent UID", m.RecentFrom, o.RecentFrom) && ok
		ok = same("renewal on rename", m.RenewOnRename, o.RenewOnRename) && ok
		if !ok || m.NoSelect {
			continue
		}
		ms, err := c.compareMessages(ctx, subj, m.ID, partial, d)
		if err != nil {
			return vs, err
		}
		vs.messages += ms
		es, err := c.compareExpunged(ctx, subj, m.ID, partial, d)
		if err != nil {
			return vs, err
		}
		vs.expunged += es
		if !partial {
			if err := c.compareStatus(ctx, subj, m.ID, d); err != nil {
				return vs, err
			}
		}
	}
	for _, m := range dd.Mailboxes {
		if _, extra := dm[m.Name]; extra {
			d.addf("mailbox %s/%s: in the destination but not in the source", name, m.Name)
		}
	}
	if !partial {
		if err := c.compareUsage(ctx, name, d); err != nil {
			return vs, err
		}
	}
	return vs, nil
}

// limitText shows an own quota limit.
func limitText(v *int64) string {
	if v == nil {
		return "default"
	}
	return limitString(*v)
}

// compareStatus compares the STATUS counters clients see.
func (c *copier) compareStatus(ctx context.Context, subj string, id store.MailboxID, d *limited) error {
	a, err := c.src.Status(ctx, id)
	if err != nil {
		return err
	}
	b, err := c.dst.Status(ctx, id)
	if err != nil {
		return err
	}
	type counters struct {
		Messages, Unseen, Deleted, Recent uint32
		Size, DeletedSize                 int64
	}
	ca := counters{a.Messages, a.Unseen, a.Deleted, a.Recent, a.Size, a.DeletedSize}
	cb := counters{b.Messages, b.Unseen, b.Deleted, b.Recent, b.Size, b.DeletedSize}
	if ca != cb {
		d.addf("%s: STATUS %+v in the source, %+v in the destination", subj, ca, cb)
	}
	return nil
}

// compareUsage compares the account's usage and effective limits (QUOTA).
func (c *copier) compareUsage(ctx context.Context, name string, d *limited) error {
	var us [2]store.QuotaUsage
	for i, st := range []store.Store{c.src, c.dst} {
		a, err := st.Account(ctx, name)
		if err != nil {
			return err
		}
		if us[i], err = st.Quota(ctx, a.ID); err != nil {
			return err
		}
	}
	if us[0] != us[1] {
		d.addf("account %s: quota %+v in the source, %+v in the destination", name, us[0], us[1])
	}
	return nil
}

// pager reads a dump in pages, one item at a time.
type pager[T any] struct {
	fetch func(after store.UID, limit int) ([]T, error)
	uid   func(T) store.UID
	limit int
	buf   []T
	after store.UID
	end   bool
}

// next returns the next item, ok false at the end.
func (p *pager[T]) next() (item T, ok bool, err error) {
	if len(p.buf) == 0 && !p.end {
		if p.buf, err = p.fetch(p.after, p.limit); err != nil {
			return item, false, err
		}
		p.end = len(p.buf) < p.limit
		if n := len(p.buf); n > 0 {
			p.after = p.uid(p.buf[n-1])
		}
	}
	if len(p.buf) == 0 {
		return item, false, nil
	}
	item, p.buf = p.buf[0], p.buf[1:]
	return item, true, nil
}

// compareMessages compares the messages of mailbox id on both sides by
// UID and by a digest of each side's list; it returns how many the
// source has.
func (c *copier) compareMessages(ctx context.Context, subj string, id store.MailboxID, partial bool, d *limited) (int64, error) {
	uid := func(m store.MessageDump) store.UID { return m.UID }
	return compareLists(subj, "message", partial, d,
		&pager[store.MessageDump]{fetch: func(after store.UID, n int) ([]store.MessageDump, error) {
			return c.srcD.DumpMessages(ctx, id, after, n)
		}, uid: uid, limit: c.batch},
		&pager[store.MessageDump]{fetch: func(after store.UID, n int) ([]store.MessageDump, error) {
			return c.dstD.DumpMessages(ctx, id, after, n)
		}, uid: uid, limit: c.batch},
		uid, func(m store.MessageDump) string { return messageText(m.Message) })
}

// compareExpunged is compareMessages for the expunge history.
func (c *copier) compareExpunged(ctx context.Context, subj string, id store.MailboxID, partial bool, d *limited) (int64, error) {
	uid := func(e store.ExpungedUID) store.UID { return e.UID }
	return compareLists(subj, "expunged UID", partial, d,
		&pager[store.ExpungedUID]{fetch: func(after store.UID, n int) ([]store.ExpungedUID, error) {
			return c.srcD.DumpExpunged(ctx, id, after, n)
		}, uid: uid, limit: c.batch * 16},
		&pager[store.ExpungedUID]{fetch: func(after store.UID, n int) ([]store.ExpungedUID, error) {
			return c.dstD.DumpExpunged(ctx, id, after, n)
		}, uid: uid, limit: c.batch * 16},
		uid, func(e store.ExpungedUID) string { return fmt.Sprintf("UID %d MODSEQ %d", e.UID, e.ModSeq) })
}

// compareLists merges two lists in UID order and reports what differs:
// an item on one side only (the source's only are allowed when
// partial), or described differently; and, not partial, the counts and
// SHA-256 digests of the two descriptions. It returns the source's count.
func compareLists[T any](subj, what string, partial bool, d *limited, src, dst *pager[T], uid func(T) store.UID, text func(T) string) (int64, error) {
	hs, hd := sha256.New(), sha256.New()
	var ns, nd int64
	a, okA, err := src.next()
	if err != nil {
		return 0, err
	}
	b, okB, err := dst.next()
	if err != nil {
		return 0, err
	}
	for okA || okB {
		switch {
		case okA && (!okB || uid(a) < uid(b)):
			ns++
			fmt.Fprintln(hs, text(a))
			if !partial {
				d.addf("%s: %s %d missing in the destination", subj, what, uid(a))
			}
			a, okA, err = src.next()
		case okB && (!okA || uid(b) < uid(a)):
			nd++
			fmt.Fprintln(hd, text(b))
			d.addf("%s: %s %d in the destination but not in the source", subj, what, uid(b))
			b, okB, err = dst.next()
		default:
			ns++
			nd++
			ta, tb := text(a), text(b)
			fmt.Fprintln(hs, ta)
			fmt.Fprintln(hd, tb)
			if ta != tb {
				d.addf("%s: %s %d is %s in the source, %s in the destination", subj, what, uid(a), ta, tb)
			}
			a, okA, err = src.next()
			if err == nil {
				b, okB, err = dst.next()
			}
		}
		if err != nil {
			return 0, err
		}
	}
	if !partial && (ns != nd || string(hs.Sum(nil)) != string(hd.Sum(nil))) {
		d.addf("%s: %d %ss with digest %x in the source, %d with digest %x in the destination", subj, ns, what, hs.Sum(nil)[:8], nd, hd.Sum(nil)[:8])
	}
	return ns, nil
}

// messageText describes what a copy keeps of a message: UID, mod-sequence,
// flags, dates (the internal date with its zone), size and content hash.
func messageText(m store.Message) string {
	var flags []string
	for _, f := range []struct {
		bit  store.SysFlags
		name string
	}{{store.FlagSeen, `\Seen`}, {store.FlagAnswered, `\Answered`}, {store.FlagFlagged, `\Flagged`},
		{store.FlagDeleted, `\Deleted`}, {store.FlagDraft, `\Draft`}} {
		if m.Flags.Sys&f.bit != 0 {
			flags = append(flags, f.name)
		}
	}
	flags = append(flags, m.Flags.Keywords...)
	return fmt.Sprintf("UID %d MODSEQ %d FLAGS (%s) INTERNALDATE %s SAVEDATE %s SIZE %d CONTENT %s",
		m.UID, m.ModSeq, strings.Join(flags, " "), m.InternalDate.Format(time.RFC3339), m.SaveDate.UTC().Format(time.RFC3339), m.Size, m.Blob)
}
