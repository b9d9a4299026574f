package migrate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"rookery/internal/imapnum"
	"rookery/internal/ingest"
	"rookery/internal/store"
)

// Defaults of Options.
const (
	// DefaultFetchMessages and DefaultFetchBytes bound one FETCH of
	// contents: that many messages, and about that many bytes by their
	// RFC822.SIZE (a larger message is fetched alone, streamed).
	DefaultFetchMessages = 256
	DefaultFetchBytes    = 16 << 20
	// DefaultAppendMessages and DefaultAppendMem bound one Append (one
	// transaction of the store): that many messages, and about that
	// many bytes of contents and texts held in memory until it.
	DefaultAppendMessages = 500
	DefaultAppendMem      = 32 << 20
	// DefaultRetries is how many times in a row a dropped connection is
	// reconnected without progress in between before the run gives up.
	DefaultRetries = 5
)

// Progress hears how a migration advances; every method may be nil.
type Progress struct {
	// Total is called once, with the number of messages the source's
	// mailboxes hold.
	Total func(messages int64)
	// Add counts messages gone through (copied, found present or
	// failed) and the bytes copied.
	Add func(messages, bytes int64)
	// Mailbox says which source mailbox is being worked on.
	Mailbox func(name string)
	// Line reports a warning worth a line of its own.
	Line func(format string, args ...any)
}

// Options are what Run needs.
type Options struct {
	Store   store.Store
	Account string // the Rookery account (it must exist)
	Source  Source
	// State, when not nil, remembers each source mailbox's
	// UIDVALIDITY and HIGHESTMODSEQ after a complete pass, so that the
	// next run asks a CONDSTORE source only for what changed since.
	// Without it every run compares whole mailboxes (still fetching
	// only the contents the target lacks).
	State    *StateFile
	Log      *slog.Logger // nil: discard
	Progress Progress

	FetchMessages  int
	FetchBytes     int64
	AppendMessages int
	AppendMem      int
	Retries        int
	// Backoff is the first wait before reconnecting (doubled at each
	// failure in a row, at most 30 s); default 1 s.
	Backoff time.Duration
}

// MailboxReport is what a run did with one source mailbox.
type MailboxReport struct {
	Source, Target string
	// SourceCount is the number of messages the source showed.
	SourceCount int
	// Copied were added to the target; Present were there already;
	// Failed could not be copied (Errors says why, the first ones);
	// Vanished were expunged on the source while the run went on.
	Copied, Present, Failed, Vanished int
	// FlagsUpdated are messages present whose flags were set to the
	// source's.
	FlagsUpdated int
	// Unchanged counts messages not compared because the source said
	// (CONDSTORE, with a state file) that they had not changed since
	// the last complete run.
	Unchanged int
	// Err is why the mailbox could not be gone through (nil: it was).
	Err    error
	Errors []string
}

// Complete reports whether every message of the source mailbox is in
// the target.
func (r MailboxReport) Complete() bool { return r.Err == nil && r.Failed == 0 }

// Report is what a run did.
type Report struct {
	Mailboxes []MailboxReport
	// Fetched counts the contents fetched from the source and their
	// bytes; Reconnects the connections made again after a drop.
	Fetched, FetchedBytes int64
	Reconnects            int
}

// Complete reports whether every mailbox is complete.
func (r *Report) Complete() bool {
	for _, m := range r.Mailboxes {
		if !m.Complete() {
			return false
		}
	}
	return true
}

// Totals sums the mailboxes' counts.
func (r *Report) Totals() (source, copied, present, unchanged, failed int) {
	for _, m := range r.Mailboxes {
		source += m.SourceCount
		copied += m.Copied
		present += m.Present
		unchanged += m.Unchanged
		failed += m.Failed
	}
	return
}

// maxErrors bounds the message errors kept per mailbox.
const maxErrors = 10

// storeError is a failure of the target store (or of the state file):
// not a connection drop, never retried by reconnecting.
type storeError struct{ err error }

func (e *storeError) Error() string { return e.err.Error() }
func (e *storeError) Unwrap() error { return e.err }

