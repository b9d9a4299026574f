package cli

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"slices"
	"strings"
	"time"

	"rookery/internal/archive"
	"rookery/internal/archive/emldir"
	"rookery/internal/archive/emlexport"
	"rookery/internal/archive/maildir"
	"rookery/internal/archive/mbox"
	"rookery/internal/imapnum"
	"rookery/internal/ingest"
	"rookery/internal/store"
)

const importUsage = `Usage:
  rookery import USER SRC [--mailbox-prefix P] [--keep-going] [--mboxo]
                 [--data DIR | --config FILE]

Imports the mailboxes of SRC into account USER (which must exist). SRC is
recognised by its content:
  - an export of "rookery export --format eml" (a directory with
    manifest.json): everything it keeps is restored.
  - a Maildir++ tree (a directory with cur/ and new/, or with ".A.B"
    folders): Dovecot's, Courier's, or one of "rookery export --format
    maildir". Flags come from the file names, keywords from
    dovecot-keywords, UIDVALIDITY, UIDNEXT and UIDs from dovecot-uidlist,
    subscriptions from the "subscriptions" file (Courier's
    courierimapsubscribed otherwise); the internal date is the file's
    time (to the second, in UTC). Files with LF line ends (as Dovecot
    keeps them) are stored with CRLF, as Dovecot serves them over IMAP.
  - an mbox file, or a directory of them (files named *.mbox, or without
    a "." that start with "From "; Thunderbird's "A.sbd" directories hold
    A's children): flags from the Status, X-Status and X-Keywords headers
    (which stay in the message), the internal date from the "From " line
    (UTC unless it carries a zone), LF line ends stored as CRLF, "From "
    quoting undone as mboxrd (one ">" off every ">...>From " line), or
    with --mboxo as mboxo (only ">From " lines). A file of "rookery export
    --format mbox" gives back each message byte for byte with its internal
    date and zone.
  - a folder of .eml files (each subfolder a mailbox): no flags; the
    internal date is the Date header, else the file's time.

Every message keeps its content, flags, keywords and internal date as SRC
has them. A mailbox of the same name is used when the account has one;
otherwise a special-use mailbox (said so by SRC, or known by its name: Sent,
Sent Items, Drafts, Trash, Deleted Items, Junk, Spam, Archive...) goes into
the account's mailbox of that special use when there is one, and else is
created. With --mailbox-prefix P every mailbox goes under P ("P/INBOX",
"P/Sent"...), created without special use. A mailbox the import creates
(or restores) gets SRC's subscription; one the account had is subscribed
to when SRC's is, never unsubscribed.

When SRC keeps UIDVALIDITY and UIDs (an eml export, a Maildir with
dovecot-uidlist) and the target mailbox does not exist yet or has never
held a message (as a new account's INBOX, Sent...), the mailbox is restored
with its UIDVALIDITY, UIDs, UIDNEXT and HIGHESTMODSEQ, so that mail clients
keep their caches (a Maildir keeps no mod-sequences: its messages get
mod-sequence 1); when the account's UIDVALIDITY rules forbid that value for
that name, it gets new UIDs. So does a Maildir folder whose dovecot-uidlist
does not list every file (mail delivered since Dovecot last looked at it;
"doveadm force-resync" makes Dovecot list them): the summary says so.

Running the same import again adds nothing twice: in a restored mailbox a
UID already there is skipped; elsewhere a message is skipped when the
mailbox holds one with the same content (SHA-256) and the same internal
date (any date, when SRC keeps none for it). An interrupted import is
completed by running it again.

Import obeys the account's quota: it stops with an error when the next
messages would exceed it (raise it with "rookery user quota" and run the
import again).

A message that cannot be read, does not match its manifest entry or is
not a message (a Maildir file that is no message, an mbox message cut
short) is reported with its path (for mbox, the file and the byte offset
of its "From " line): the import stops there (what was imported stays),
or, with --keep-going, skips it and goes on. A summary
per mailbox (found, imported, already present, failed) ends the run.

Exit codes: 0 everything imported (or present already), 1 the import
stopped (an error, or a bad message without --keep-going), 2 usage error,
3 finished with --keep-going but some messages failed.
`

// exitPartial is import's exit code for a run that finished with
// --keep-going but skipped bad messages.
const exitPartial = 3

