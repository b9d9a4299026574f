package tests

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"
)

// crashFS is a FUSE file system for power-loss tests: it passes every
// operation through to a backing directory and remembers what a power cut
// could lose, so that Recover can write out a state the disk might hold
// after losing power at the moment of Cut.
//
// The model (what survives a power cut):
//
//   - A file's content and size are durable as of its last fsync or
//     fdatasync (both are taken to make data and size durable, as they do
//     on Linux's file systems). Writes and size changes (truncate,
//     fallocate, O_TRUNC) since then are unsynced.
//   - A directory's entries are durable as of its last fsync, which makes
//     all of them durable. Creating, unlinking, mkdir, rmdir and renaming
//     (a removal in the source directory, an entry in the target) are
//     unsynced changes of the directory they touch until it is fsynced. An
//     fsync of a file makes nothing about its name durable, and an fsync of
//     a directory nothing about the contents of its files: a new file
//     survives with its data only if both were synced, and only inside
//     directories that survive themselves. (SQLite fsyncs the directory of
//     a WAL it creates; blob.Put fsyncs the file, renames it, then fsyncs
//     the target directory.)
//   - Everything present when the file system is mounted is durable (the
//     test mounts over a directory it has just written and closed).
//
// Recover's loss modes: loseAllUnsynced keeps exactly the synced state;
// loseSomeUnsynced keeps, for every 4 KiB page of a file written since its
// last sync, the page as it was after some prefix of that page's unsynced
// writes in their order (none, all, or part of them: a page written back
// by the kernel at some moment before the cut), the file's size after some
// prefix of its size changes (chosen independently of the pages, so a file
// may come back longer than its data, the tail reading as zeros: SQLite
// assumes the size may be updated before the content), and, for every
// directory, its durable entries plus some prefix of its changes since its
// last sync. The two ends of a rename are chosen independently, so a file
// renamed with neither directory synced may come back under both names or
// neither, which a journalling file system would not show (it commits a
// rename as one) but which no synced state depends on. These are states a
// disk that honours fsync could be in; a torn write inside a page, or lost
// synced data, is not modelled. The choices come from a seeded generator,
// so a failure can be replayed for the same recorded history.
//
// SQLite's -shm file is mapped MAP_SHARED by the server. A FUSE file opened
// without direct I/O supports shared writable mappings (TestCrashFSModel
// checks it): the kernel writes dirty pages back as ordinary WRITE
// requests, which the model records like any other unsynced write. SQLite
// never fsyncs the -shm file and rebuilds its content (the WAL index) from
// the WAL when the first connection opens the database after a crash, so
// the model may lose all of it, which is also the truth after a power cut;
// nothing about it is special-cased.
//
// Locks are left to the kernel (no FUSE lock support is negotiated: the
// kernel then keeps POSIX locks for the mount locally, which is what SQLite
// needs between the connections and processes of one machine). Hard links,
// symbolic links, device nodes, extended attributes and copy_file_range
// are refused. fsync is not passed to the backing file system: the backing
// directory's own durability plays no part in the test.
type crashFS struct {
	backing string // the directory passed through
	mnt     string // where it is mounted
	shadow  string // durable contents of modified files (outside the mount)
	server  *fuse.Server

	mu      sync.Mutex
	cut     bool              // after Cut every operation fails with EIO; guarded by mu
	nextID  uint64            // guarded by mu
	root    *mnode            // the backing directory itself
	byIno   map[uint64]*mnode // live backing inode number → node; guarded by mu
	all     []*mnode          // every node, for Close; guarded by mu
	pending int64             // bytes of unsynced writes held; guarded by mu
	faults  []string          // model inconsistencies (bugs of this file system); guarded by mu
	counts  crashCounts       // guarded by mu
}

// crashCounts counts operations seen, for the test's log.
type crashCounts struct {
	writes, fileSyncs, dirSyncs, namespace int
}

// crashPage is the granularity at which loseSomeUnsynced keeps or drops
// writes.
const crashPage = 4096

// maxPending bounds the unsynced bytes the model holds in memory.
const maxPending = 1 << 30

// lossMode says which unsynced changes Recover drops.
type lossMode int

const (
	loseAllUnsynced  lossMode = iota // keep only what was synced
	loseSomeUnsynced                 // keep a random part of the rest too
)

func (m lossMode) String() string {
	if m == loseSomeUnsynced {
		return "drop a random part of the unsynced changes"
	}
	return "drop every unsynced change"
}

