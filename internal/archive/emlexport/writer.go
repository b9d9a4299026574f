package emlexport

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"time"

	"rookery/internal/archive"
)

// Options are the settings of a Writer.
type Options struct {
	// Account is the name of the exported account.
	Account string
	// SinceModSeq is recorded in the manifest: the caller adds only
	// messages with a mod-sequence above it.
	SinceModSeq uint64
	// Incremental allows writing into a directory that holds an export
	// already (or what an interrupted one left): files of messages the
	// previous manifest lists with the same size and SHA-256 are kept
	// (Keep), the others written.
	Incremental bool
	// Prune removes from the export the mailboxes of the previous
	// manifest that this run does not write (a whole-account export);
	// otherwise they stay as they were (an export of some mailboxes).
	Prune bool
	// Now gives the manifest's creation time (nil: time.Now).
	Now func() time.Time
}

// Stats is what a Writer did.
type Stats struct {
	Written, Kept, Removed int   // message files
	Bytes                  int64 // bytes written
}

// Writer writes an export into a directory (archive.Writer). A Writer
// that fails or is not closed leaves no manifest pointing at a file it
// changed: see the package invariants.
type Writer struct {
	dir  string
	opts Options

	old      *Manifest           // the previous manifest, nil if none
	oldFiles map[string]struct{} // files (relative, "/"-separated) old lists
	oldGone  bool                // the previous manifest is removed

	out     Manifest
	cur     *MailboxEntry
	curOld  map[uint32]MessageEntry // old entries of cur's mailbox, when its UIDVALIDITY is the same
	files   map[string]struct{}     // files the new manifest lists
	written []string                // absolute paths written by this run
	folders []string                // folders of this run's mailboxes
	stats   Stats

	jobs chan fileJob // to the workers, nil until the first
	wg   sync.WaitGroup
	mu   sync.Mutex
	err  error // the first error of a worker
}

var _ archive.Writer = (*Writer)(nil)

// Create starts an export into dir, creating it if missing. It refuses
// a directory that holds an export already or anything else, unless
// opts.Incremental.
func Create(dir string, opts Options) (*Writer, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("export directory: %w", err)
	}
	w := &Writer{dir: dir, opts: opts, oldFiles: map[string]struct{}{}, files: map[string]struct{}{}}
	old, err := ReadManifest(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if !opts.Incremental {
			ents, err := os.ReadDir(dir)
			if err != nil {
				return nil, fmt.Errorf("export directory: %w", err)
			}
			if len(ents) > 0 {
				return nil, fmt.Errorf("export directory %s is not empty (and holds no export to update incrementally)", dir)
			}
		}
	case err != nil:
		return nil, fmt.Errorf("previous export: %w", err)
	case !opts.Incremental:
		return nil, fmt.Errorf("%s holds an export already: update it with --incremental, or choose another directory", dir)
	case old.Account != opts.Account:
		return nil, fmt.Errorf("%s holds an export of account %q, not %q", dir, old.Account, opts.Account)
	default:
		w.old = old
		for _, mb := range old.Mailboxes {
			for _, e := range mb.Messages {
				w.oldFiles[mb.Folder+"/"+messageFile(e.UID)] = struct{}{}
			}
		}
	}
	w.out = Manifest{Format: FormatName, Version: Version, Account: opts.Account, SinceModSeq: opts.SinceModSeq,
		Created: opts.Now().Round(time.Second)}
	return w, nil
}

// Stats returns what the Writer did so far.
func (w *Writer) Stats() Stats { return w.stats }

// oldMailbox returns the previous manifest's entry for name.
func (w *Writer) oldMailbox(name string) *MailboxEntry {
	if w.old == nil {
		return nil
	}
	for i := range w.old.Mailboxes {
		if w.old.Mailboxes[i].Name == name {
			return &w.old.Mailboxes[i]
		}
	}
	return nil
}