// Import batches: messages per Append or RestoreMessages (one
// transaction), and about how many bytes of contents and texts a batch
// holds in memory.
const (
	importBatch    = 512
	importBatchMem = 32 << 20
)

// importOpeners are the formats `rookery import` reads, tried in order:
// each returns archive.ErrNotArchive for a path not of its format. mbox
// files are read with the quoting d.
func importOpeners(d mbox.Dialect) []func(path string) (archive.Reader, error) {
	return []func(string) (archive.Reader, error){
		// Ours first: an export is also a folder of .eml files.
		emlexport.Open,
		maildir.Open,
		func(path string) (archive.Reader, error) { return mbox.OpenDialect(path, d) },
		emldir.Open,
	}
}

// openArchive opens src with the first opener that recognises it.
func openArchive(src string, openers []func(string) (archive.Reader, error)) (archive.Reader, error) {
	for _, open := range openers {
		r, err := open(src)
		if errors.Is(err, archive.ErrNotArchive) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return r, nil
	}
	return nil, fmt.Errorf("%s is not an archive rookery can import (an eml export of rookery export, a Maildir, an mbox file or a directory of them, or a folder of .eml files)", src)
}

func runImport(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "import", importUsage)
	var f userFlags
	var prefix string
	var keepGoing, mboxo bool
	fs.StringVar(&f.data, "data", "", "data directory")
	fs.StringVar(&f.config, "config", "", "configuration file (data_dir or store.dsn)")
	fs.StringVar(&prefix, "mailbox-prefix", "", "put every mailbox under this one")
	fs.BoolVar(&keepGoing, "keep-going", false, "skip bad messages (reported) instead of stopping")
	fs.BoolVar(&mboxo, "mboxo", false, `read mbox files as mboxo (only ">From " lines unquoted)`)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return flagResult(err)
	}
	if len(pos) != 2 {
		return e.usagef(importUsage, "import: want USER and SRC")
	}
	if prefix != "" {
		p, err := store.CanonicalMailboxName(strings.TrimSuffix(prefix, "/"))
		if err != nil {
			return e.usagef(importUsage, "import: --mailbox-prefix: %v", err)
		}
		prefix = p
	}
	cfg, err := f.loadExistingConfig()
	if err != nil {
		return e.errorf("%v", err)
	}
	dialect := mbox.MBOXRD
	if mboxo {
		dialect = mbox.MBOXO
	}
	r, err := openArchive(pos[1], importOpeners(dialect))
	if err != nil {
		return e.errorf("import: %v", err)
	}
	defer r.Close()
	st, closeStore, err := openAdminStore(ctx, e, cfg)
	if err != nil {
		return e.errorf("%v", err)
	}
	defer closeStore()
	im, err := newImporter(st.Store, st.log, prefix, keepGoing)
	if err != nil {
		return e.errorf("import: %v", err)
	}
	return im.main(ctx, e, pos[0], pos[1], r)
}

// importer imports an archive into one account.
type importer struct {
	st        store.Store
	rs        store.Restorer
	log       *slog.Logger
	prefix    string
	keepGoing bool
	prog      *progress
	out       io.Writer // reports of bad messages and mailboxes (stderr)

	batch, batchMem int // importBatch, importBatchMem (tests make them small)
	acct            store.Account
	now             func() time.Time
}

func newImporter(st store.Store, log *slog.Logger, prefix string, keepGoing bool) (*importer, error) {
	rs, ok := st.(store.Restorer)
	if !ok {
		return nil, errors.New("the store cannot restore mailboxes")
	}
	return &importer{st: st, rs: rs, log: log, prefix: prefix, keepGoing: keepGoing, batch: importBatch, batchMem: importBatchMem,
		prog: newProgress(io.Discard, 0, 0), out: io.Discard, now: time.Now}, nil
}

// importStats is what an import did in one mailbox of the archive.
type importStats struct {
	source, target           string
	found, imported, present int
	failed                   int
	restored                 bool // UIDVALIDITY and UIDs kept
	note                     string
}

// errStop is an import stopped at a bad message (without --keep-going),
// reported already.
var errStop = errors.New("stopped at a bad message")