// mnode is the model of one file or directory.
type mnode struct {
	id   uint64
	name string // its name when created (for reports)
	dir  bool
	perm os.FileMode
	ino  uint64 // backing inode number while the node is live

	// Regular files. The durable content is orig's (a file present at
	// mount time, not modified since), else shadow's, else empty; its
	// size is durSize.
	orig     *os.File
	shadow   *os.File
	durSize  int64
	liveSize int64
	recs     []wrec // unsynced changes, oldest first

	// Directories.
	live    map[string]*mnode // entries now
	durable map[string]*mnode // entries as of the last fsync
	ops     []nsOp            // changes since the last fsync, oldest first
}

// wrec is one unsynced change of a file: a write (data != nil) or a size
// change (truncate, fallocate). size is the file's size after it, prev
// before it.
type wrec struct {
	off  int64
	data []byte
	size int64
	prev int64
}

// nsOp is one unsynced change of a directory: name now refers to node, or
// to nothing when node is nil.
type nsOp struct {
	name string
	node *mnode
}

// errFUSEUnavailable marks a mount failure that means "FUSE cannot be used
// here" (permission, no FUSE support), for which tests skip.
var errFUSEUnavailable = errors.New("FUSE unavailable")

// fuseUsable skips t when FUSE mounts cannot work here: not root, or no
// /dev/fuse.
func fuseUsable(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("power-loss tests mount a FUSE file system with mount(2): they need root")
	}
	if _, err := os.Stat("/dev/fuse"); err != nil {
		t.Skipf("power-loss tests need /dev/fuse: %v", err)
	}
}

// mountCrashFS mounts a crashFS of backing on mnt; shadow is an empty
// directory outside both for durable copies. Everything in backing is taken
// as durable.
func mountCrashFS(backing, mnt, shadow string) (*crashFS, error) {
	c := &crashFS{backing: backing, mnt: mnt, shadow: shadow, byIno: make(map[uint64]*mnode)}
	root, err := c.scan(backing)
	if err != nil {
		c.closeFiles()
		return nil, err
	}
	c.root = root
	var st syscall.Stat_t
	if err := syscall.Stat(backing, &st); err != nil {
		c.closeFiles()
		return nil, err
	}
	lroot := &fs.LoopbackRoot{Path: backing, Dev: st.Dev}
	rootNode := &crashNode{LoopbackNode: &fs.LoopbackNode{RootData: lroot}, c: c}
	lroot.RootNode = rootNode
	second := time.Second
	opts := &fs.Options{
		EntryTimeout:    &second,
		AttrTimeout:     &second,
		NegativeTimeout: &second,
		MountOptions: fuse.MountOptions{
			DirectMountStrict: true,
			FsName:            "rookery-crashfs",
			Name:              "crashfs",
			DisableXAttrs:     true,
			// The kernel must not pass reads and writes around us.
			DisabledCapabilities: fuse.CAP_PASSTHROUGH,
			// Only this mount changes the backing files while it is
			// mounted: the kernel's page cache never needs dropping.
			ExplicitDataCacheControl: true,
		},
	}
	server, err := fs.Mount(mnt, rootNode, opts)
	if err != nil {
		c.closeFiles()
		if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.ENODEV) {
			return nil, fmt.Errorf("%w: mount %s: %v", errFUSEUnavailable, mnt, err)
		}
		return nil, fmt.Errorf("mount %s: %w", mnt, err)
	}
	c.server = server
	return c, nil
}

// scan builds the model of what is in dir, all of it durable.
func (c *crashFS) scan(path string) (*mnode, error) {
	var st syscall.Stat_t
	if err := syscall.Lstat(path, &st); err != nil {
		return nil, err
	}
	switch st.Mode & syscall.S_IFMT {
	case syscall.S_IFDIR:
		d := c.newDir(filepath.Base(path), st.Ino, os.FileMode(st.Mode&0o7777))
		ents, err := os.ReadDir(path)
		if err != nil {
			return nil, err
		}
		for _, e := range ents {
			ch, err := c.scan(filepath.Join(path, e.Name()))
			if err != nil {
				return nil, err
			}
			d.live[e.Name()] = ch
			d.durable[e.Name()] = ch
		}
		return d, nil
	case syscall.S_IFREG:
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		m := c.newFile(filepath.Base(path), st.Ino, os.FileMode(st.Mode&0o7777))
		m.orig = f
		m.durSize, m.liveSize = st.Size, st.Size
		return m, nil
	default:
		return nil, fmt.Errorf("crashfs: %s is neither a file nor a directory", path)
	}
}

func (c *crashFS) newDir(name string, ino uint64, perm os.FileMode) *mnode {
	c.nextID++
	d := &mnode{id: c.nextID, name: name, dir: true, perm: perm, ino: ino,
		live: make(map[string]*mnode), durable: make(map[string]*mnode)}
	c.byIno[ino] = d
	c.all = append(c.all, d)
	return d
}