// Run copies the source account into the Rookery account: every
// mailbox (hierarchy, subscriptions, special-use), and in each the
// messages the target lacks, with their flags, keywords and internal
// dates; the flags of messages present are set to the source's. It
// returns the report and an error when the run stopped before going
// through every mailbox (the report then says how far it went); a
// mailbox that failed alone (a message refused, a mailbox the source
// would not open) is in the report only.
func Run(ctx context.Context, o Options) (*Report, error) {
	o.defaults()
	acct, err := o.Store.Account(ctx, o.Account)
	if err != nil {
		return nil, fmt.Errorf("account %s: %w", o.Account, err)
	}
	r := &run{o: o, acct: acct, rep: &Report{}}
	defer r.close()
	var plan []Planned
	var counts map[string]int
	if err := r.retry(ctx, "list mailboxes", func(c *imapclient.Client) error {
		var err error
		if plan, err = r.plan(ctx, c); err != nil {
			return err
		}
		counts, err = r.count(c, plan)
		return err
	}); err != nil {
		return r.rep, err
	}
	var total int64
	for _, n := range counts {
		total += int64(n)
	}
	if f := o.Progress.Total; f != nil {
		f(total)
	}
	for _, p := range plan {
		mr := MailboxReport{Source: p.Name, Target: p.Target, SourceCount: counts[p.Name]}
		if p.Err != nil {
			mr.Err = p.Err
			r.rep.Mailboxes = append(r.rep.Mailboxes, mr)
			continue
		}
		if f := o.Progress.Mailbox; f != nil {
			f(p.Name)
		}
		err := r.mailbox(ctx, p, &mr)
		r.rep.Mailboxes = append(r.rep.Mailboxes, mr)
		if err != nil {
			return r.rep, fmt.Errorf("mailbox %s: %w", p.Name, err)
		}
	}
	return r.rep, nil
}

func (o *Options) defaults() {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.FetchMessages <= 0 {
		o.FetchMessages = DefaultFetchMessages
	}
	if o.FetchBytes <= 0 {
		o.FetchBytes = DefaultFetchBytes
	}
	if o.AppendMessages <= 0 {
		o.AppendMessages = DefaultAppendMessages
	}
	if o.AppendMem <= 0 {
		o.AppendMem = DefaultAppendMem
	}
	if o.Retries <= 0 {
		o.Retries = DefaultRetries
	}
	if o.Backoff <= 0 {
		o.Backoff = time.Second
	}
}

// run is one Run: its connection, progress and report.
type run struct {
	o    Options
	acct store.Account
	c    *imapclient.Client
	rep  *Report
	// progressed counts messages copied or found by the run: a
	// reconnection after progress starts the retry count again.
	progressed int64
	dialed     int
}

// close logs out (waiting at most a few seconds) and closes the
// connection.
func (r *run) close() {
	if r.c == nil {
		return
	}
	c := r.c
	r.c = nil
	done := make(chan struct{})
	go func() {
		_ = c.Logout().Wait()
		close(done)
	}()
	t := time.NewTimer(5 * time.Second)
	select {
	case <-done:
	case <-t.C:
	}
	t.Stop()
	c.Close()
}