func (im *importer) main(ctx context.Context, e *env, user, src string, r archive.Reader) int {
	im.out = e.stderr
	acct, err := im.st.Account(ctx, user)
	if err != nil {
		return e.errorf("import into %s: %v", user, err)
	}
	im.acct = acct
	mbs, err := r.Mailboxes(ctx)
	if err != nil {
		return e.errorf("import: %s: %v", src, err)
	}
	var total, totalBytes int64
	if t, ok := r.(interface{ Manifest() *emlexport.Manifest }); ok {
		for _, mb := range t.Manifest().Mailboxes {
			total += int64(len(mb.Messages))
			for _, m := range mb.Messages {
				totalBytes += m.Size
			}
		}
	}
	im.prog = newProgress(e.stderr, total, totalBytes)
	im.prog.linef("importing %s into %s: %d mailboxes", src, acct.Name, len(mbs))
	var all []importStats
	code := ExitOK
	for _, mb := range mbs {
		s, err := im.mailbox(ctx, r, mb)
		all = append(all, s)
		if errors.Is(err, errStop) {
			code = ExitFailure
			break
		}
		if err != nil {
			im.prog.linef("rookery: import %s into %s: %v", mb.Name, s.target, err)
			code = ExitFailure
			break
		}
	}
	im.prog.step("waiting for the search index")
	if err := im.st.WaitIndexed(ctx); err != nil && code == ExitOK {
		im.prog.linef("rookery: import: %v", err)
		code = ExitFailure
	}
	im.prog.finish()
	var sum importStats
	fmt.Fprintf(e.stdout, "%-30s %-30s %8s %8s %8s %8s\n", "mailbox", "into", "found", "imported", "present", "failed")
	for _, s := range all {
		into := s.target
		if s.restored {
			into += " (UIDs kept)"
		}
		fmt.Fprintf(e.stdout, "%-30s %-30s %8d %8d %8d %8d\n", s.source, into, s.found, s.imported, s.present, s.failed)
		if s.note != "" {
			fmt.Fprintf(e.stdout, "  %s\n", s.note)
		}
		sum.found += s.found
		sum.imported += s.imported
		sum.present += s.present
		sum.failed += s.failed
	}
	fmt.Fprintf(e.stdout, "%-30s %-30s %8d %8d %8d %8d\n", "total", "", sum.found, sum.imported, sum.present, sum.failed)
	if code == ExitOK && sum.failed > 0 {
		code = exitPartial
	}
	switch code {
	case ExitFailure:
		fmt.Fprintf(e.stderr, "rookery: import stopped: what was imported stays; run the same command again to complete it once the cause is fixed\n")
	case exitPartial:
		fmt.Fprintf(e.stderr, "rookery: import finished, but %d messages failed (listed above)\n", sum.failed)
	}
	return code
}

// targetName is the mailbox of the account that the archive's mailbox
// name goes into, without the special-use mapping.
func (im *importer) targetName(name string) (string, error) {
	if im.prefix != "" {
		name = im.prefix + "/" + name
	}
	return store.CanonicalMailboxName(name)
}

// specialUse is the special use of an archive's mailbox: the archive's
// (when a store keeps it), else known by its name.
func specialUse(mb archive.Mailbox) string {
	if su, ok := store.SpecialUse(mb.SpecialUse); ok {
		return su
	}
	if mb.SpecialUse != "" {
		return ""
	}
	return archive.SpecialUseByName(mb.Name)
}