func (c *crashFS) newFile(name string, ino uint64, perm os.FileMode) *mnode {
	c.nextID++
	m := &mnode{id: c.nextID, name: name, perm: perm, ino: ino}
	c.byIno[ino] = m
	c.all = append(c.all, m)
	return m
}

// fault records an inconsistency between the model and the backing
// directory; the test fails on any (Faults).
func (c *crashFS) fault(format string, args ...any) {
	c.faults = append(c.faults, fmt.Sprintf(format, args...))
}

// Faults returns the inconsistencies seen.
func (c *crashFS) Faults() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.faults)
}

// nodeAt returns the model of the live file or directory at backing path p.
func (c *crashFS) nodeAt(p string) (*mnode, syscall.Errno) {
	var st syscall.Stat_t
	if err := syscall.Lstat(p, &st); err != nil {
		return nil, fs.ToErrno(err)
	}
	m := c.byIno[st.Ino]
	if m == nil {
		c.fault("no model of %s (inode %d)", p, st.Ino)
		return nil, syscall.EIO
	}
	return m, 0
}

// detach gives m a durable copy of its own before its live content changes
// for the first time since the mount (its durable content was the backing
// file itself until then).
func (c *crashFS) detach(m *mnode) error {
	if m.orig == nil {
		return nil
	}
	sf, err := os.CreateTemp(c.shadow, fmt.Sprintf("node%d-*", m.id))
	if err != nil {
		return err
	}
	if _, err := io.Copy(sf, io.NewSectionReader(m.orig, 0, m.durSize)); err != nil {
		sf.Close()
		return err
	}
	m.orig.Close()
	m.orig, m.shadow = nil, sf
	return nil
}

// recordWrite notes an unsynced write of data at off.
func (c *crashFS) recordWrite(m *mnode, off int64, data []byte) {
	size := max(m.liveSize, off+int64(len(data)))
	m.recs = append(m.recs, wrec{off: off, data: slices.Clone(data), size: size, prev: m.liveSize})
	m.liveSize = size
	c.pending += int64(len(data))
	c.counts.writes++
	if c.pending > maxPending {
		c.fault("more than %d unsynced bytes held", maxPending)
	}
}

// recordSize notes an unsynced size change.
func (c *crashFS) recordSize(m *mnode, size int64) {
	if size == m.liveSize {
		return
	}
	m.recs = append(m.recs, wrec{size: size, prev: m.liveSize})
	m.liveSize = size
	c.counts.writes++
}

// syncFile makes m's content and size durable.
func (c *crashFS) syncFile(m *mnode) syscall.Errno {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cut {
		return syscall.EIO
	}
	c.counts.fileSyncs++
	if len(m.recs) == 0 {
		return 0
	}
	if m.shadow == nil {
		sf, err := os.CreateTemp(c.shadow, fmt.Sprintf("node%d-*", m.id))
		if err != nil {
			c.fault("shadow of node %d: %v", m.id, err)
			return syscall.EIO
		}
		m.shadow = sf
	}
	for _, r := range m.recs {
		var err error
		if r.data != nil {
			_, err = m.shadow.WriteAt(r.data, r.off)
			c.pending -= int64(len(r.data))
		} else {
			err = m.shadow.Truncate(r.size)
		}
		if err != nil {
			c.fault("shadow of node %d: %v", m.id, err)
			return syscall.EIO
		}
	}
	m.recs = nil
	m.durSize = m.liveSize
	if fi, err := m.shadow.Stat(); err != nil || fi.Size() != m.durSize {
		c.fault("shadow of node %d: size %v (%v), want %d", m.id, fi.Size(), err, m.durSize)
	}
	return 0
}

// syncDir makes d's entries durable; path is where d is in the backing
// directory, read to check the model against.
func (c *crashFS) syncDir(d *mnode, path string) syscall.Errno {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cut {
		return syscall.EIO
	}
	c.counts.dirSyncs++
	d.durable = maps.Clone(d.live)
	d.ops = nil
	ents, err := os.ReadDir(path)
	if err != nil {
		c.fault("reading %s: %v", path, err)
		return 0
	}
	if len(ents) != len(d.live) {
		c.fault("%s: %d entries, the model has %d", path, len(ents), len(d.live))
	}
	for _, e := range ents {
		fi, err := e.Info()
		if err != nil {
			continue
		}
		if m := d.live[e.Name()]; m == nil || m.ino != fi.Sys().(*syscall.Stat_t).Ino {
			c.fault("%s/%s: not in the model", path, e.Name())
		}
	}
	return 0
}

