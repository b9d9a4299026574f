package blob

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func newStore(t *testing.T, fsys FS) *Store {
	t.Helper()
	s, err := New(filepath.Join(t.TempDir(), "blobs"), fsys)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func listIDs(t *testing.T, s *Store) []string {
	t.Helper()
	var ids []string
	if err := s.List(context.Background(), func(id string, _ int64) error {
		ids = append(ids, id)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return ids
}

func tmpCount(t *testing.T, s *Store) int {
	t.Helper()
	ents, err := OSFS{}.ReadDir(filepath.Join(s.Dir(), tmpDir))
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

func TestPutOpenDelete(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, nil)
	content := []byte("Subject: hi\r\n\r\nhello\r\n")
	id, size, err := s.Put(ctx, bytes.NewReader(content), -1)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(content)
	if id != hex.EncodeToString(sum[:]) || size != int64(len(content)) {
		t.Fatalf("Put = %s, %d", id, size)
	}
	r, err := s.Open(id)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(io.NewSectionReader(r, 0, r.Size()))
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("read back %q, %v", got, err)
	}
	r.Close()

	// Same content again: one file.
	id2, _, err := s.Put(ctx, bytes.NewReader(content), int64(len(content)))
	if err != nil || id2 != id {
		t.Fatalf("second Put = %s, %v", id2, err)
	}
	if ids := listIDs(t, s); len(ids) != 1 || ids[0] != id {
		t.Fatalf("List = %v", ids)
	}
	if n, err := s.Stat(id); err != nil || n != size {
		t.Fatalf("Stat = %d, %v", n, err)
	}
	if err := s.Delete(id); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(id); err != nil {
		t.Fatalf("second Delete: %v", err)
	}
	if _, err := s.Open(id); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Open after Delete: %v", err)
	}
	if _, err := s.Open("../etc/passwd"); !errors.Is(err, ErrInvalidID) {
		t.Fatalf("Open bad id: %v", err)
	}
	if tmpCount(t, s) != 0 {
		t.Fatal("temporary files left")
	}
}

func TestTooBig(t *testing.T) {
	s := newStore(t, nil)
	_, _, err := s.Put(context.Background(), strings.NewReader("0123456789"), 9)
	if !errors.Is(err, ErrTooBig) {
		t.Fatalf("err = %v", err)
	}
	if _, _, err := s.Put(context.Background(), strings.NewReader("0123456789"), 10); err != nil {
		t.Fatalf("exact size: %v", err)
	}
	if ids := listIDs(t, s); len(ids) != 1 {
		t.Fatalf("List = %v", ids)
	}
	if tmpCount(t, s) != 0 {
		t.Fatal("temporary files left")
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("client went away") }

func TestFaults(t *testing.T) {
	for _, op := range []Op{OpCreate, OpWrite, OpSync, OpClose, OpRename, OpSyncDir} {
		t.Run(string(op), func(t *testing.T) {
			ffs := NewFaultFS(OSFS{})
			s := newStore(t, ffs)
			ffs.FailOp(op)
			_, _, err := s.Put(context.Background(), strings.NewReader("content"), -1)
			if !errors.Is(err, ErrInjected) {
				t.Fatalf("err = %v", err)
			}
			ffs.SetFail(nil)
			// A failure before the rename leaves nothing visible.
			if op != OpSyncDir {
				if ids := listIDs(t, s); len(ids) != 0 {
					t.Fatalf("visible blobs after failed %s: %v", op, ids)
				}
			}
			if tmpCount(t, s) != 0 {
				t.Fatal("temporary files left")
			}
			// And the store still works.
			if _, _, err := s.Put(context.Background(), strings.NewReader("content"), -1); err != nil {
				t.Fatal(err)
			}
		})
	}
	t.Run("reader", func(t *testing.T) {
		s := newStore(t, nil)
		if _, _, err := s.Put(context.Background(), errReader{}, -1); err == nil {
			t.Fatal("no error")
		}
		if tmpCount(t, s) != 0 || len(listIDs(t, s)) != 0 {
			t.Fatal("left files")
		}
	})
	t.Run("canceled", func(t *testing.T) {
		s := newStore(t, nil)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, _, err := s.Put(ctx, strings.NewReader("x"), -1); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestConcurrentSameContent(t *testing.T) {
	s := newStore(t, nil)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, _, err := s.Put(context.Background(), strings.NewReader("same"), -1); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if ids := listIDs(t, s); len(ids) != 1 {
		t.Fatalf("List = %v", ids)
	}
	if tmpCount(t, s) != 0 {
		t.Fatal("temporary files left")
	}
}

func TestNewRemovesTemporaryFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "blobs")
	s, err := New(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	mk := func(age time.Duration) string {
		t.Helper()
		f, err := OSFS{}.CreateTemp(filepath.Join(dir, tmpDir), "put-*")
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
		if err := (OSFS{}).Chtimes(f.Name(), time.Now().Add(-age)); err != nil {
			t.Fatal(err)
		}
		return filepath.Base(f.Name())
	}
	stale := mk(StaleTemporary + time.Minute)
	live := mk(time.Minute) // another process's Put in progress
	if _, err := New(dir, nil); err != nil {
		t.Fatal(err)
	}
	ents, err := OSFS{}.ReadDir(filepath.Join(s.Dir(), tmpDir))
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 || ents[0].Name() != live {
		t.Fatalf("temporary files after New: %v; want only %s (not %s)", ents, live, stale)
	}
}

// TestPutSameContentRefreshesTime checks that storing a content already
// stored marks its file as just written (a repair pass spares young
// unreferenced files), and stores it again if it vanished meanwhile.
func TestPutSameContentRefreshesTime(t *testing.T) {
	s := newStore(t, nil)
	ctx := context.Background()
	id, _, err := s.Put(ctx, strings.NewReader("content"), -1)
	if err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-48 * time.Hour)
	if err := (OSFS{}).Chtimes(s.Path(id), old); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Put(ctx, strings.NewReader("content"), -1); err != nil {
		t.Fatal(err)
	}
	fi, err := s.Info(id)
	if err != nil || time.Since(fi.ModTime()) > time.Hour {
		t.Fatalf("after a second Put: %v, modified %v", err, fi.ModTime())
	}
	if err := s.Delete(id); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Put(ctx, strings.NewReader("content"), -1); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Info(id); err != nil {
		t.Fatalf("content put again after its deletion: %v", err)
	}
}

// syncedDirs records the directories a FaultFS syncs.
func syncedDirs(f *FaultFS) func() []string {
	var mu sync.Mutex
	var dirs []string
	f.SetFail(func(op Op, path string) error {
		if op == OpSyncDir {
			mu.Lock()
			dirs = append(dirs, path)
			mu.Unlock()
		}
		return nil
	})
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), dirs...)
	}
}