// mailbox imports one mailbox of the archive.
func (im *importer) mailbox(ctx context.Context, r archive.Reader, mb archive.Mailbox) (importStats, error) {
	s := importStats{source: mb.Name}
	name, err := im.targetName(mb.Name)
	if err != nil {
		s.target = mb.Name
		return s, fmt.Errorf("mailbox name %q: %w", mb.Name, err)
	}
	s.target = name
	im.prog.step(mb.Name)
	su := ""
	if im.prefix == "" {
		su = specialUse(mb)
	}
	mbs, err := im.st.Mailboxes(ctx, im.acct.ID)
	if err != nil {
		return s, err
	}
	i := slices.IndexFunc(mbs, func(m store.Mailbox) bool { return m.Name == name })
	if i < 0 && su != "" {
		// Mapped onto the account's mailbox of that special use.
		if j := slices.IndexFunc(mbs, func(m store.Mailbox) bool { return m.SpecialUse == su && !m.NoSelect }); j >= 0 {
			i, name = j, mbs[j].Name
			s.target = name
		}
	}
	var target store.Mailbox
	exists := i >= 0
	if exists {
		target = mbs[i]
	}

	restore := false
	var plan restorePlan
	if mb.UIDValidity != 0 {
		if plan, err = im.planRestore(ctx, r, mb); err != nil {
			return s, err
		}
		switch {
		case !plan.ok:
			s.note = fmt.Sprintf("UIDVALIDITY %d not kept: some messages have no UID in the archive (a Maildir file dovecot-uidlist does not list): new UIDs", mb.UIDValidity)
		case !exists || target.NoSelect || target.UIDNext == 1:
			d := store.MailboxDump{Mailbox: store.Mailbox{Name: name, UIDValidity: mb.UIDValidity, UIDNext: plan.uidNext,
				HighestModSeq: plan.highestModSeq, SpecialUse: su}, Keywords: mb.Keywords}
			if exists && !target.NoSelect && target.SpecialUse != "" {
				d.SpecialUse = target.SpecialUse // the account's, kept
			}
			m, err := im.rs.RestoreMailbox(ctx, im.acct.ID, d)
			switch {
			case err == nil:
				target, exists, restore = m, true, true
			case errors.Is(err, store.ErrRestoreConflict), errors.Is(err, store.ErrMailboxExists):
				s.note = fmt.Sprintf("UIDVALIDITY %d not kept (%v): new UIDs", mb.UIDValidity, err)
				if target, err = im.st.Mailbox(ctx, im.acct.ID, name); err == nil {
					exists = true
				} else if !errors.Is(err, store.ErrNoSuchMailbox) {
					return s, err
				}
			default:
				return s, err
			}
		case target.UIDValidity == mb.UIDValidity && target.HighestModSeq == plan.highestModSeq:
			// Restored by an earlier run and unchanged since: complete it.
			restore, plan.rerun = true, true
		}
	}
	created := restore && !plan.rerun
	if !exists || target.NoSelect {
		if target, err = im.st.CreateMailbox(ctx, im.acct.ID, name, su); err != nil {
			return s, err
		}
		created = true
	}
	// A mailbox this run made gets the archive's subscription; one the
	// account had is subscribed to when the archive's is, never
	// unsubscribed.
	if mb.Subscribed || created {
		if err := im.st.SetSubscribed(ctx, im.acct.ID, name, mb.Subscribed); err != nil {
			return s, err
		}
	}
	s.restored = restore
	if restore {
		err = im.restoreMessages(ctx, r, mb, target, plan, &s)
	} else {
		err = im.appendMessages(ctx, r, mb, target, &s)
	}
	if !im.prog.bar {
		im.prog.linef("%s → %s: %d found, %d imported, %d present, %d failed", s.source, s.target, s.found, s.imported, s.present, s.failed)
	}
	return s, err
}

// restorePlan is what a mailbox restored with its UIDs gets.
type restorePlan struct {
	ok            bool // every message has a UID, in increasing order
	rerun         bool // the mailbox was restored by an earlier run
	uidNext       store.UID
	highestModSeq store.ModSeq
	modSeqs       map[uint32]uint64 // per UID, when the archive keeps them
}

// planRestore reads the UIDs (metadata only) of mb to decide whether
// its UIDs can be kept, and with which UIDNEXT and HIGHESTMODSEQ.
func (im *importer) planRestore(ctx context.Context, r archive.Reader, mb archive.Mailbox) (restorePlan, error) {
	p := restorePlan{ok: true, uidNext: max(mb.UIDNext, 1), highestModSeq: max(mb.HighestModSeq, 1)}
	var last uint32
	err := r.Messages(ctx, mb.Name, func(m archive.Message) error {
		if m.UID == 0 || m.UID <= last || m.UID == math.MaxUint32 {
			p.ok = false
		}
		last = max(last, m.UID)
		return nil
	}, func(*archive.BadMessageError) error { return nil })
	if err != nil {
		return p, err
	}
	p.uidNext = max(p.uidNext, last+1)
	if ms, ok := r.(interface {
		ModSeqs(string) (map[uint32]uint64, error)
	}); ok {
		if p.modSeqs, err = ms.ModSeqs(mb.Name); err != nil {
			return p, err
		}
		for _, v := range p.modSeqs {
			p.highestModSeq = max(p.highestModSeq, v)
		}
	}
	return p, nil
}

// sourceReader reads a message's content from an archive, remembering
// an error of the archive's (so that a failed WriteBlob is told apart
// from a bad message).
type sourceReader struct {
	r   io.Reader
	err error
}

func (s *sourceReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		s.err = err
	}
	return n, err
}