// addEntry and removeEntry record namespace changes of d.
func (c *crashFS) addEntry(d *mnode, name string, m *mnode) {
	d.live[name] = m
	d.ops = append(d.ops, nsOp{name, m})
	c.counts.namespace++
}

func (c *crashFS) removeEntry(d *mnode, name string) {
	delete(d.live, name)
	d.ops = append(d.ops, nsOp{name, nil})
	c.counts.namespace++
}

// Cut is the power cut: every later operation fails with EIO and changes
// nothing, so what the model holds is the history up to this moment.
// TestPowerLoss kills the server first and cuts after it has died, so the
// server never sees an error: every request it made before dying is part
// of the history (an fsync it sent but never saw answered may count as
// done, which is a state a disk may be in too).
func (c *crashFS) Cut() {
	c.mu.Lock()
	c.cut = true
	c.mu.Unlock()
}

// Unmount unmounts the file system, detaching it lazily if it stays busy
// (files of a process that is still dying).
func (c *crashFS) Unmount() error {
	if c.server == nil {
		return nil
	}
	err := c.server.Unmount()
	if err != nil {
		if derr := syscall.Unmount(c.mnt, syscall.MNT_DETACH); derr != nil {
			return fmt.Errorf("crashfs: unmount %s: %v; detach: %v", c.mnt, err, derr)
		}
	}
	done := make(chan struct{})
	go func() { c.server.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		return fmt.Errorf("crashfs: unmount %s: serving did not stop (%v)", c.mnt, err)
	}
	c.server = nil
	return nil
}

// Close releases the model's files, after Unmount and Recover.
func (c *crashFS) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closeFiles()
}

// closeFiles closes the model's open files.
func (c *crashFS) closeFiles() {
	for _, m := range c.all {
		c.closeNode(m)
	}
}

func (c *crashFS) closeNode(m *mnode) {
	if m.orig != nil {
		m.orig.Close()
		m.orig = nil
	}
	if m.shadow != nil {
		m.shadow.Close()
		m.shadow = nil
	}
}

// unsyncedSummary describes what the power cut may lose.
func (c *crashFS) unsyncedSummary() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var recs, dirs, ops int
	var files []string
	live := map[*mnode]bool{}
	var walk func(d *mnode)
	walk = func(d *mnode) {
		live[d] = true
		for _, m := range d.live {
			if m.dir && !live[m] {
				walk(m)
			}
			live[m] = true
		}
	}
	walk(c.root)
	for _, m := range c.all {
		if m.dir && len(m.ops) > 0 {
			dirs++
			ops += len(m.ops)
		}
		if !m.dir && len(m.recs) > 0 {
			var bytes int64
			for _, r := range m.recs {
				bytes += int64(len(r.data))
			}
			recs += len(m.recs)
			name := m.name
			if !live[m] {
				name += " (unlinked)"
			}
			files = append(files, fmt.Sprintf("%s %d KiB", name, bytes>>10))
		}
	}
	sort.Strings(files)
	if len(files) > 6 {
		files = append(files[:6], "…")
	}
	return fmt.Sprintf("seen %d writes, %d file syncs, %d directory syncs, %d namespace changes; unsynced at the cut: %d changes to %d files (%s), %d namespace changes in %d directories",
		c.counts.writes, c.counts.fileSyncs, c.counts.dirSyncs, c.counts.namespace, recs, len(files), strings.Join(files, ", "), ops, dirs)
}

// Recover writes into dst (which must not exist) the state of the backing
// directory after a power cut at Cut, losing unsynced changes as mode
// says (choices from rng). It may be called several times (for several
// outcomes of one cut).
func (c *crashFS) Recover(dst string, mode lossMode, rng *rand.Rand) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.cut {
		return errors.New("crashfs: Recover before Cut")
	}
	r := &recovery{c: c, mode: mode, rng: rng, written: make(map[*mnode]string), dirs: make(map[*mnode]bool)}
	if err := os.Mkdir(dst, c.root.perm); err != nil {
		return err
	}
	return r.dir(c.root, dst)
}

type recovery struct {
	c       *crashFS
	mode    lossMode
	rng     *rand.Rand
	written map[*mnode]string // files already written → the path
	dirs    map[*mnode]bool   // directories already written
}

// prefix picks how many of n unsynced changes survive.
func (r *recovery) prefix(n int) int {
	if r.mode == loseAllUnsynced || n == 0 {
		return 0
	}
	switch r.rng.IntN(4) {
	case 0:
		return 0
	case 1:
		return n
	default:
		return r.rng.IntN(n + 1)
	}
}

