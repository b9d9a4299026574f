package tests

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// mountForTest mounts a crashFS over backing for t, skipping t where FUSE
// cannot be mounted; the file system is unmounted when t ends.
func mountForTest(t *testing.T, backing string) (*crashFS, string) {
	t.Helper()
	fuseUsable(t)
	base := t.TempDir()
	mnt, shadow := filepath.Join(base, "mnt"), filepath.Join(base, "shadow")
	for _, d := range []string{mnt, shadow} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	c, err := mountCrashFS(backing, mnt, shadow)
	if errors.Is(err, errFUSEUnavailable) {
		t.Skipf("cannot mount FUSE here: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Cut()
		if err := c.Unmount(); err != nil {
			t.Error(err)
		}
		c.Close()
		for _, f := range c.Faults() {
			t.Errorf("crashfs model fault: %s", f)
		}
	})
	return c, mnt
}

// syncPath fsyncs a file or directory by name.
func syncPath(t *testing.T, p string) {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		t.Fatalf("fsync %s: %v", p, err)
	}
}

// writeAt writes b at off in p (creating it) and optionally fsyncs it.
func writeAt(t *testing.T, p string, off int64, b []byte, sync bool) {
	t.Helper()
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
	if sync {
		if err := f.Sync(); err != nil {
			t.Fatal(err)
		}
	}
}

// readTree returns every file under dir by relative path ("d/" for
// directories).
func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() {
			out[rel+"/"] = ""
			return nil
		}
		b, err := os.ReadFile(p)
		out[rel] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestCrashFSModel checks the power-loss model of crashFS itself: what was