// BeginMailbox implements archive.Writer.
func (w *Writer) BeginMailbox(ctx context.Context, mb archive.Mailbox) error {
	if w.cur != nil {
		return errors.New("BeginMailbox before EndMailbox")
	}
	for _, o := range w.out.Mailboxes {
		if o.Name == mb.Name {
			return fmt.Errorf("mailbox %q written twice", mb.Name)
		}
	}
	folder := FolderPath(mb.Name)
	abs := filepath.Join(w.dir, filepath.FromSlash(folder))
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return fmt.Errorf("mailbox %q: %w", mb.Name, err)
	}
	w.cur = &MailboxEntry{Name: mb.Name, Folder: folder, UIDValidity: mb.UIDValidity, UIDNext: mb.UIDNext,
		HighestModSeq: mb.HighestModSeq, SpecialUse: mb.SpecialUse, Subscribed: mb.Subscribed,
		Keywords: slices.Clone(mb.Keywords), Messages: []MessageEntry{}}
	if w.cur.Keywords == nil {
		w.cur.Keywords = []string{}
	}
	w.curOld = nil
	if o := w.oldMailbox(mb.Name); o != nil && o.Folder == folder && o.UIDValidity == mb.UIDValidity {
		w.curOld = make(map[uint32]MessageEntry, len(o.Messages))
		for _, e := range o.Messages {
			w.curOld[e.UID] = e
		}
	}
	w.folders = append(w.folders, folder)
	return nil
}

// entry is the manifest entry of m.
func entry(m archive.Message, size int64, sum string) MessageEntry {
	flags := slices.Clone(m.Flags)
	if flags == nil {
		flags = []string{}
	}
	return MessageEntry{UID: m.UID, Flags: flags, InternalDate: m.InternalDate, SaveDate: m.SaveDate,
		Size: size, SHA256: sum, ModSeq: 0}
}

// Has reports whether the previous export holds the message uid of
// the mailbox name with uidValidity, of size bytes and SHA-256 sum, in
// a file of that size: Keep will keep it.
func (w *Writer) Has(name string, uidValidity, uid uint32, size int64, sum string) bool {
	o := w.oldMailbox(name)
	if o == nil || o.UIDValidity != uidValidity || o.Folder != FolderPath(name) {
		return false
	}
	i, found := slices.BinarySearchFunc(o.Messages, uid, func(e MessageEntry, u uint32) int { return cmp.Compare(e.UID, u) })
	if !found || o.Messages[i].Size != size || o.Messages[i].SHA256 != sum {
		return false
	}
	fi, err := os.Stat(filepath.Join(w.dir, filepath.FromSlash(o.Folder), messageFile(uid)))
	return err == nil && fi.Mode().IsRegular() && fi.Size() == size
}

// Keep records m (of the current mailbox) without writing its file when
// the previous export holds it: the previous manifest lists its UID,
// under the same UIDVALIDITY, with size m.Size and SHA-256 sum, and
// the file has that size. It reports whether it did; if not, the
// caller writes the message with Add. modSeq is its mod-sequence.
func (w *Writer) Keep(m archive.Message, sum string, modSeq uint64) (bool, error) {
	if w.cur == nil {
		return false, errors.New("Keep outside a mailbox")
	}
	o, ok := w.curOld[m.UID]
	if !ok || o.Size != m.Size || o.SHA256 != sum {
		return false, nil
	}
	rel := w.cur.Folder + "/" + messageFile(m.UID)
	fi, err := os.Stat(filepath.Join(w.dir, filepath.FromSlash(rel)))
	if err != nil || !fi.Mode().IsRegular() || fi.Size() != m.Size {
		return false, nil
	}
	e := entry(m, m.Size, sum)
	e.ModSeq = modSeq
	w.cur.Messages = append(w.cur.Messages, e)
	w.files[rel] = struct{}{}
	w.stats.Kept++
	return true, nil
}

