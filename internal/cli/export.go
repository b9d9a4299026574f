package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"

	"rookery/internal/archive"
	"rookery/internal/archive/emlexport"
	"rookery/internal/archive/maildir"
	"rookery/internal/archive/mbox"
	"rookery/internal/imapnum"
	"rookery/internal/store"
)

const exportUsage = `Usage:
  rookery export USER DIR [--format eml|maildir|mbox] [--mailbox NAME]...
                 [--since-modseq N | --incremental] [--data DIR | --config FILE]

Writes the mailboxes of account USER (all of them, or each --mailbox NAME)
into the directory DIR, while the server keeps serving: each mailbox is
read at one instant (a consistent view per mailbox). Every format keeps
each message's content byte for byte, its flags and keywords, its internal
date to the second, the mailbox tree and the subscriptions.

Formats:
  eml   (default) a folder per mailbox ("/" in names nests folders; other
        characters unsafe in file names are escaped as "%" and two hex
        digits), one <UID>.eml
        file per message, byte for byte as stored, and manifest.json at the
        root with each mailbox's UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ,
        special-use, subscription and keywords and each message's UID,
        flags, keywords, internal date (with its zone), save date, size,
        SHA-256 and mod-sequence. "rookery import" restores all of it.
  maildir
        a Maildir++ tree as Dovecot keeps one (DIR must be empty or new):
        INBOX at the root, every other mailbox a directory ".A.B" for
        "A/B" (names in modified UTF-7; "." and "\" inside a level written
        "\2e" and "\5c"); one file per message in cur/ with its flags in
        its name (D F R S T, keywords as letters listed in dovecot-keywords,
        at most 26 per mailbox) and its internal date as the file's time;
        UIDVALIDITY, UIDNEXT and UIDs in dovecot-uidlist; a "subscriptions"
        file. Dovecot serves it as it is, with the same UIDs. Not kept: the
        zone of internal dates (file times are UTC), special-use
        (recognised by name on import), HIGHESTMODSEQ and mod-sequences,
        save dates.
  mbox  one mboxrd file per mailbox ("A/B" is A/B.mbox; DIR must be empty
        or new) and a "subscriptions" file. Each message has a "From " line
        (its internal date, in UTC), Status, X-Status and X-Keywords
        headers that other tools read as its flags, and an X-Rookery-Mbox
        header with its size and internal date (with its zone) that lets
        "rookery import" give back the content byte for byte. Not kept:
        UIDVALIDITY and UIDs (an import gives new ones), special-use
        (recognised by name on import), keywords no message carries,
        mod-sequences, save dates.

--incremental (eml only) updates an earlier export in DIR: it writes the
messages that are not there yet (a file of the same UID, size and SHA-256
is kept), removes those no longer in the mailbox and rewrites the manifest;
without --mailbox it also removes the mailboxes gone. Nightly backups copy
only what changed. --since-modseq N exports only the messages whose
mod-sequence is above N (mod-sequences are per mailbox: most useful with
--mailbox); an eml manifest records N.

Files are made durable (maildir and mbox files through temporary names),
and what completes the export comes last (eml: the manifest; maildir: each
mailbox's dovecot-uidlist, then the subscriptions; mbox: each mailbox's
file is renamed into place once complete): an interrupted eml export leaves
DIR without a manifest or with the previous one, whose files are intact;
an interrupted maildir or mbox export is incomplete: export again into a
new directory.

Exit codes: 0 exported, 1 failed (the message says why), 2 usage error.
`

// exportOptions are what a format's Writer is created with.
type exportOptions struct {
	account     string
	sinceModSeq uint64
	incremental bool
	prune       bool // a whole-account export: mailboxes gone are removed
}

// exportFormat is a format `rookery export` writes.
type exportFormat struct {
	create func(dir string, o exportOptions) (archive.Writer, error)
	// incremental says whether the format can update an earlier export
	// (--incremental).
	incremental bool
}