// headPeek is how much of a message is looked at to tell it is one.
const headPeek = 4096

// checkMessage fails unless head, the start of a content, looks like a
// message (RFC 5322): not empty or blank, and its first line a header
// field ("Name: value"; an mbox "From " line is not one).
func checkMessage(head []byte) error {
	trimmed := bytes.TrimLeft(head, "\r\n")
	if len(bytes.TrimSpace(head)) == 0 {
		return errors.New("empty message")
	}
	line := trimmed
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 {
		return errors.New("not a message: its first line is not a header field")
	}
	for _, c := range line[:colon] {
		if c <= ' ' || c >= 0x7f {
			return errors.New("not a message: its first line is not a header field")
		}
	}
	return nil
}

// prepared is an archive message written into the store.
type prepared struct {
	ref  store.BlobRef
	date time.Time
}

// write writes the content of m into the store through package ingest
// (anatomy and index text, as APPEND does), after checking it is a
// message. A problem of the archive's is a *archive.BadMessageError.
func (im *importer) write(ctx context.Context, m archive.Message) (prepared, error) {
	rc, err := m.Open()
	if err != nil {
		return prepared{}, asBad(m, err)
	}
	defer rc.Close()
	src := &sourceReader{r: rc}
	br := bufio.NewReaderSize(src, headPeek)
	head, err := br.Peek(headPeek)
	if err != nil && !errors.Is(err, io.EOF) {
		return prepared{}, asBad(m, err)
	}
	if err := checkMessage(head); err != nil {
		return prepared{}, asBad(m, err)
	}
	ref, err := ingest.Write(ctx, im.st, br, -1, im.log)
	if err != nil {
		if src.err != nil {
			return prepared{}, asBad(m, src.err)
		}
		return prepared{}, err
	}
	if m.Size >= 0 && ref.Size != m.Size {
		return prepared{}, asBad(m, fmt.Errorf("%d bytes read, %d expected", ref.Size, m.Size))
	}
	date := m.InternalDate
	if date.IsZero() && ref.Text != nil {
		date = ref.Text.Sort.Sent
	}
	if date.IsZero() {
		date = im.now()
	}
	return prepared{ref: ref, date: date}, nil
}

// asBad returns err as a *archive.BadMessageError about m.
func asBad(m archive.Message, err error) error {
	var bad *archive.BadMessageError
	if errors.As(err, &bad) {
		return bad
	}
	return &archive.BadMessageError{Path: m.Path, Err: err}
}

// bad handles a bad message: reported; nil to go on (--keep-going),
// errStop otherwise.
func (im *importer) bad(s *importStats, b *archive.BadMessageError) error {
	s.failed++
	im.prog.linef("rookery: bad message %v", b)
	if im.keepGoing {
		return nil
	}
	return errStop
}

// checkQuota fails with store.ErrOverQuota when adding n messages of
// size bytes would exceed the account's quota (RestoreMessages checks
// none; Append checks it itself).
func (im *importer) checkQuota(ctx context.Context, n int, size int64) error {
	q, err := im.st.Quota(ctx, im.acct.ID)
	if err != nil {
		return err
	}
	if (q.StorageLimitBytes > 0 && q.StorageBytes+size > q.StorageLimitBytes) || (q.MessageLimit > 0 && q.Messages+int64(n) > q.MessageLimit) {
		return fmt.Errorf("%w: the account uses %s of %s and %d of %d messages; %d more messages of %s would exceed it",
			store.ErrOverQuota, formatBytes(q.StorageBytes), limitString(q.StorageLimitBytes), q.Messages, q.MessageLimit, n, formatBytes(size))
	}
	return nil
}