func (r *recovery) dir(d *mnode, path string) error {
	r.dirs[d] = true
	ents := maps.Clone(d.durable)
	for _, op := range d.ops[:r.prefix(len(d.ops))] {
		if op.node == nil {
			delete(ents, op.name)
		} else {
			ents[op.name] = op.node
		}
	}
	names := make([]string, 0, len(ents))
	for name := range ents {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		m, p := ents[name], filepath.Join(path, name)
		switch {
		case m.dir && r.dirs[m]:
			// A directory renamed without syncing both parents may be
			// named in both; a file system shows it once.
			continue
		case m.dir:
			if err := os.Mkdir(p, m.perm); err != nil {
				return err
			}
			if err := r.dir(m, p); err != nil {
				return err
			}
		case r.written[m] != "":
			b, err := os.ReadFile(r.written[m])
			if err != nil {
				return err
			}
			if err := os.WriteFile(p, b, m.perm); err != nil {
				return err
			}
		default:
			b, err := r.content(m)
			if err != nil {
				return err
			}
			if err := os.WriteFile(p, b, m.perm); err != nil {
				return err
			}
			r.written[m] = p
		}
	}
	return nil
}

// content is what file m holds after the cut.
func (r *recovery) content(m *mnode) ([]byte, error) {
	base := make([]byte, m.durSize)
	var src io.ReaderAt
	switch {
	case m.orig != nil:
		src = m.orig
	case m.shadow != nil:
		src = m.shadow
	}
	if src != nil {
		if _, err := src.ReadAt(base, 0); err != nil && err != io.EOF {
			return nil, err
		}
	}
	if r.mode == loseAllUnsynced || len(m.recs) == 0 {
		return base, nil
	}
	sizes := []int64{m.durSize}
	pages := map[int64][]int{}
	end := m.durSize
	for i, w := range m.recs {
		lo, hi := w.off, w.off+int64(len(w.data))
		if w.data == nil {
			lo, hi = w.size, w.prev // a shrink clears [size, prev)
		}
		for p := lo / crashPage; lo < hi && p <= (hi-1)/crashPage; p++ {
			pages[p] = append(pages[p], i)
		}
		sizes = append(sizes, w.size)
		end = max(end, hi, w.size)
	}
	buf := make([]byte, end)
	copy(buf, base)
	keys := make([]int64, 0, len(pages))
	for p := range pages {
		keys = append(keys, p)
	}
	slices.Sort(keys)
	for _, p := range keys {
		idx := pages[p]
		plo, phi := p*crashPage, (p+1)*crashPage
		for _, i := range idx[:r.prefix(len(idx))] {
			w := m.recs[i]
			if w.data == nil {
				lo, hi := max(plo, w.size), min(phi, w.prev)
				clear(buf[lo:hi])
				continue
			}
			lo, hi := max(plo, w.off), min(phi, w.off+int64(len(w.data)))
			copy(buf[lo:hi], w.data[lo-w.off:hi-w.off])
		}
	}
	var size int64
	switch r.rng.IntN(3) {
	case 0:
		size = m.durSize
	case 1:
		size = m.liveSize
	default:
		size = sizes[r.rng.IntN(len(sizes))]
	}
	return buf[:size], nil
}

// crashNode is a node of the mounted tree: a loopback node whose changes
// are recorded in the model.
type crashNode struct {
	*fs.LoopbackNode
	c *crashFS
}

var (
	_ fs.NodeWrapChilder    = (*crashNode)(nil)
	_ fs.NodeCreater        = (*crashNode)(nil)
	_ fs.NodeOpener         = (*crashNode)(nil)
	_ fs.NodeOpendirHandler = (*crashNode)(nil)
	_ fs.NodeMkdirer        = (*crashNode)(nil)
	_ fs.NodeUnlinker       = (*crashNode)(nil)
	_ fs.NodeRmdirer        = (*crashNode)(nil)
	_ fs.NodeRenamer        = (*crashNode)(nil)
	_ fs.NodeSetattrer      = (*crashNode)(nil)
	_ fs.NodeFsyncer        = (*crashNode)(nil)
	_ fs.NodeAllocater      = (*crashNode)(nil)
	_ fs.NodeMknoder        = (*crashNode)(nil)
	_ fs.NodeLinker         = (*crashNode)(nil)
	_ fs.NodeSymlinker      = (*crashNode)(nil)
	_ fs.NodeCopyFileRanger = (*crashNode)(nil)
	_ fs.FileReader         = (*crashFile)(nil)
	_ fs.FileWriter         = (*crashFile)(nil)
	_ fs.FileWritever       = (*crashFile)(nil)
	_ fs.FileFsyncer        = (*crashFile)(nil)
	_ fs.FileAllocater      = (*crashFile)(nil)
	_ fs.FileGetattrer      = (*crashFile)(nil)
	_ fs.FileReleaser       = (*crashFile)(nil)
	_ fs.FileFlusher        = (*crashFile)(nil)
	_ fs.FileLseeker        = (*crashFile)(nil)
	_ fs.FileReaddirenter   = (*crashDir)(nil)
	_ fs.FileSeekdirer      = (*crashDir)(nil)
	_ fs.FileReleasedirer   = (*crashDir)(nil)
	_ fs.FileFsyncdirer     = (*crashDir)(nil)
)