// exportFormats are the formats of --format by name.
func exportFormats() map[string]exportFormat {
	return map[string]exportFormat{
		"eml": {incremental: true, create: func(dir string, o exportOptions) (archive.Writer, error) {
			return emlexport.Create(dir, emlexport.Options{Account: o.account, SinceModSeq: o.sinceModSeq,
				Incremental: o.incremental, Prune: o.prune})
		}},
		"maildir": {create: func(dir string, _ exportOptions) (archive.Writer, error) { return maildir.Create(dir) }},
		"mbox":    {create: func(dir string, _ exportOptions) (archive.Writer, error) { return mbox.Create(dir) }},
	}
}

// keeper is a Writer that can keep a message an earlier export holds
// without reading its content (emlexport.Writer.Keep).
type keeper interface {
	// Has reports whether the earlier export holds the message uid of
	// the mailbox with uidValidity, of size bytes and SHA-256 sum.
	Has(mailbox string, uidValidity, uid uint32, size int64, sum string) bool
	// Keep records such a message in the current mailbox.
	Keep(m archive.Message, sha256 string, modSeq uint64) (bool, error)
}

// modSeqAdder is a Writer that records mod-sequences.
type modSeqAdder interface {
	AddModSeq(ctx context.Context, m archive.Message, modSeq uint64, content io.Reader) error
}

// stringsFlag is a repeatable string flag.
type stringsFlag []string

func (s *stringsFlag) String() string     { return strings.Join(*s, ",") }
func (s *stringsFlag) Set(v string) error { *s = append(*s, v); return nil }

func runExport(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "export", exportUsage)
	var f userFlags
	var format string
	var mailboxes stringsFlag
	var since uint64
	var incremental bool
	fs.StringVar(&f.data, "data", "", "data directory")
	fs.StringVar(&f.config, "config", "", "configuration file (data_dir or store.dsn)")
	fs.StringVar(&format, "format", "eml", "export format: eml, maildir or mbox")
	fs.Var(&mailboxes, "mailbox", "export this mailbox only (repeatable)")
	fs.Uint64Var(&since, "since-modseq", 0, "export only messages with a mod-sequence above N")
	fs.BoolVar(&incremental, "incremental", false, "update an earlier export in DIR")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return flagResult(err)
	}
	if len(pos) != 2 {
		return e.usagef(exportUsage, "export: want USER and DIR")
	}
	formats := exportFormats()
	fm, ok := formats[format]
	if !ok {
		var names []string
		for n := range formats {
			names = append(names, n)
		}
		slices.Sort(names)
		return e.usagef(exportUsage, "export: unknown format %q (want %s)", format, strings.Join(names, ", "))
	}
	if since > 0 && incremental {
		return e.usagef(exportUsage, "export: --since-modseq and --incremental exclude each other")
	}
	if incremental && !fm.incremental {
		return e.usagef(exportUsage, "export: format %s cannot be updated incrementally", format)
	}
	cfg, err := f.loadExistingConfig()
	if err != nil {
		return e.errorf("%v", err)
	}
	st, closeStore, err := openAdminStore(ctx, e, cfg)
	if err != nil {
		return e.errorf("%v", err)
	}
	defer closeStore()
	x := &exporter{st: st, since: since}
	return x.main(ctx, e, pos[0], pos[1], fm, exportOptions{sinceModSeq: since, incremental: incremental, prune: len(mailboxes) == 0}, mailboxes)
}

// exporter exports one account.
type exporter struct {
	st    store.Store
	since uint64
	prog  *progress
	spool *os.File // contents of the mailbox being exported
}

// exportStats is what an export did in one mailbox.
type exportStats struct {
	name                    string
	messages, written       int
	kept, skipped, vanished int
	bytes                   int64
}

