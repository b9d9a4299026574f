package sqlitestore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"rookery/internal/blob"
	"rookery/internal/imapnum"
	"rookery/internal/store"
	"rookery/internal/store/storetest"
)

// appendN appends n messages to mbox, each of its own content (a file
// when large), and returns their UIDs.
func appendN(t *testing.T, s *Store, mbox store.MailboxID, tag string, n int, large bool) []store.UID {
	t.Helper()
	ctx := context.Background()
	var uids []store.UID
	for i := range n {
		body := []byte(fmt.Sprintf("Subject: %s %d\r\n\r\nbody %s %d\r\n", tag, i, tag, i))
		if large {
			body = fileSized(string(body))
		}
		ref, err := s.WriteBlob(ctx, bytes.NewReader(body), -1)
		if err != nil {
			t.Fatal(err)
		}
		res, err := s.Append(ctx, mbox, []store.NewMessage{{Blob: ref}})
		if err != nil {
			t.Fatal(err)
		}
		uids = append(uids, res.UIDs...)
	}
	return uids
}

// unpin forgets every WriteBlob, as if they were long ago, so that an
// expunge deletes the files at once.
func unpin(s *Store) {
	s.pinMu.Lock()
	clear(s.pins)
	s.pinMu.Unlock()
}

// countFiles counts the content files under dir/blobs.
func countFiles(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(filepath.Join(dir, "blobs"), func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && filepath.Base(filepath.Dir(p)) != "tmp" {
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// checkNoProblem fails when Check (contents read and hashed) finds a
// problem; notices (contents these tests store without index texts) pass.
func checkNoProblem(t *testing.T, s *Store) {
	t.Helper()
	rep, err := s.Check(context.Background(), store.CheckOptions{Contents: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range rep.Findings {
		if f.Problem {
			t.Errorf("check: %s %s: %s", f.Kind, f.Subject, f.Detail)
		}
	}
}

// restoreFresh restores the backup in dir into a new data directory and
// opens it.
func restoreFresh(t *testing.T, dir string, opts RestoreOptions) *Store {
	t.Helper()
	data := filepath.Join(t.TempDir(), "data")
	if _, err := RestoreBackup(context.Background(), dir, data, opts); err != nil {
		t.Fatal(err)
	}
	s, err := Open(context.Background(), data, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// TestBackupRestoreSame backs up an installation with everything a copy
// must keep (a quiet one: the backup holds all of it) and restores it,
// with content files linked and copied: the restored installation is the
// same as clients see it and passes Check.
func TestBackupRestoreSame(t *testing.T) {
	for _, copyFiles := range []bool{false, true} {
		t.Run(fmt.Sprintf("copy=%v", copyFiles), func(t *testing.T) {
			ctx := context.Background()
			src := openStore(t, Options{})
			storetest.CopyFixture(t, src)
			acct, err := src.Account(ctx, "alice")
			if err != nil {
				t.Fatal(err)
			}
			inbox, err := src.Mailbox(ctx, acct.ID, "INBOX")
			if err != nil {
				t.Fatal(err)
			}
			appendN(t, src, inbox.ID, "large", 3, true)
			if err := src.WaitIndexed(ctx); err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join(t.TempDir(), "backup")
			m, err := Backup(ctx, src.dir, dir, BackupOptions{Copy: copyFiles})
			if err != nil {
				t.Fatal(err)
			}
			if m.Files < 3 || m.Accounts == 0 || m.Messages == 0 {
				t.Fatalf("manifest %+v", m)
			}
			if linked := m.Linked > 0; linked == copyFiles {
				t.Errorf("copy %v: %d of %d files linked", copyFiles, m.Linked, m.Files)
			}
			if _, err := VerifyBackup(ctx, dir, nil); err != nil {
				t.Fatal(err)
			}
			dst := restoreFresh(t, dir, RestoreOptions{Copy: copyFiles})
			storetest.SameInstallation(t, src, dst)
			checkNoProblem(t, dst)
		})
	}
}

// TestBackupKeepsFilesExpungedMeanwhile expunges, after the backup's
// snapshot and before its files are copied, every message whose content
// is a file: the store must keep the files until the backup has them
// (without the GC lock the backup fails on a missing file), and delete
// them once it is over.
func TestBackupKeepsFilesExpungedMeanwhile(t *testing.T) {
	ctx := context.Background()
	src, inbox := openAlice(t, t.TempDir(), Options{})
	keep := appendN(t, src, inbox.ID, "small", 5, false)
	large := appendN(t, src, inbox.ID, "large", 4, true)
	unpin(src)
	all := imapnum.Set{{Start: uint32(large[0]), Stop: uint32(large[len(large)-1])}}
	var once sync.Once
	var expungeErr error
	dir := filepath.Join(t.TempDir(), "backup")
	m, err := Backup(ctx, src.dir, dir, BackupOptions{Progress: func(p BackupProgress) {
		once.Do(func() {
			// Inside the snapshot's read transaction.
			if _, expungeErr = src.StoreFlags(ctx, inbox.ID, all, store.FlagsAdd, store.Flags{Sys: store.FlagDeleted}, 0); expungeErr != nil {
				return
			}
			_, expungeErr = src.Expunge(ctx, inbox.ID, all)
		})
	}})
	if expungeErr != nil {
		t.Fatal(expungeErr)
	}
	if err != nil {
		t.Fatalf("backup while files lost their last reference: %v", err)
	}
	if m.Messages != int64(len(keep)+len(large)) || m.Files != int64(len(large)) {
		t.Fatalf("manifest: %d messages, %d files; want %d, %d", m.Messages, m.Files, len(keep)+len(large), len(large))
	}
	dst := restoreFresh(t, dir, RestoreOptions{})
	checkNoProblem(t, dst)
	snap, err := dst.Snapshot(ctx, inbox.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.UIDs) != len(keep)+len(large) {
		t.Fatalf("restored %d messages, want the snapshot's %d", len(snap.UIDs), len(keep)+len(large))
	}
	// Backup over: the next batch (or tick) deletes the files kept
	// meanwhile.
	appendN(t, src, inbox.ID, "after", 1, false)
	if got := countFiles(t, src.dir); got != 0 {
		t.Fatalf("%d files left in the live store after the backup and a write, want 0", got)
	}
	checkNoProblem(t, src)
}

// TestBackupBesideWrites backs up (throttled, so that it lasts) while
// goroutines append small and large messages, change flags and expunge:
// the restore passes Check, holds exactly the manifest's counts, and
// every message that existed before the backup began and was never
// expunged is there with its UID.
func TestBackupBesideWrites(t *testing.T) {
	ctx := context.Background()
	src, inbox := openAlice(t, t.TempDir(), Options{})
	kept := appendN(t, src, inbox.ID, "kept", 20, false)
	keptLarge := appendN(t, src, inbox.ID, "kept-large", 3, true)
	churn, err := src.CreateMailbox(ctx, inbox.Account, "Churn", "")
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, src, churn.ID, "churn", 10, true)
	unpin(src)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	wg.Add(2)
	go func() { // churn: large messages in and out, so that files are deleted
		defer wg.Done()
		for i := 0; i < 200; i++ {
			select {
			case <-stop:
				return
			default:
			}
			ref, err := src.WriteBlob(ctx, bytes.NewReader(fileSized(fmt.Sprintf("churn %d", i))), -1)
			if err == nil {
				_, err = src.Append(ctx, churn.ID, []store.NewMessage{{Blob: ref, Flags: store.Flags{Sys: store.FlagDeleted}}})
			}
			unpin(src)
			if err == nil {
				_, err = src.Expunge(ctx, churn.ID, nil)
			}
			if err != nil {
				errs <- err
				return
			}
		}
	}()
	go func() { // flags on the kept messages
		defer wg.Done()
		for i := 0; i < 500; i++ {
			select {
			case <-stop:
				return
			default:
			}
			op := store.FlagsAdd
			if i%2 == 1 {
				op = store.FlagsReplace
			}
			u := uint32(kept[i%len(kept)])
			if _, err := src.StoreFlags(ctx, inbox.ID, imapnum.Set{{Start: u, Stop: u}}, op, store.Flags{Sys: store.FlagSeen}, 0); err != nil {
				errs <- err
				return
			}
		}
	}()
	dir := filepath.Join(t.TempDir(), "backup")
	m, err := Backup(ctx, src.dir, dir, BackupOptions{BytesPerSecond: 8 << 20})
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	dst := restoreFresh(t, dir, RestoreOptions{})
	checkNoProblem(t, dst)
	var messages int64
	for _, mb := range []store.MailboxID{inbox.ID, churn.ID} {
		snap, err := dst.Snapshot(ctx, mb)
		if err != nil {
			t.Fatal(err)
		}
		messages += int64(len(snap.UIDs))
		if mb == inbox.ID {
			have := map[store.UID]bool{}
			for _, u := range snap.UIDs {
				have[u] = true
			}
			for _, u := range append(append([]store.UID{}, kept...), keptLarge...) {
				if !have[u] {
					t.Errorf("UID %d, stored before the backup, missing from the restore", u)
				}
			}
		}
	}
	if messages != m.Messages {
		t.Fatalf("restored %d messages, the manifest says %d", messages, m.Messages)
	}
}

// TestRestoreRefusals: a data directory with a store (without --force),
// one in use, a backup without its manifest, one whose database or
// content file does not match; an interrupted restore is refused by
// Open and completed by running the restore again.
func TestRestoreRefusals(t *testing.T) {
	ctx := context.Background()
	src, inbox := openAlice(t, t.TempDir(), Options{})
	appendN(t, src, inbox.ID, "m", 3, false)
	large := appendN(t, src, inbox.ID, "large", 1, true)
	_ = large
	good := filepath.Join(t.TempDir(), "backup")
	m, err := Backup(ctx, src.dir, good, BackupOptions{Copy: true})
	if err != nil {
		t.Fatal(err)
	}
	// A copy of the backup, damaged by fn.
	damaged := func(fn func(dir string)) string {
		dir := filepath.Join(t.TempDir(), "backup")
		if _, err := Backup(ctx, src.dir, dir, BackupOptions{Copy: true}); err != nil {
			t.Fatal(err)
		}
		fn(dir)
		return dir
	}
	fileID := func(dir string) string {
		var p string
		_ = filepath.WalkDir(filepath.Join(dir, "blobs"), func(q string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				p = q
			}
			return nil
		})
		return p
	}
	flip := func(p string, off int64) {
		f, err := os.OpenFile(p, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		b := make([]byte, 1)
		if _, err := f.ReadAt(b, off); err != nil {
			t.Fatal(err)
		}
		b[0] ^= 0xff
		if _, err := f.WriteAt(b, off); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name   string
		backup string
		want   error
	}{
		{"no manifest", damaged(func(d string) { _ = os.Remove(filepath.Join(d, ManifestName)) }), ErrIncompleteBackup},
		{"database changed", damaged(func(d string) { flip(filepath.Join(d, dbName), m.DatabaseBytes/2) }), ErrCorruptBackup},
		{"database missing", damaged(func(d string) { _ = os.Remove(filepath.Join(d, dbName)) }), ErrIncompleteBackup},
		{"content file missing", damaged(func(d string) { _ = os.Remove(fileID(d)) }), ErrIncompleteBackup},
		{"content file changed", damaged(func(d string) { flip(fileID(d), 100) }), ErrCorruptBackup},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := filepath.Join(t.TempDir(), "data")
			_, err := RestoreBackup(ctx, tc.backup, data, RestoreOptions{})
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if _, err := os.Stat(filepath.Join(data, dbName)); err == nil {
				t.Fatal("a refused restore wrote a database")
			}
		})
	}

	t.Run("not empty", func(t *testing.T) {
		data := filepath.Join(t.TempDir(), "data")
		other, _ := openAlice(t, data, Options{})
		if _, err := RestoreBackup(ctx, good, data, RestoreOptions{Force: true}); !errors.Is(err, ErrInUse) {
			t.Fatalf("restore into an open store: %v, want ErrInUse", err)
		}
		if err := other.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := RestoreBackup(ctx, good, data, RestoreOptions{}); !errors.Is(err, ErrNotEmpty) {
			t.Fatalf("restore into a store without force: %v, want ErrNotEmpty", err)
		}
		if _, err := RestoreBackup(ctx, good, data, RestoreOptions{Force: true}); err != nil {
			t.Fatal(err)
		}
		s, err := Open(ctx, data, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		storetest.SameInstallation(t, src, s)
	})

	t.Run("interrupted", func(t *testing.T) {
		data := filepath.Join(t.TempDir(), "data")
		if _, err := RestoreBackup(ctx, good, data, RestoreOptions{}); err != nil {
			t.Fatal(err)
		}
		// What a restore killed after its marker leaves.
		if err := os.WriteFile(filepath.Join(data, restoringName), nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(filepath.Join(data, dbName)); err != nil {
			t.Fatal(err)
		}
		if s, err := Open(ctx, data, Options{}); err == nil {
			_ = s.Close()
			t.Fatal("Open accepted a directory with an interrupted restore")
		}
		if _, err := Backup(ctx, data, filepath.Join(t.TempDir(), "b"), BackupOptions{}); err == nil {
			t.Fatal("Backup accepted a directory with an interrupted restore")
		}
		if _, err := RestoreBackup(ctx, good, data, RestoreOptions{}); err != nil {
			t.Fatalf("restore again after an interrupted one: %v", err)
		}
		s, err := Open(ctx, data, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		checkNoProblem(t, s)
		storetest.SameInstallation(t, src, s)
	})

	t.Run("backup is the data directory", func(t *testing.T) {
		if _, err := RestoreBackup(ctx, good, good, RestoreOptions{Force: true}); err == nil {
			t.Fatal("restore of a backup onto itself accepted")
		}
		if _, err := VerifyBackup(ctx, good, nil); err != nil {
			t.Fatalf("the refused restore damaged the backup: %v", err)
		}
	})

	t.Run("backup into a non-empty directory", func(t *testing.T) {
		if _, err := Backup(ctx, src.dir, good, BackupOptions{}); err == nil {
			t.Fatal("backup over an existing backup accepted")
		}
	})
}

// TestRepairKeepsOrphansDuringBackup: check --repair does not remove an
// unreferenced file while a backup holds the GC lock (the backup's
// snapshot may reference it), and removes it once the lock is free.
func TestRepairKeepsOrphansDuringBackup(t *testing.T) {
	e := newCheckEnv(t)
	p := e.orphan(t, 48*time.Hour)
	hold, err := blob.OpenLock(filepath.Join(e.dir, gcLockName))
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Close()
	if err := hold.TryShared(); err != nil {
		t.Fatal(err)
	}
	rep := e.check(t, store.CheckOptions{Repair: true})
	fs := findings(rep, "orphan-file")
	if len(fs) != 1 || fs[0].Repaired || !strings.Contains(fs[0].Detail, "backup") {
		t.Fatalf("repair during a backup: %+v", fs)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("the file went during a backup: %v", err)
	}
	if err := hold.Unlock(); err != nil {
		t.Fatal(err)
	}
	rep = e.check(t, store.CheckOptions{Repair: true})
	if fs := findings(rep, "orphan-file"); len(fs) != 1 || !fs[0].Repaired {
		t.Fatalf("repair after the backup: %+v", fs)
	}
	if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the file is still there after the backup: %v", err)
	}
}