// restoreMessages adds the messages of mb to target (restored with its
// UIDVALIDITY) with their UIDs, skipping those there already.
func (im *importer) restoreMessages(ctx context.Context, r archive.Reader, mb archive.Mailbox, target store.Mailbox, plan restorePlan, s *importStats) error {
	snap, err := im.st.Snapshot(ctx, target.ID)
	if err != nil {
		return err
	}
	present := snap.UIDs
	var batch []store.RestoreMessage
	var mem int
	var size int64
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := im.checkQuota(ctx, len(batch), size); err != nil {
			return err
		}
		n, err := im.rs.RestoreMessages(ctx, target.ID, batch)
		if err != nil {
			return err
		}
		s.imported += n
		s.present += len(batch) - n
		batch, mem, size = batch[:0], 0, 0
		return nil
	}
	err = r.Messages(ctx, mb.Name, func(m archive.Message) error {
		s.found++
		im.prog.add(1, max(m.Size, 0))
		i, found := slices.BinarySearch(present, m.UID)
		present = present[i:]
		if found {
			s.present++
			return nil
		}
		p, err := im.write(ctx, m)
		var bad *archive.BadMessageError
		if errors.As(err, &bad) {
			return im.bad(s, bad)
		}
		if err != nil {
			return err
		}
		flags, _ := storeFlags(m.Flags)
		modSeq := plan.modSeqs[m.UID]
		if modSeq == 0 || modSeq > target.HighestModSeq {
			modSeq = target.HighestModSeq
		}
		saved := m.SaveDate
		if saved.IsZero() {
			saved = im.now()
		}
		batch = append(batch, store.RestoreMessage{Blob: p.ref, UID: m.UID, ModSeq: modSeq, Flags: flags,
			InternalDate: p.date, SaveDate: saved})
		mem += p.ref.MemSize()
		size += p.ref.Size
		if len(batch) >= im.batch || mem >= im.batchMem {
			return flush()
		}
		return nil
	}, func(b *archive.BadMessageError) error { return im.bad(s, b) })
	if ferr := flush(); err == nil {
		err = ferr
	} else if ferr != nil {
		return ferr
	}
	return err
}

// dedupKey identifies a message for the skip of re-imports: its
// content's SHA-256 and its internal date.
type dedupKey struct {
	blob store.BlobID
	date int64
}

// appendMessages appends the messages of mb to target with new UIDs,
// skipping those it holds already (same content and internal date).
func (im *importer) appendMessages(ctx context.Context, r archive.Reader, mb archive.Mailbox, target store.Mailbox, s *importStats) error {
	have := map[dedupKey]bool{}
	blobs := map[store.BlobID]bool{}
	if err := im.st.Fetch(ctx, target.ID, imapnum.Set{{Start: 1, Stop: math.MaxUint32}}, func(m store.Message) error {
		have[dedupKey{m.Blob, m.InternalDate.Unix()}] = true
		blobs[m.Blob] = true
		return nil
	}); err != nil {
		return err
	}
	var batch []store.NewMessage
	var mem int
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if _, err := im.st.Append(ctx, target.ID, batch); err != nil {
			return err
		}
		s.imported += len(batch)
		batch, mem = batch[:0], 0
		return nil
	}
	err := r.Messages(ctx, mb.Name, func(m archive.Message) error {
		s.found++
		im.prog.add(1, max(m.Size, 0))
		if len(blobs) > 0 {
			// Hash first, so that a message present already is not
			// written again.
			sum, err := contentHash(m)
			var bad *archive.BadMessageError
			if errors.As(err, &bad) {
				return im.bad(s, bad)
			}
			if err != nil {
				return err
			}
			if blobs[sum] && (m.InternalDate.IsZero() || have[dedupKey{sum, m.InternalDate.Unix()}]) {
				s.present++
				return nil
			}
		}
		p, err := im.write(ctx, m)
		var bad *archive.BadMessageError
		if errors.As(err, &bad) {
			return im.bad(s, bad)
		}
		if err != nil {
			return err
		}
		k := dedupKey{p.ref.ID, p.date.Unix()}
		if have[k] {
			s.present++ // twice in the archive
			return nil
		}
		have[k], blobs[p.ref.ID] = true, true
		flags, _ := storeFlags(m.Flags)
		batch = append(batch, store.NewMessage{Blob: p.ref, Flags: flags, InternalDate: p.date})
		mem += p.ref.MemSize()
		if len(batch) >= im.batch || mem >= im.batchMem {
			return flush()
		}
		return nil
	}, func(b *archive.BadMessageError) error { return im.bad(s, b) })
	if ferr := flush(); err == nil {
		err = ferr
	} else if ferr != nil {
		return ferr
	}
	return err
}

// contentHash reads m's content for its SHA-256 (its BlobID).
func contentHash(m archive.Message) (store.BlobID, error) {
	rc, err := m.Open()
	if err != nil {
		return "", asBad(m, err)
	}
	defer rc.Close()
	h := sha256.New()
	if _, err := io.Copy(h, rc); err != nil {
		return "", asBad(m, err)
	}
	return store.BlobID(hex.EncodeToString(h.Sum(nil))), nil
}