// WrapChild makes every node of the tree a crashNode.
func (n *crashNode) WrapChild(ctx context.Context, ops fs.InodeEmbedder) fs.InodeEmbedder {
	if cn, ok := ops.(*crashNode); ok {
		return cn
	}
	return &crashNode{LoopbackNode: ops.(*fs.LoopbackNode), c: n.c}
}

// bpath is the node's path in the backing directory.
func (n *crashNode) bpath() string {
	return filepath.Join(n.RootData.Path, n.Path(n.Root()))
}

// openFlags are the flags for opening the backing file again: the kernel
// handles O_APPEND, and creation and truncation are done by then.
func openFlags(flags uint32) int {
	return int(flags) &^ (syscall.O_APPEND | syscall.O_CREAT | syscall.O_EXCL | syscall.O_TRUNC | fuse.FMODE_EXEC)
}

// Create creates (or opens) name in n.
func (n *crashNode) Create(ctx context.Context, name string, flags uint32, mode uint32, out *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	c := n.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cut {
		return nil, nil, 0, syscall.EIO
	}
	d, errno := c.nodeAt(n.bpath())
	if errno != 0 {
		return nil, nil, 0, errno
	}
	old := d.live[name]
	if old != nil && flags&syscall.O_TRUNC != 0 {
		if err := c.detach(old); err != nil {
			return nil, nil, 0, fs.ToErrno(err)
		}
	}
	ch, lf, fuseFlags, errno := n.LoopbackNode.Create(ctx, name, flags, mode, out)
	if errno != 0 {
		return nil, nil, 0, errno
	}
	if r, ok := lf.(fs.FileReleaser); ok {
		r.Release(ctx)
	}
	p := filepath.Join(n.bpath(), name)
	f, err := os.OpenFile(p, openFlags(flags), 0)
	if err != nil {
		c.fault("reopening %s: %v", p, err)
		return nil, nil, 0, fs.ToErrno(err)
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		f.Close()
		return nil, nil, 0, fs.ToErrno(err)
	}
	m := old
	if m == nil {
		m = c.newFile(name, st.Ino, os.FileMode(st.Mode&0o7777))
		c.addEntry(d, name, m)
	} else if flags&syscall.O_TRUNC != 0 {
		c.recordSize(m, 0)
	}
	return ch, &crashFile{c: c, node: m, f: f}, fuseFlags, 0
}

// Open opens the file.
func (n *crashNode) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	c := n.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cut {
		return nil, 0, syscall.EIO
	}
	p := n.bpath()
	m, errno := c.nodeAt(p)
	if errno != 0 {
		return nil, 0, errno
	}
	trunc := flags&syscall.O_TRUNC != 0 && flags&syscall.O_ACCMODE != syscall.O_RDONLY
	if trunc {
		if err := c.detach(m); err != nil {
			return nil, 0, fs.ToErrno(err)
		}
	}
	f, err := os.OpenFile(p, openFlags(flags)|int(flags&syscall.O_TRUNC), 0)
	if err != nil {
		return nil, 0, fs.ToErrno(err)
	}
	if trunc {
		c.recordSize(m, 0)
	}
	return &crashFile{c: c, node: m, f: f}, 0, 0
}

// OpendirHandle opens the directory, for reading and for fsync.
func (n *crashNode) OpendirHandle(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	c := n.c
	p := n.bpath()
	c.mu.Lock()
	d, errno := c.nodeAt(p)
	c.mu.Unlock()
	if errno != 0 {
		return nil, 0, errno
	}
	ds, fuseFlags, errno := n.LoopbackNode.OpendirHandle(ctx, flags)
	if errno != 0 {
		return nil, 0, errno
	}
	return &crashDir{c: c, node: d, path: p, ds: ds}, fuseFlags, 0
}