func (x *exporter) main(ctx context.Context, e *env, user, dir string, fm exportFormat, o exportOptions, only []string) int {
	acct, err := x.st.Account(ctx, user)
	if err != nil {
		return e.errorf("export %s: %v", user, err)
	}
	o.account = acct.Name
	mbs, err := x.st.Mailboxes(ctx, acct.ID)
	if err != nil {
		return e.errorf("export %s: %v", user, err)
	}
	if len(only) > 0 {
		var sel []store.Mailbox
		for _, name := range only {
			cn, err := store.CanonicalMailboxName(name)
			i := slices.IndexFunc(mbs, func(m store.Mailbox) bool { return m.Name == cn })
			if err != nil || i < 0 || mbs[i].NoSelect {
				return e.errorf("export %s: no mailbox %q", user, name)
			}
			if !slices.ContainsFunc(sel, func(m store.Mailbox) bool { return m.Name == cn }) {
				sel = append(sel, mbs[i])
			}
		}
		slices.SortFunc(sel, func(a, b store.Mailbox) int { return strings.Compare(a.Name, b.Name) })
		mbs = sel
	}
	subs, err := x.st.Subscriptions(ctx, acct.ID)
	if err != nil {
		return e.errorf("export %s: %v", user, err)
	}
	var total, totalBytes int64
	for _, m := range mbs {
		if m.NoSelect {
			continue
		}
		if s, err := x.st.Status(ctx, m.ID); err == nil {
			total += int64(s.Messages)
			totalBytes += s.Size
		}
	}
	w, err := fm.create(dir, o)
	if err != nil {
		return e.errorf("export %s: %v", user, err)
	}
	// The spool sits beside the export (same file system, not a
	// memory-backed /tmp), removed at the end.
	if x.spool, err = os.CreateTemp(dir, ".rookery-export-spool-*.tmp"); err != nil {
		return e.errorf("export %s: %v", user, err)
	}
	defer func() {
		x.spool.Close()
		os.Remove(x.spool.Name())
	}()
	x.prog = newProgress(e.stderr, total, totalBytes)
	x.prog.linef("exporting %s to %s: %d mailboxes, %d messages, %s", acct.Name, dir, len(mbs), total, formatBytes(totalBytes))
	var all []exportStats
	for _, m := range mbs {
		if m.NoSelect {
			continue
		}
		s, err := x.mailbox(ctx, w, m, slices.Contains(subs, m.Name))
		if errors.Is(err, store.ErrNoSuchMailbox) {
			x.prog.linef("%s: deleted during the export, left out", m.Name)
			continue
		}
		if err != nil {
			if a, ok := w.(interface{ Abort() }); ok {
				a.Abort()
			}
			x.prog.finish()
			return e.errorf("export %s: mailbox %s: %v\nthe export in %s is incomplete (no new manifest): run the command again", acct.Name, m.Name, err, dir)
		}
		all = append(all, s)
	}
	x.prog.step("writing the manifest")
	if err := w.Close(); err != nil {
		x.prog.finish()
		return e.errorf("export %s: %v", acct.Name, err)
	}
	x.prog.finish()
	var sum exportStats
	for _, s := range all {
		fmt.Fprintf(e.stdout, "%-30s %6d messages  %6d written  %6d kept  %s\n", s.name, s.messages, s.written, s.kept, formatBytes(s.bytes))
		if s.vanished > 0 {
			fmt.Fprintf(e.stdout, "%-30s %6d expunged during the export, left out\n", "", s.vanished)
		}
		sum.messages += s.messages
		sum.written += s.written
		sum.kept += s.kept
		sum.bytes += s.bytes
	}
	removed := 0
	if es, ok := w.(interface{ Stats() emlexport.Stats }); ok {
		removed = es.Stats().Removed
	}
	fmt.Fprintf(e.stdout, "exported %s: %d mailboxes, %d messages (%d written, %d kept, %d files removed), %s written\n",
		acct.Name, len(all), sum.messages, sum.written, sum.kept, removed, formatBytes(sum.bytes))
	return ExitOK
}