// fsynced survives, unsynced writes and namespace changes (including a
// rename without a directory sync) are dropped by loseAllUnsynced, and
// loseSomeUnsynced only ever yields states between the synced one and the
// latest one, never losing synced data. It also checks that a shared
// writable mapping (as SQLite's -shm) works on the mount.
func TestCrashFSModel(t *testing.T) {
	backing := t.TempDir()
	pre := bytes.Repeat([]byte("pre-existing "), 1000) // 13,000 bytes: 4 pages
	for _, name := range []string{"pre", "pre-trunc", "pre-unlink"} {
		if err := os.WriteFile(filepath.Join(backing, name), pre, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{"sub", "blobdir"} {
		if err := os.Mkdir(filepath.Join(backing, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	c, mnt := mountForTest(t, backing)
	at := func(name string) string { return filepath.Join(mnt, name) }
	synced := bytes.Repeat([]byte("S"), 10000)
	unsynced := bytes.Repeat([]byte("U"), 9000)

	// Phase A, ending with the root directory's only sync.
	writeAt(t, at("synced"), 0, synced, true)
	writeAt(t, at("entry-only"), 0, nil, false)
	writeAt(t, at("mapped"), 0, make([]byte, 8192), true)
	syncPath(t, mnt)

	// Phase B: the root directory is not synced again.
	writeAt(t, at("entry-only"), 0, unsynced, false)      // entry synced, content not
	writeAt(t, at("content-only"), 0, synced, true)       // content synced, entry not
	writeAt(t, at("synced"), 8192, unsynced[:100], false) // synced, then written again
	writeAt(t, at("pre"), 0, []byte("XXXX"), false)
	if err := os.Truncate(at("pre-trunc"), 100); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(at("pre-unlink")); err != nil {
		t.Fatal(err)
	}
	// A rename with no directory sync after it: the source's entry was
	// synced, the target's never is.
	writeAt(t, at("sub/tmp1"), 0, synced, true)
	syncPath(t, at("sub"))
	if err := os.Rename(at("sub/tmp1"), at("moved-unsynced")); err != nil {
		t.Fatal(err)
	}
	// blob.Put's order: file synced, renamed, target directory synced.
	writeAt(t, at("sub/tmp2"), 0, synced, true)
	if err := os.Rename(at("sub/tmp2"), at("blobdir/final")); err != nil {
		t.Fatal(err)
	}
	syncPath(t, at("blobdir"))
	// A new directory, itself synced, in the unsynced root.
	if err := os.Mkdir(at("newdir"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeAt(t, at("newdir/f"), 0, synced, true)
	syncPath(t, at("newdir"))
	// A shared writable mapping, as SQLite maps its -shm file: the second
	// page written back and fsynced (msync with MS_SYNC is an fsync), the
	// first only written back (sync_file_range, which sends WRITE
	// requests and no FSYNC).
	mf, err := os.OpenFile(at("mapped"), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	mem, err := unix.Mmap(int(mf.Fd()), 0, 8192, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		t.Fatalf("shared writable mmap on the mount: %v", err)
	}
	copy(mem[4096:], "mapped and synced")
	mustOK(t, unix.Msync(mem, unix.MS_SYNC))
	mustOK(t, mf.Sync())
	copy(mem, "mapped, not synced")
	mustOK(t, unix.SyncFileRange(int(mf.Fd()), 0, 0, unix.SYNC_FILE_RANGE_WAIT_BEFORE|unix.SYNC_FILE_RANGE_WRITE|unix.SYNC_FILE_RANGE_WAIT_AFTER))
	mustOK(t, unix.Munmap(mem))
	mustOK(t, mf.Close())
	latest := readTree(t, mnt)

	c.Cut()
	if err := os.WriteFile(at("after-cut"), []byte("x"), 0o644); err == nil {
		t.Error("a write after Cut succeeded")
	}
	if err := c.Unmount(); err != nil {
		t.Fatal(err)
	}

	dst := filepath.Join(t.TempDir(), "after")
	if err := c.Recover(dst, loseAllUnsynced, rand.New(rand.NewPCG(1, 2))); err != nil {
		t.Fatal(err)
	}
	mappedWant := make([]byte, 8192)
	copy(mappedWant[4096:], "mapped and synced")
	want := map[string]string{
		"synced":        string(synced),
		"entry-only":    "",
		"mapped":        string(mappedWant),
		"pre":           string(pre),
		"pre-trunc":     string(pre),
		"pre-unlink":    string(pre),
		"sub/":          "",
		"sub/tmp1":      string(synced),
		"blobdir/":      "",
		"blobdir/final": string(synced),
	}
	compareTrees(t, "drop all unsynced", readTree(t, dst), want)

	// loseSomeUnsynced: synced data always survives, every file is page by
	// page between its synced and its latest state, and names changed
	// since their directory's sync are there or not.
	optional := map[string]string{
		"pre-unlink":     string(pre),
		"sub/tmp1":       string(synced),
		"sub/tmp2":       string(synced),
		"content-only":   string(synced),
		"moved-unsynced": string(synced),
		"newdir/":        "",
		"newdir/f":       string(synced),
	}
	outcomes := map[string]bool{}
	for seed := uint64(0); seed < 40; seed++ {
		dst := filepath.Join(t.TempDir(), "some")
		if err := c.Recover(dst, loseSomeUnsynced, rand.New(rand.NewPCG(seed, 7))); err != nil {
			t.Fatal(err)
		}
		got := readTree(t, dst)
		for name, w := range want {
			g, ok := got[name]
			switch {
			case optional[name] != "":
				// checked below
			case !ok:
				t.Errorf("seed %d: %s lost (it was synced)", seed, name)
			case !between(g, w, latest[name]):
				t.Errorf("seed %d: %s (%d bytes) is not page by page its synced or its latest content", seed, name, len(g))
			}
		}
		for name, g := range got {
			if _, ok := want[name]; ok && optional[name] == "" {
				continue
			}
			w, ok := optional[name]
			switch {
			case !ok:
				t.Errorf("seed %d: unexpected %s", seed, name)
			case g != w:
				t.Errorf("seed %d: %s has %d bytes, want its synced content", seed, name, len(g))
			}
			outcomes[name] = true
		}
		outcomes["pre kept "+strconvBool(got["pre"][:4] == "XXXX")] = true
		outcomes["entry-only size "+strconvBool(len(got["entry-only"]) > 0)] = true
		outcomes["mapped page written back "+strconvBool(strings.HasPrefix(got["mapped"], "mapped"))] = true
	}
	for _, o := range []string{"pre kept true", "pre kept false", "entry-only size true", "entry-only size false", "content-only", "newdir/f", "sub/tmp2",
		"mapped page written back true", "mapped page written back false"} {
		if !outcomes[o] {
			t.Errorf("40 seeds of loseSomeUnsynced never gave the outcome %q", o)
		}
	}
}

func strconvBool(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// between reports whether got is, page by page, either the synced or the
// latest content (a tail beyond either reading as zeros).
func between(got, synced, latest string) bool {
	if got == synced || got == latest {
		return true
	}
	pad := func(s string, n int) string {
		if len(s) >= n {
			return s[:n]
		}
		return s + strings.Repeat("\x00", n-len(s))
	}
	n := len(got)
	s, l := pad(synced, n), pad(latest, n)
	for off := 0; off < n; off += crashPage {
		end := min(off+crashPage, n)
		if got[off:end] != s[off:end] && got[off:end] != l[off:end] {
			return false
		}
	}
	return true
}

func compareTrees(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	for name, w := range want {
		g, ok := got[name]
		switch {
		case !ok:
			t.Errorf("%s: %s missing", what, name)
		case g != w:
			t.Errorf("%s: %s has %d bytes %.20q…, want %d bytes %.20q…", what, name, len(g), g, len(w), w)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("%s: unexpected %s", what, name)
		}
	}
}