// Mkdir creates a directory.
func (n *crashNode) Mkdir(ctx context.Context, name string, mode uint32, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	c := n.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cut {
		return nil, syscall.EIO
	}
	d, errno := c.nodeAt(n.bpath())
	if errno != 0 {
		return nil, errno
	}
	ch, errno := n.LoopbackNode.Mkdir(ctx, name, mode, out)
	if errno != 0 {
		return nil, errno
	}
	var st syscall.Stat_t
	if err := syscall.Lstat(filepath.Join(n.bpath(), name), &st); err != nil {
		c.fault("mkdir %s: %v", name, err)
		return nil, syscall.EIO
	}
	c.addEntry(d, name, c.newDir(name, st.Ino, os.FileMode(st.Mode&0o7777)))
	return ch, 0
}

// Unlink removes a file.
func (n *crashNode) Unlink(ctx context.Context, name string) syscall.Errno {
	return n.remove(ctx, name, n.LoopbackNode.Unlink)
}

// Rmdir removes a directory.
func (n *crashNode) Rmdir(ctx context.Context, name string) syscall.Errno {
	return n.remove(ctx, name, n.LoopbackNode.Rmdir)
}

func (n *crashNode) remove(ctx context.Context, name string, op func(context.Context, string) syscall.Errno) syscall.Errno {
	c := n.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cut {
		return syscall.EIO
	}
	d, errno := c.nodeAt(n.bpath())
	if errno != 0 {
		return errno
	}
	if errno := op(ctx, name); errno != 0 {
		return errno
	}
	c.removeEntry(d, name)
	return 0
}

// Rename renames name in n to newName in newParent (RENAME_NOREPLACE
// allowed, RENAME_EXCHANGE and whiteouts refused).
func (n *crashNode) Rename(ctx context.Context, name string, newParent fs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	if flags&^unix.RENAME_NOREPLACE != 0 {
		return syscall.ENOTSUP
	}
	np, ok := newParent.(*crashNode)
	if !ok {
		return syscall.EXDEV
	}
	c := n.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cut {
		return syscall.EIO
	}
	src, errno := c.nodeAt(n.bpath())
	if errno != 0 {
		return errno
	}
	dst, errno := c.nodeAt(np.bpath())
	if errno != 0 {
		return errno
	}
	m := src.live[name]
	if m == nil {
		c.fault("rename of %s: not in the model", name)
		return syscall.EIO
	}
	if errno := n.LoopbackNode.Rename(ctx, name, newParent, newName, flags); errno != 0 {
		return errno
	}
	c.removeEntry(src, name)
	c.addEntry(dst, newName, m)
	return 0
}

// Setattr changes attributes; a size change is recorded.
func (n *crashNode) Setattr(ctx context.Context, f fs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	c := n.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cut {
		return syscall.EIO
	}
	if size, ok := in.GetSize(); ok {
		cf, _ := f.(*crashFile)
		var m *mnode
		if cf != nil {
			m = cf.node
		} else {
			var errno syscall.Errno
			if m, errno = c.nodeAt(n.bpath()); errno != 0 {
				return errno
			}
		}
		if err := c.detach(m); err != nil {
			return fs.ToErrno(err)
		}
		var err error
		if cf != nil {
			err = cf.f.Truncate(int64(size))
		} else {
			err = os.Truncate(n.bpath(), int64(size))
		}
		if err != nil {
			return fs.ToErrno(err)
		}
		c.recordSize(m, int64(size))
	}
	rest := *in
	rest.Valid &^= fuse.FATTR_SIZE
	return n.LoopbackNode.Setattr(ctx, f, &rest, out)
}

// Fsync goes to the open file or directory; the kernel always sends one,
// and an fsync without one is refused (and recorded as a fault) rather
// than guessed at.
func (n *crashNode) Fsync(ctx context.Context, f fs.FileHandle, flags uint32) syscall.Errno {
	switch h := f.(type) {
	case *crashFile:
		return h.Fsync(ctx, flags)
	case *crashDir:
		return h.Fsyncdir(ctx, flags)
	}
	n.c.mu.Lock()
	n.c.fault("fsync without a handle of %s", n.bpath())
	n.c.mu.Unlock()
	return syscall.EIO
}

// Allocate goes to the handle.
func (n *crashNode) Allocate(ctx context.Context, f fs.FileHandle, off uint64, size uint64, mode uint32) syscall.Errno {
	if h, ok := f.(*crashFile); ok {
		return h.Allocate(ctx, off, size, mode)
	}
	return syscall.ENOTSUP
}

// Mknod is refused: only files and directories are modelled.
func (n *crashNode) Mknod(ctx context.Context, name string, mode, rdev uint32, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	return nil, syscall.EPERM
}

// Link is refused: the model has one name per file.
func (n *crashNode) Link(ctx context.Context, target fs.InodeEmbedder, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	return nil, syscall.EPERM
}