// Add implements archive.Writer: it writes content into <UID>.eml of
// the current mailbox's folder, checking
// that it is m.Size bytes when that is known. AddModSeq records a
// mod-sequence too.
func (w *Writer) Add(ctx context.Context, m archive.Message, content io.Reader) error {
	return w.AddModSeq(ctx, m, 0, content)
}

// AddModSeq is Add with the message's mod-sequence. A content of at
// most parallelMax bytes is read into memory and its file written by
// one of the Writer's workers (file creation costs more than the bytes
// of a small message); errors of theirs surface at the next call.
func (w *Writer) AddModSeq(ctx context.Context, m archive.Message, modSeq uint64, content io.Reader) error {
	if w.cur == nil {
		return errors.New("Add outside a mailbox")
	}
	if err := w.workErr(); err != nil {
		return err
	}
	if n := len(w.cur.Messages); m.UID == 0 || (n > 0 && w.cur.Messages[n-1].UID >= m.UID) {
		return fmt.Errorf("mailbox %q: UID %d out of order or 0", w.cur.Name, m.UID)
	}
	rel := w.cur.Folder + "/" + messageFile(m.UID)
	if _, listed := w.oldFiles[rel]; listed && !w.oldGone {
		// The previous manifest lists this file (with another content,
		// or Keep would have kept it): it must not point at the new one.
		if err := removeManifest(w.dir); err != nil {
			return fmt.Errorf("remove the previous manifest: %w", err)
		}
		w.oldGone = true
	}
	folder := filepath.Join(w.dir, filepath.FromSlash(w.cur.Folder))
	j := fileJob{final: filepath.Join(folder, messageFile(m.UID)),
		what: fmt.Sprintf("mailbox %q, UID %d", w.cur.Name, m.UID)}
	var n int64
	var sum string
	if m.Size >= 0 && m.Size <= parallelMax {
		buf := bytes.NewBuffer(make([]byte, 0, m.Size+1))
		k, err := io.Copy(buf, io.LimitReader(content, m.Size+1))
		if err == nil && k != m.Size {
			err = fmt.Errorf("content is %d bytes or more, %d expected", k, m.Size)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", j.what, err)
		}
		j.data = buf.Bytes()
		h := sha256.Sum256(j.data)
		n, sum = k, hex.EncodeToString(h[:])
		w.startWorkers()
		w.wg.Add(1)
		w.jobs <- j
	} else {
		var err error
		if n, sum, err = writeFile(j, content); err != nil {
			return err
		}
		if m.Size >= 0 && n != m.Size {
			_ = os.Remove(j.final)
			return fmt.Errorf("%s: content is %d bytes, %d expected", j.what, n, m.Size)
		}
	}
	e := entry(m, n, sum)
	e.ModSeq = modSeq
	w.cur.Messages = append(w.cur.Messages, e)
	w.files[rel] = struct{}{}
	w.written = append(w.written, j.final)
	w.stats.Written++
	w.stats.Bytes += n
	return nil
}

// parallelMax is the largest content a worker writes (from memory).
const parallelMax = 1 << 20

// workers is the number of goroutines writing small message files, and
// jobQueue how many contents may wait for them.
const (
	workers  = 4
	jobQueue = 32
)

// fileJob is a message file to write.
type fileJob struct {
	final, what string
	data        []byte // nil: the content streams (writeFile's r)
}

