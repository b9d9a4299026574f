package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"rookery/internal/archive"
	"rookery/internal/archive/emlexport"
	"rookery/internal/imapnum"
	"rookery/internal/store"
)

const exportUsage = `Usage:
  rookery export USER DIR [--format eml] [--mailbox NAME]...
                 [--since-modseq N | --incremental] [--data DIR | --config FILE]

Writes the mailboxes of account USER (all of them, or each --mailbox NAME)
into the directory DIR, while the server keeps serving: each mailbox is
read at one instant (a consistent view per mailbox).

Formats:
  eml   (default) a folder per mailbox ("/" in names nests folders; other
        characters unsafe in file names are escaped as "%" and two hex
        digits), one <UID>.eml
        file per message, byte for byte as stored, and manifest.json at the
        root with each mailbox's UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ,
        special-use, subscription and keywords and each message's UID,
        flags, keywords, internal date (with its zone), save date, size,
        SHA-256 and mod-sequence. "rookery import" restores all of it.

--incremental updates an earlier export in DIR: it writes the messages
that are not there yet (a file of the same UID, size and SHA-256 is kept),
removes those no longer in the mailbox and rewrites the manifest; without
--mailbox it also removes the mailboxes gone. Nightly backups copy only what
changed. --since-modseq N exports only the messages whose mod-sequence is
above N (mod-sequences are per mailbox: most useful with --mailbox); the
manifest records N.

Files are written under temporary names, made durable, renamed, and the
manifest is written last: an interrupted export leaves DIR without a
manifest or with the previous one, whose files are intact.

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
	}
}

// keeper is a Writer that can keep a message an earlier export holds
// without reading its content (emlexport.Writer.Keep).
type keeper interface {
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
	fs.StringVar(&format, "format", "eml", "export format: eml")
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

// mailbox exports one mailbox: its messages' metadata read in one
// consistent read (Fetch), then its state (Snapshot: UIDNEXT,
// HIGHESTMODSEQ and the keyword set at or after that read, so every UID
// and mod-sequence read is below them), then each content streamed from
// the store. A content removed meanwhile (its message expunged and no
// other holding it) is left out and counted.
func (x *exporter) mailbox(ctx context.Context, w archive.Writer, m store.Mailbox, subscribed bool) (exportStats, error) {
	s := exportStats{name: m.Name}
	x.prog.step(m.Name)
	var msgs []store.Message
	if err := x.st.Fetch(ctx, m.ID, imapnum.Set{{Start: 1, Stop: math.MaxUint32}}, func(msg store.Message) error {
		if msg.ModSeq > x.since {
			msgs = append(msgs, msg)
		}
		return nil
	}); err != nil {
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
	kp, _ := w.(keeper)
	ma, _ := w.(modSeqAdder)
	for _, msg := range msgs {
		if err := ctx.Err(); err != nil {
			return s, err
		}
		am := archive.Message{UID: msg.UID, Flags: archiveFlags(msg.Flags), InternalDate: msg.InternalDate,
			SaveDate: msg.SaveDate, Size: msg.Size}
		if kp != nil {
			ok, err := kp.Keep(am, string(msg.Blob), msg.ModSeq)
			if err != nil {
				return s, err
			}
			if ok {
				s.messages++
				s.kept++
				x.prog.add(1, msg.Size)
				continue
			}
		}
		b, err := x.st.OpenBlob(ctx, msg.Blob)
		if errors.Is(err, store.ErrNoSuchMessage) {
			s.vanished++
			x.prog.add(1, msg.Size)
			continue
		}
		if err != nil {
			return s, fmt.Errorf("UID %d: %w", msg.UID, err)
		}
		content := io.NewSectionReader(b, 0, b.Size())
		if ma != nil {
			err = ma.AddModSeq(ctx, am, msg.ModSeq, content)
		} else {
			err = w.Add(ctx, am, content)
		}
		b.Close()
		if err != nil {
			return s, err
		}
		s.messages++
		s.written++
		s.bytes += msg.Size
		x.prog.add(1, msg.Size)
	}
	return s, w.EndMailbox(ctx)
}