// retry runs fn on a connection to the source, connecting first when
// there is none (failing at once if the first connection of the run
// fails), and again after a dropped connection (any failure that
// is neither a server's NO or BAD, nor the store's, nor a refused
// login), with backoff, until fn succeeds or o.Retries attempts in a
// row make no progress.
func (r *run) retry(ctx context.Context, what string, fn func(*imapclient.Client) error) error {
	fails := 0
	for {
		mark := r.progressed
		err := r.connect(ctx)
		if err != nil && r.dialed == 0 {
			// The first connection: a wrong address or a server
			// down is said at once, not after the retries.
			return err
		}
		if err == nil {
			if err = fn(r.c); err == nil {
				return nil
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !retryable(err) {
			return err
		}
		if r.c != nil {
			r.c.Close()
			r.c = nil
		}
		if r.progressed > mark {
			fails = 0
		}
		fails++
		if fails > r.o.Retries {
			return fmt.Errorf("%s: %d attempts in a row failed, the last: %w", what, fails, err)
		}
		wait := min(r.o.Backoff<<(fails-1), 30*time.Second)
		r.o.Log.Warn("source connection lost, reconnecting", "source", r.o.Source.String(), "during", what, "attempt", fails, "wait", wait, "err", err)
		if f := r.o.Progress.Line; f != nil {
			f("%s: connection lost (%v); reconnecting in %v", what, err, wait)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

func (r *run) connect(ctx context.Context) error {
	if r.c != nil {
		return nil
	}
	c, err := r.o.Source.dial(ctx)
	if err != nil {
		return err
	}
	r.c = c
	if r.dialed > 0 {
		r.rep.Reconnects++
	}
	r.dialed++
	return nil
}

// retryable reports whether err may be a dropped connection.
func retryable(err error) bool {
	var se *storeError
	return !isIMAPError(err) && !errors.As(err, &se) && !errors.Is(err, errAuth) &&
		!errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
}

// isIMAPError reports whether err is a server's NO or BAD answer.
func isIMAPError(err error) bool {
	var ie *imap.Error
	return errors.As(err, &ie) && ie.Type != imap.StatusResponseTypeBye
}

// plan lists the source's mailboxes, plans them onto the account and
// creates the target mailboxes and subscriptions.
func (r *run) plan(ctx context.Context, c *imapclient.Client) ([]Planned, error) {
	caps := c.Caps()
	ext := caps.Has(imap.CapListExtended) || caps.Has(imap.CapIMAP4rev2)
	var opts *imap.ListOptions
	if ext {
		opts = &imap.ListOptions{ReturnSubscribed: true}
		if caps.Has(imap.CapSpecialUse) {
			opts.ReturnSpecialUse = true
		}
	}
	list, err := c.List("", "*", opts).Collect()
	if err != nil {
		return nil, fmt.Errorf("LIST: %w", err)
	}
	if !ext && r.o.Progress.Line != nil {
		r.o.Progress.Line("the source has no LIST-EXTENDED: its subscriptions are unknown, every mailbox copied is subscribed")
	}
	var src []SourceMailbox
	for _, l := range list {
		m := SourceMailbox{Name: l.Mailbox, Delim: l.Delim, Subscribed: !ext}
		for _, a := range l.Attrs {
			switch {
			case strings.EqualFold(string(a), string(imap.MailboxAttrNoSelect)), strings.EqualFold(string(a), string(imap.MailboxAttrNonExistent)):
				m.NoSelect = true
			case strings.EqualFold(string(a), string(imap.MailboxAttrSubscribed)):
				m.Subscribed = true
			default:
				if su, ok := store.SpecialUse(string(a)); ok {
					m.SpecialUse = su
				}
			}
		}
		if m.NoSelect {
			continue // its children create it as a parent
		}
		src = append(src, m)
	}
	sort.Slice(src, func(i, j int) bool { return src[i].Name < src[j].Name })
	tgt, err := r.o.Store.Mailboxes(ctx, r.acct.ID)
	if err != nil {
		return nil, &storeError{fmt.Errorf("list target mailboxes: %w", err)}
	}
	plan := Plan(src, tgt)
	have := map[string]store.Mailbox{}
	for _, m := range tgt {
		have[m.Name] = m
	}
	for i := range plan {
		p := &plan[i]
		if p.Err != nil {
			continue
		}
		if m, ok := have[p.Target]; !ok || m.NoSelect {
			if _, err := r.o.Store.CreateMailbox(ctx, r.acct.ID, p.Target, p.TargetSpecialUse); err != nil {
				if errors.Is(err, store.ErrUnavailable) {
					return nil, &storeError{fmt.Errorf("create mailbox %s: %w", p.Target, err)}
				}
				p.Err = fmt.Errorf("create mailbox %s: %w", p.Target, err)
				continue
			}
		}
		if p.Subscribed {
			if err := r.o.Store.SetSubscribed(ctx, r.acct.ID, p.Target, true); err != nil {
				r.o.Log.Warn("subscribe", "mailbox", p.Target, "err", err)
				if f := r.o.Progress.Line; f != nil {
					f("%s: cannot subscribe: %v", p.Target, err)
				}
			}
		}
	}
	return plan, nil
}

// count asks the source how many messages each mailbox holds (for the
// progress total and the report).
func (r *run) count(c *imapclient.Client, plan []Planned) (map[string]int, error) {
	out := map[string]int{}
	for _, p := range plan {
		if p.Err != nil {
			continue
		}
		d, err := c.Status(p.Name, &imap.StatusOptions{NumMessages: true}).Wait()
		if err != nil {
			if isIMAPError(err) {
				continue // reported when the mailbox is opened
			}
			return nil, err
		}
		if d.NumMessages != nil {
			out[p.Name] = int(*d.NumMessages)
		}
	}
	return out, nil
}

// mailbox goes through one source mailbox, reconnecting as needed. It
// returns an error only for what stops the whole run (the store, the
// connection beyond its retries, ctx); a mailbox the source refuses is
// reported in mr.
func (r *run) mailbox(ctx context.Context, p Planned, mr *MailboxReport) error {
	tm, err := r.o.Store.Mailbox(ctx, r.acct.ID, p.Target)
	if err != nil {
		return &storeError{fmt.Errorf("target mailbox %s: %w", p.Target, err)}
	}
	// Messages with a UID from here on were copied by this run: found
	// again after a reconnection they are not "present".
	floor := tm.UIDNext
	err = r.retry(ctx, "mailbox "+p.Name, func(c *imapclient.Client) error {
		return r.syncMailbox(ctx, c, p, tm, floor, mr)
	})
	if err != nil && isIMAPError(err) {
		mr.Err = err
		return nil
	}
	if err != nil {
		mr.Err = err
	}
	return err
}

// syncMailbox is one attempt at a mailbox: the counts of mr other than
// Copied are those of the attempt.
func (r *run) syncMailbox(ctx context.Context, c *imapclient.Client, p Planned, tm store.Mailbox, floor store.UID, mr *MailboxReport) error {
	mr.Present, mr.Failed, mr.Vanished, mr.FlagsUpdated, mr.Unchanged, mr.Errors = 0, 0, 0, 0, 0, nil
	condstore := c.Caps().Has(imap.CapCondStore) || c.Caps().Has(imap.CapQResync)
	sel, err := c.Select(p.Name, &imap.SelectOptions{ReadOnly: true, CondStore: condstore}).Wait()
	if err != nil {
		return fmt.Errorf("EXAMINE: %w", err)
	}
	mr.SourceCount = int(sel.NumMessages)
	var since uint64
	if r.o.State != nil && condstore && sel.HighestModSeq > 0 {
		if st, ok := r.o.State.Get(p.Name); ok && st.UIDValidity == sel.UIDValidity && st.TargetUIDValidity == tm.UIDValidity {
			if st.HighestModSeq == sel.HighestModSeq {
				mr.Unchanged = int(sel.NumMessages)
				r.add(int64(mr.Unchanged), 0)
				return nil
			}
			since = st.HighestModSeq
		}
	}
	var src []SourceMessage
	if sel.NumMessages > 0 {
		if src, err = sourceMessages(c, since); err != nil {
			return err
		}
	}
	if since > 0 {
		mr.Unchanged = max(0, mr.SourceCount-len(src))
		r.add(int64(mr.Unchanged), 0)
	}
	tgt, err := r.targetMessages(ctx, tm.ID)
	if err != nil {
		return err
	}
	pairs, fetch, matcher := Match(src, tgt)
	var fresh []Pair
	for _, pr := range pairs {
		if pr.Target.UID < floor {
			fresh = append(fresh, pr)
		}
	}
	mr.Present += len(fresh)
	r.add(int64(len(fresh)), 0)
	if err := r.updateFlags(ctx, tm.ID, pairs, mr); err != nil {
		return err
	}
	if err := r.copyMessages(ctx, c, tm.ID, fetch, matcher, floor, mr); err != nil {
		return err
	}
	if r.o.State != nil && condstore && sel.HighestModSeq > 0 && mr.Failed == 0 {
		r.o.State.Set(p.Name, MailboxState{UIDValidity: sel.UIDValidity, HighestModSeq: sel.HighestModSeq, TargetUIDValidity: tm.UIDValidity})
		if err := r.o.State.Save(); err != nil {
			return &storeError{err} // a local failure: not retried
		}
	}
	return nil
}

func (r *run) add(n, bytes int64) {
	r.progressed += n
	if f := r.o.Progress.Add; f != nil && n > 0 {
		f(n, bytes)
	}
}

// sourceMessages fetches the metadata of the selected mailbox's
// messages (those changed after since when since > 0), streamed.
func sourceMessages(c *imapclient.Client, since uint64) ([]SourceMessage, error) {
	cmd := c.Fetch(imap.UIDSet{imap.UIDRange{Start: 1, Stop: 0}}, &imap.FetchOptions{
		UID: true, Flags: true, RFC822Size: true, InternalDate: true, ChangedSince: since})
	var out []SourceMessage
	for {
		msg := cmd.Next()
		if msg == nil {
			break
		}
		b, err := msg.Collect()
		if err != nil {
			c.Close() // not cmd.Close: see fetchChunk
			return nil, fmt.Errorf("FETCH metadata: %w", err)
		}
		if b.UID == 0 {
			continue
		}
		flags := make([]string, len(b.Flags))
		for i, f := range b.Flags {
			flags[i] = string(f)
		}
		out = append(out, SourceMessage{UID: uint32(b.UID), Size: b.RFC822Size, InternalDate: b.InternalDate, Flags: FlagsFromIMAP(flags)})
	}
	if err := cmd.Close(); err != nil {
		return nil, fmt.Errorf("FETCH metadata: %w", err)
	}
	return out, nil
}

// targetMessages lists the target mailbox's messages.
func (r *run) targetMessages(ctx context.Context, id store.MailboxID) ([]TargetMessage, error) {
	var out []TargetMessage
	err := r.o.Store.Fetch(ctx, id, imapnum.Set{{Start: 1, Stop: 1<<32 - 1}}, func(m store.Message) error {
		out = append(out, TargetMessage{UID: m.UID, Size: m.Size, InternalDate: m.InternalDate, Flags: m.Flags, Blob: m.Blob})
		return nil
	})
	if err != nil {
		return nil, &storeError{fmt.Errorf("list target messages: %w", err)}
	}
	return out, nil
}

// updateFlags sets the flags of the paired target messages whose flags
// differ from the source's, one StoreFlags per distinct flag set.
func (r *run) updateFlags(ctx context.Context, id store.MailboxID, pairs []Pair, mr *MailboxReport) error {
	groups := map[string][]uint32{}
	flagsOf := map[string]store.Flags{}
	for _, p := range pairs {
		if store.SameFlags(p.Source.Flags, p.Target.Flags) {
			continue
		}
		k := flagsKey(p.Source.Flags)
		groups[k] = append(groups[k], p.Target.UID)
		flagsOf[k] = p.Source.Flags
	}
	keys := make([]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		uids := groups[k]
		sort.Slice(uids, func(i, j int) bool { return uids[i] < uids[j] })
		res, err := r.o.Store.StoreFlags(ctx, id, imapnum.Compact(uids), store.FlagsReplace, flagsOf[k], 0)
		if err != nil {
			if errors.Is(err, store.ErrTooManyKeywords) || errors.Is(err, store.ErrKeywordTooLong) {
				mr.noteError(fmt.Sprintf("flags %s on %d messages: %v", k, len(uids), err))
				continue
			}
			return &storeError{fmt.Errorf("set flags: %w", err)}
		}
		mr.FlagsUpdated += len(res.Updated)
	}
	return nil
}

func flagsKey(f store.Flags) string {
	return fmt.Sprintf("%d %s", f.Sys, strings.Join(f.Keywords, " "))
}

func (mr *MailboxReport) noteError(s string) {
	if len(mr.Errors) < maxErrors {
		mr.Errors = append(mr.Errors, s)
	}
}

// copyMessages fetches the contents of msgs (UID order) in bounded
// FETCHes, streams each into the store, and appends those the target
// does not hold in batches (one transaction each).
func (r *run) copyMessages(ctx context.Context, c *imapclient.Client, id store.MailboxID, msgs []SourceMessage, m *Matcher, floor store.UID, mr *MailboxReport) (err error) {
	b := &batch{r: r, id: id, mr: mr}
	defer func() {
		if werr := b.wait(); werr != nil && (err == nil || retryable(err)) {
			err = werr // the store's failure outranks a dropped connection
		}
	}()
	for start := 0; start < len(msgs); {
		end, bytes := start, int64(0)
		for end < len(msgs) && end-start < r.o.FetchMessages && (end == start || bytes+msgs[end].Size <= r.o.FetchBytes) {
			bytes += msgs[end].Size
			end++
		}
		if err := r.fetchChunk(ctx, c, msgs[start:end], m, floor, b); err != nil {
			if retryable(err) {
				// Keep what arrived whole before the drop.
				if ferr := b.flush(ctx); ferr != nil {
					return ferr
				}
			}
			return err
		}
		if err := b.flush(ctx); err != nil {
			return err
		}
		start = end
	}
	return nil
}

// fetchChunk fetches the contents of chunk in one UID FETCH.
func (r *run) fetchChunk(ctx context.Context, c *imapclient.Client, chunk []SourceMessage, m *Matcher, floor store.UID, b *batch) error {
	byUID := make(map[uint32]SourceMessage, len(chunk))
	var set imap.UIDSet
	for _, s := range chunk {
		byUID[s.UID] = s
		set.AddNum(imap.UID(s.UID))
	}
	cmd := c.Fetch(set, &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{{Peek: true}}})
	// After a failed read of a literal the client must not be read
	// again (it goes on decoding on its own): it is closed instead of
	// the command, and retry reconnects.
	broken, closed := false, false
	defer func() {
		if broken {
			c.Close()
		} else if !closed {
			cmd.Close()
		}
	}()
	for {
		msg := cmd.Next()
		if msg == nil {
			break
		}
		var uid uint32
		var ref store.BlobRef
		var got, nilBody bool
		var size int64
		for {
			item := msg.Next()
			if item == nil {
				break
			}
			switch it := item.(type) {
			case imapclient.FetchItemDataUID:
				uid = uint32(it.UID)
			case imapclient.FetchItemDataBodySection:
				if it.Literal == nil {
					nilBody = true
					continue
				}
				size = it.Literal.Size()
				lr := &trackedReader{r: it.Literal}
				var err error
				ref, err = ingest.Write(ctx, r.o.Store, lr, -1, r.o.Log)
				if err != nil {
					if ctx.Err() != nil {
						broken = true
						return ctx.Err()
					}
					// A read of the literal that failed is the
					// connection; a store failure is the store's.
					if lr.err != nil {
						broken = true
						return fmt.Errorf("FETCH content of UID %d: %w", uid, lr.err)
					}
					return &storeError{fmt.Errorf("store content: %w", err)}
				}
				if lr.n != size {
					broken = true
					return fmt.Errorf("FETCH content of UID %d: %d bytes of %d: %w", uid, lr.n, size, io.ErrUnexpectedEOF)
				}
				got = true
			}
		}
		s, ok := byUID[uid]
		if !ok {
			continue // an unsolicited FETCH (a flag change)
		}
		delete(byUID, uid)
		if !got {
			b.mr.Failed++
			b.mr.noteError(fmt.Sprintf("UID %d: the source sent no content (nil body: %v)", uid, nilBody))
			r.add(1, 0)
			continue
		}
		r.rep.Fetched++
		r.rep.FetchedBytes += size
		if pr, ok := m.Claim(s, ref.ID); ok {
			if pr.Target.UID < floor {
				b.mr.Present++
				r.add(1, 0)
			}
			if err := r.updateFlags(ctx, b.id, []Pair{pr}, b.mr); err != nil {
				return err
			}
			continue
		}
		if err := b.add(ctx, s, ref); err != nil {
			return err
		}
	}
	closed = true
	if err := cmd.Close(); err != nil {
		return fmt.Errorf("FETCH content: %w", err)
	}
	// What the source did not send was expunged meanwhile.
	b.mr.Vanished += len(byUID)
	r.add(int64(len(byUID)), 0)
	return nil
}

// trackedReader remembers a read failure of the source (io.EOF is the
// literal's end) and counts the bytes read.
type trackedReader struct {
	r   io.Reader
	n   int64
	err error
}

func (t *trackedReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	t.n += int64(n)
	if err != nil && err != io.EOF {
		t.err = err
	}
	return n, err
}

// batch gathers messages for one Append. While one batch commits (in
// its own goroutine), the next is fetched: the source and the store
// work at the same time. At most one commit is in flight, so at most
// two batches are held in memory.
type batch struct {
	r        *run
	id       store.MailboxID
	mr       *MailboxReport
	msgs     []store.NewMessage
	srcs     []SourceMessage
	mem      int
	inflight chan commitResult // nil when no commit runs
}

// commitResult is what a commit did: refused holds the messages the
// store refused for what they carry (their index in msgs).
type commitResult struct {
	msgs    []store.NewMessage
	srcs    []SourceMessage
	refused map[int]error
	err     error
}

func (b *batch) add(ctx context.Context, s SourceMessage, ref store.BlobRef) error {
	b.msgs = append(b.msgs, store.NewMessage{Blob: ref, Flags: s.Flags, InternalDate: s.InternalDate})
	b.srcs = append(b.srcs, s)
	b.mem += ref.MemSize()
	if len(b.msgs) >= b.r.o.AppendMessages || b.mem >= b.r.o.AppendMem {
		return b.flush(ctx)
	}
	return nil
}

// flush waits for the commit in flight, then starts committing the
// batch.
func (b *batch) flush(ctx context.Context) error {
	if err := b.wait(); err != nil {
		return err
	}
	if len(b.msgs) == 0 {
		return nil
	}
	msgs, srcs := b.msgs, b.srcs
	b.msgs, b.srcs, b.mem = nil, nil, 0
	ch := make(chan commitResult, 1)
	b.inflight = ch
	st, id := b.r.o.Store, b.id
	go func() { ch <- commit(ctx, st, id, msgs, srcs) }()
	return nil
}

// wait waits for the commit in flight, if any, and counts what it did.
func (b *batch) wait() error {
	if b.inflight == nil {
		return nil
	}
	res := <-b.inflight
	b.inflight = nil
	var bytes int64
	copied := 0
	for i, m := range res.msgs {
		if err, ok := res.refused[i]; ok {
			b.mr.Failed++
			b.mr.noteError(fmt.Sprintf("UID %d: %v", res.srcs[i].UID, err))
			b.r.add(1, 0)
			continue
		}
		copied++
		bytes += m.Blob.Size
	}
	b.mr.Copied += copied
	b.r.add(int64(copied), bytes)
	return res.err
}

// commit appends msgs in one transaction; when the store refuses them
// for what a message carries (keywords beyond the limits, size, quota),
// each message is appended alone so that only those fail.
func commit(ctx context.Context, st store.Store, id store.MailboxID, msgs []store.NewMessage, srcs []SourceMessage) commitResult {
	res := commitResult{msgs: msgs, srcs: srcs}
	_, err := st.Append(ctx, id, msgs)
	if err == nil {
		return res
	}
	if !refusesMessage(err) {
		res.err = &storeError{fmt.Errorf("append %d messages: %w", len(msgs), err)}
		return res
	}
	res.refused = map[int]error{}
	for i := range msgs {
		if _, err := st.Append(ctx, id, msgs[i:i+1]); err != nil {
			if !refusesMessage(err) {
				// Those before i are in; count them, not the rest.
				res.msgs, res.srcs = msgs[:i], srcs[:i]
				res.err = &storeError{fmt.Errorf("append: %w", err)}
				return res
			}
			res.refused[i] = err
		}
	}
	return res
}

// refusesMessage reports whether an Append failed for what its messages
// are rather than for the store's state.
func refusesMessage(err error) bool {
	return errors.Is(err, store.ErrTooManyKeywords) || errors.Is(err, store.ErrKeywordTooLong) ||
		errors.Is(err, store.ErrTooBig) || errors.Is(err, store.ErrOverQuota)
}