// TestMkdirAllSynced checks that every directory created is synced into
// its parent (a power cut would otherwise take it, and all synced into
// it, away), and that nothing is synced when the directory exists.
func TestMkdirAllSynced(t *testing.T) {
	root := t.TempDir()
	f := NewFaultFS(OSFS{})
	synced := syncedDirs(f)
	if err := MkdirAllSynced(f, filepath.Join(root, "a", "b", "c")); err != nil {
		t.Fatal(err)
	}
	want := []string{root, filepath.Join(root, "a"), filepath.Join(root, "a", "b")}
	if got := synced(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("synced %q, want %q", got, want)
	}
	if err := MkdirAllSynced(f, filepath.Join(root, "a", "b", "c")); err != nil {
		t.Fatal(err)
	}
	if got := synced(); len(got) != len(want) {
		t.Errorf("an existing directory synced again: %q", got[len(want):])
	}
	f.FailOp(OpSyncDir)
	if err := MkdirAllSynced(f, filepath.Join(root, "x")); !errors.Is(err, ErrInjected) {
		t.Errorf("a failed directory sync: %v, want ErrInjected", err)
	}
}

// TestNewSyncsParent checks that New, creating its directory, syncs the
// directory above (the data directory) as well as its own.
func TestNewSyncsParent(t *testing.T) {
	data := t.TempDir()
	f := NewFaultFS(OSFS{})
	synced := syncedDirs(f)
	dir := filepath.Join(data, "blobs")
	if _, err := New(dir, f); err != nil {
		t.Fatal(err)
	}
	got := synced()
	for _, want := range []string{data, dir} {
		if !slices.Contains(got, want) {
			t.Errorf("New synced %q, not %s", got, want)
		}
	}
}