// mailbox exports one mailbox at one instant. Its messages and their
// contents are read in one consistent read (FetchContent: one read
// transaction; contents kept with the metadata come with the rows, the
// others are opened meanwhile) into a spool file beside the export, so
// that a message expunged while the export is written is still
// exported as the mailbox was; then its state (Snapshot: UIDNEXT,
// HIGHESTMODSEQ and the keyword set at or after that read, so every UID
// and mod-sequence read is below them); then the messages go to the
// Writer from the spool. Memory holds one message's metadata each, not
// contents. A content removed between the read of its row and its
// opening (expunged meanwhile, held by no other message) is left out
// and counted.
func (x *exporter) mailbox(ctx context.Context, w archive.Writer, m store.Mailbox, subscribed bool) (exportStats, error) {
	s := exportStats{name: m.Name}
	x.prog.step(m.Name)
	kp, _ := w.(keeper)
	type pending struct {
		msg    store.Message
		off, n int64
		kept   bool // in the earlier export: not spooled
	}
	var msgs []pending
	var off int64
	err := x.st.FetchContent(ctx, m.ID, imapnum.Set{{Start: 1, Stop: math.MaxUint32}}, func(msg store.Message) error {
		if msg.ModSeq <= x.since {
			return nil
		}
		content := msg.Content
		msg.Content, msg.Anatomy = nil, nil
		p := pending{msg: msg, off: off}
		if kp != nil && kp.Has(m.Name, m.UIDValidity, msg.UID, msg.Size, string(msg.Blob)) {
			p.kept = true
			msgs = append(msgs, p)
			return nil
		}
		var err error
		if content != nil {
			var n int
			n, err = x.spool.Write(content)
			p.n = int64(n)
		} else {
			var b store.Blob
			b, err = x.st.OpenBlob(ctx, msg.Blob)
			if errors.Is(err, store.ErrNoSuchMessage) {
				s.vanished++
				return nil
			}
			if err != nil {
				return fmt.Errorf("UID %d: %w", msg.UID, err)
			}
			p.n, err = io.Copy(x.spool, io.NewSectionReader(b, 0, b.Size()))
			b.Close()
		}
		if err != nil {
			return fmt.Errorf("spool UID %d: %w", msg.UID, err)
		}
		off += p.n
		msgs = append(msgs, p)
		return nil
	})
	if err != nil {
		return s, err
	}
	snap, err := x.st.Snapshot(ctx, m.ID)
	if err != nil {
		return s, err
	}
	if err := w.BeginMailbox(ctx, archive.Mailbox{Name: m.Name, SpecialUse: snap.SpecialUse, Subscribed: subscribed,
		UIDValidity: snap.UIDValidity, UIDNext: snap.UIDNext, HighestModSeq: snap.HighestModSeq, Keywords: snap.Keywords}); err != nil {
		return s, err
	}
	ma, _ := w.(modSeqAdder)
	for _, p := range msgs {
		if err := ctx.Err(); err != nil {
			return s, err
		}
		msg := p.msg
		am := archive.Message{UID: msg.UID, Flags: archiveFlags(msg.Flags), InternalDate: msg.InternalDate,
			SaveDate: msg.SaveDate, Size: msg.Size}
		if p.kept {
			ok, err := kp.Keep(am, string(msg.Blob), msg.ModSeq)
			if err != nil {
				return s, err
			}
			if !ok {
				return s, fmt.Errorf("UID %d: its file in the earlier export changed during the export", msg.UID)
			}
			s.messages++
			s.kept++
			x.prog.add(1, msg.Size)
			continue
		}
		content := io.NewSectionReader(x.spool, p.off, p.n)
		if ma != nil {
			err = ma.AddModSeq(ctx, am, msg.ModSeq, content)
		} else {
			err = w.Add(ctx, am, content)
		}
		if err != nil {
			return s, err
		}
		s.messages++
		s.written++
		s.bytes += msg.Size
		x.prog.add(1, msg.Size)
	}
	if err := x.spool.Truncate(0); err != nil {
		return s, err
	}
	if _, err := x.spool.Seek(0, io.SeekStart); err != nil {
		return s, err
	}
	return s, w.EndMailbox(ctx)
}