// writeFile writes j's file from r under its final name (no manifest
// lists it yet: see the package invariants; a rename through a
// temporary name cost a tenth of an export of small messages) and
// returns its size and SHA-256.
func writeFile(j fileJob, r io.Reader) (int64, string, error) {
	f, err := os.OpenFile(j.final, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return 0, "", fmt.Errorf("%s: %w", j.what, err)
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(j.final)
		return 0, "", fmt.Errorf("%s: %w", j.what, err)
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

// startWorkers starts the file writers once.
func (w *Writer) startWorkers() {
	if w.jobs != nil {
		return
	}
	jobs := make(chan fileJob, jobQueue)
	w.jobs = jobs
	for range workers {
		go func() {
			for j := range jobs {
				if _, _, err := writeFile(j, bytes.NewReader(j.data)); err != nil {
					w.mu.Lock()
					if w.err == nil {
						w.err = err
					}
					w.mu.Unlock()
				}
				w.wg.Done()
			}
		}()
	}
}

// workErr returns the first error of a worker.
func (w *Writer) workErr() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// drain waits for the workers' files and returns their first error.
func (w *Writer) drain() error {
	w.wg.Wait()
	return w.workErr()
}

// stopWorkers ends the workers once their files are written.
func (w *Writer) stopWorkers() error {
	err := w.drain()
	if w.jobs != nil {
		close(w.jobs)
		w.jobs = nil
	}
	return err
}

// Abort stops a Writer that will not be closed (an export that failed),
// once the files under way are written: the export stays as an
// interrupted one (see the package invariants).
func (w *Writer) Abort() { _ = w.stopWorkers() }

// EndMailbox implements archive.Writer.
func (w *Writer) EndMailbox(ctx context.Context) error {
	if w.cur == nil {
		return errors.New("EndMailbox outside a mailbox")
	}
	if err := w.drain(); err != nil {
		return err
	}
	w.out.Mailboxes = append(w.out.Mailboxes, *w.cur)
	w.cur, w.curOld = nil, nil
	return nil
}

// Close implements archive.Writer: it makes every file durable, writes
// the manifest, then removes the files of the previous export that the
// new manifest does not list (and, with Prune, the folders of mailboxes
// gone).
func (w *Writer) Close() error {
	if w.cur != nil {
		return errors.New("Close inside a mailbox")
	}
	if err := w.stopWorkers(); err != nil {
		return err
	}
	if w.old != nil && !w.opts.Prune {
		// Mailboxes not written by this run stay as they were.
		for _, o := range w.old.Mailboxes {
			if !slices.ContainsFunc(w.out.Mailboxes, func(m MailboxEntry) bool { return m.Name == o.Name || m.Folder == o.Folder }) {
				w.out.Mailboxes = append(w.out.Mailboxes, o)
				for _, e := range o.Messages {
					w.files[o.Folder+"/"+messageFile(e.UID)] = struct{}{}
				}
			}
		}
	}
	sort.Slice(w.out.Mailboxes, func(i, j int) bool { return w.out.Mailboxes[i].Name < w.out.Mailboxes[j].Name })
	if err := syncFiles(w.dir, w.written); err != nil {
		return fmt.Errorf("sync message files: %w", err)
	}
	for _, f := range w.folders {
		// Each level, so that new folders are durable in their parents.
		for p := f; p != "."; p = path.Dir(p) {
			if err := syncDir(filepath.Join(w.dir, filepath.FromSlash(p))); err != nil {
				return fmt.Errorf("sync folder %s: %w", p, err)
			}
		}
	}
	if err := writeManifest(w.dir, &w.out); err != nil {
		return err
	}
	var gone []string
	for rel := range w.oldFiles {
		if _, ok := w.files[rel]; !ok {
			gone = append(gone, rel)
		}
	}
	for _, rel := range gone {
		if err := os.Remove(filepath.Join(w.dir, filepath.FromSlash(rel))); err == nil {
			w.stats.Removed++
		}
	}
	if w.old != nil {
		// Folders left empty (mailboxes gone), deepest first.
		var dirs []string
		for _, o := range w.old.Mailboxes {
			dirs = append(dirs, o.Folder)
		}
		sort.Slice(dirs, func(i, j int) bool { return len(dirs[i]) > len(dirs[j]) })
		for _, d := range dirs {
			if !slices.Contains(w.folders, d) {
				_ = os.Remove(filepath.Join(w.dir, filepath.FromSlash(d))) // fails unless empty
			}
		}
	}
	return nil
}