// Symlink is refused.
func (n *crashNode) Symlink(ctx context.Context, target, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	return nil, syscall.EPERM
}

// CopyFileRange is refused (the kernel then copies with reads and writes).
func (n *crashNode) CopyFileRange(ctx context.Context, fhIn fs.FileHandle, offIn uint64, out *fs.Inode, fhOut fs.FileHandle, offOut uint64, length uint64, flags uint64) (uint32, syscall.Errno) {
	return 0, syscall.ENOTSUP
}

// crashFile is an open file: reads and writes go to the backing file,
// writes and syncs to the model as well.
type crashFile struct {
	c    *crashFS
	node *mnode
	f    *os.File
}

// Read reads from the backing file.
func (h *crashFile) Read(ctx context.Context, buf []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	n, err := h.f.ReadAt(buf, off)
	if err != nil && err != io.EOF {
		return nil, fs.ToErrno(err)
	}
	return fuse.ReadResultData(buf[:n]), 0
}

// Write writes through and records the write.
func (h *crashFile) Write(ctx context.Context, data []byte, off int64) (uint32, syscall.Errno) {
	c := h.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cut {
		return 0, syscall.EIO
	}
	if err := c.detach(h.node); err != nil {
		return 0, fs.ToErrno(err)
	}
	n, err := h.f.WriteAt(data, off)
	if n > 0 {
		c.recordWrite(h.node, off, data[:n])
	}
	if err != nil {
		return uint32(n), fs.ToErrno(err)
	}
	return uint32(n), 0
}

// Writev writes several slices at off.
func (h *crashFile) Writev(ctx context.Context, data [][]byte, off int64) (uint32, syscall.Errno) {
	n, errno := h.Write(ctx, slices.Concat(data...), off)
	return n, errno
}

// Fsync makes the file's content durable in the model.
func (h *crashFile) Fsync(ctx context.Context, flags uint32) syscall.Errno {
	return h.c.syncFile(h.node)
}

// Allocate supports plain preallocation (mode 0, or keeping the size).
func (h *crashFile) Allocate(ctx context.Context, off uint64, size uint64, mode uint32) syscall.Errno {
	if mode&^unix.FALLOC_FL_KEEP_SIZE != 0 {
		return syscall.ENOTSUP
	}
	c := h.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cut {
		return syscall.EIO
	}
	if err := c.detach(h.node); err != nil {
		return fs.ToErrno(err)
	}
	if err := unix.Fallocate(int(h.f.Fd()), mode, int64(off), int64(size)); err != nil {
		return fs.ToErrno(err)
	}
	if end := int64(off + size); mode == 0 && end > h.node.liveSize {
		c.recordSize(h.node, end)
	}
	return 0
}

// Getattr describes the backing file.
func (h *crashFile) Getattr(ctx context.Context, out *fuse.AttrOut) syscall.Errno {
	var st syscall.Stat_t
	if err := syscall.Fstat(int(h.f.Fd()), &st); err != nil {
		return fs.ToErrno(err)
	}
	out.FromStat(&st)
	return 0
}

// Lseek answers SEEK_DATA and SEEK_HOLE.
func (h *crashFile) Lseek(ctx context.Context, off uint64, whence uint32) (uint64, syscall.Errno) {
	n, err := unix.Seek(int(h.f.Fd()), int64(off), int(whence))
	return uint64(n), fs.ToErrno(err)
}

// Flush does nothing: nothing is buffered here.
func (h *crashFile) Flush(ctx context.Context) syscall.Errno { return 0 }

// Release closes the backing file.
func (h *crashFile) Release(ctx context.Context) syscall.Errno {
	return fs.ToErrno(h.f.Close())
}

// crashDir is an open directory.
type crashDir struct {
	c    *crashFS
	node *mnode
	path string
	ds   fs.FileHandle
}

// Readdirent reads an entry.
func (d *crashDir) Readdirent(ctx context.Context) (*fuse.DirEntry, syscall.Errno) {
	return d.ds.(fs.FileReaddirenter).Readdirent(ctx)
}

// Seekdir rewinds.
func (d *crashDir) Seekdir(ctx context.Context, off uint64) syscall.Errno {
	return d.ds.(fs.FileSeekdirer).Seekdir(ctx, off)
}

// Releasedir closes the directory.
func (d *crashDir) Releasedir(ctx context.Context, flags uint32) {
	d.ds.(fs.FileReleasedirer).Releasedir(ctx, flags)
}

// Fsyncdir makes the directory's entries durable in the model.
func (d *crashDir) Fsyncdir(ctx context.Context, flags uint32) syscall.Errno {
	return d.c.syncDir(d.node, d.path)
}
