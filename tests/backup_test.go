package tests

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
)

// backupTimeout bounds one rookery backup or restore of a test.
const backupTimeout = 60 * time.Second

// runRookery runs the binary with args and returns its combined output.
func runRookery(t *testing.T, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), backupTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, rookeryBin, args...).CombinedOutput()
	return string(out), err
}

// bigMessage is a message stored in a content file (over 256 KiB).
func bigMessage(tag string, i int) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "From: a@example.org\r\nSubject: %s %d\r\n\r\n", tag, i)
	for j := 0; b.Len() < 300<<10; j++ {
		fmt.Fprintf(&b, "%s %d line %06d %s\r\n", tag, i, j, strings.Repeat("xyz", 20))
	}
	return []byte(b.String())
}

// fetched is what a client sees of a message, for comparison.
type fetched struct {
	uid   imap.UID
	flags string
	sum   [32]byte
}

// backupMailboxState reads UIDVALIDITY and every message of mailbox.
func backupMailboxState(t *testing.T, s *serverProc, user, mailbox string) (uint32, []fetched) {
	t.Helper()
	c := login(t, s, implicitTLS, user, nil)
	defer func() { _ = c.Logout().Wait() }()
	sel, err := c.Select(mailbox, &imap.SelectOptions{ReadOnly: true}).Wait()
	must(t, err, "EXAMINE %s", mailbox)
	var out []fetched
	if sel.NumMessages > 0 {
		for _, m := range fetchAll(t, c, imap.SeqSetNum(1, sel.NumMessages)) {
			var body []byte
			for _, b := range m.BodySection {
				body = b.Bytes
			}
			flags := make([]string, len(m.Flags))
			for i, f := range m.Flags {
				flags[i] = string(f)
			}
			out = append(out, fetched{uid: m.UID, flags: strings.Join(flags, " "), sum: sha256.Sum256(body)})
		}
	}
	return sel.UIDValidity, out
}

// TestBackupWhileServing backs up a running server's data directory
// (with `rookery backup`, throttled so that it lasts) while a client
// appends and expunges large messages (so the server deletes content
// files) and changes flags, restores it into a fresh directory, and
// checks it: `rookery check --contents` passes, and a server on it
// serves the mailbox that no client touched during the backup with the
// same UIDVALIDITY, UIDs, flags and bytes.
func TestBackupWhileServing(t *testing.T) {
	t.Parallel()
	s := startServer(t, testUser{"bk", "bk secret"})
	c := login(t, s, implicitTLS, "bk", nil)
	for _, mb := range []string{"Keep", "Churn", "Flags"} {
		must(t, c.Create(mb, nil).Wait(), "CREATE %s", mb)
	}
	for i, m := range testMessages("keep") {
		appendMsg(t, c, "Keep", m)
		appendMsg(t, c, "Flags", m)
		appendMsg(t, c, "Keep", testMessage{raw: bigMessage("keep", i), flags: []imap.Flag{imap.FlagAnswered}})
	}
	for i := range 4 {
		appendMsg(t, c, "Churn", testMessage{raw: bigMessage("churn", i)})
	}
	for i := range 20 { // some volume, so that the throttled copy lasts
		appendMsg(t, c, "Keep", testMessage{raw: bytes.Repeat([]byte(fmt.Sprintf("Subject: filler %d\r\n\r\n", i)), 8000)})
	}
	must(t, c.Logout().Wait(), "LOGOUT")
	validity, before := backupMailboxState(t, s, "bk", "Keep")

	// The load: its own connection, bounded in count, stopped after the backup.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var loadErr error
	var ops int
	wg.Add(1)
	go func() {
		defer wg.Done()
		c := login(t, s, implicitTLS, "bk", nil)
		defer func() { _ = c.Logout().Wait() }()
		for i := 0; i < 2000; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := c.Select("Churn", nil).Wait(); err != nil {
				loadErr = err
				return
			}
			cmd := c.Append("Churn", int64(len(bigMessage("new", i))), nil)
			_, _ = cmd.Write(bigMessage("new", i))
			_ = cmd.Close()
			if _, err := cmd.Wait(); err != nil {
				loadErr = err
				return
			}
			if _, err := c.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Collect(); err != nil {
				loadErr = err
				return
			}
			if err := c.Expunge().Close(); err != nil {
				loadErr = err
				return
			}
			if _, err := c.Select("Flags", nil).Wait(); err != nil {
				loadErr = err
				return
			}
			op := imap.StoreFlagsAdd
			if i%2 == 1 {
				op = imap.StoreFlagsDel
			}
			if _, err := c.Store(imap.SeqSetNum(1, 2, 3), &imap.StoreFlags{Op: op, Silent: true, Flags: []imap.Flag{imap.FlagSeen, "$Mark"}}, nil).Collect(); err != nil {
				loadErr = err
				return
			}
			ops++
		}
	}()
	dir := filepath.Join(t.TempDir(), "backup")
	out, err := runRookery(t, "backup", dir, "--data", s.dataDir, "--rate", "2M")
	close(stop)
	wg.Wait()
	if loadErr != nil {
		t.Fatalf("load beside the backup: %v", loadErr)
	}
	if err != nil {
		t.Fatalf("rookery backup: %v\n%s", err, out)
	}
	t.Logf("%d load rounds during the backup; %s", ops, out)

	restored := filepath.Join(t.TempDir(), "restored")
	if out, err := runRookery(t, "restore", dir, "--data", restored); err != nil {
		t.Fatalf("rookery restore: %v\n%s", err, out)
	}
	if out, err := runRookery(t, "check", "--contents", "--data", restored); err != nil || !strings.Contains(out, "0 problems,") {
		t.Fatalf("rookery check of the restore: %v\n%s", err, out)
	}
	r := &serverProc{t: t, dataDir: restored, logPath: filepath.Join(t.TempDir(), "restored.log"), users: s.users}
	t.Cleanup(func() { r.stop(false); r.checkLog() })
	r.start(true)
	gotValidity, after := backupMailboxState(t, r, "bk", "Keep")
	if gotValidity != validity {
		t.Errorf("UIDVALIDITY %d after the restore, was %d", gotValidity, validity)
	}
	if fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("Keep after the restore differs:\n  %v\n  %v", after, before)
	}
	// The live server, its backup over, still works and checks clean.
	s.restart(false)
}

// TestBackupKilled kills `rookery backup` (SIGKILL) while it copies: the
// directory has no manifest, restore refuses it, and the server's data
// directory stays sound (its deletions are not held by the dead backup).
func TestBackupKilled(t *testing.T) {
	t.Parallel()
	s := startServer(t, testUser{"kb", "kb secret"})
	c := login(t, s, implicitTLS, "kb", nil)
	for i := range 30 {
		appendMsg(t, c, "INBOX", testMessage{raw: bytes.Repeat([]byte(fmt.Sprintf("Subject: filler %d\r\n\r\n", i)), 8000)})
	}
	appendMsg(t, c, "INBOX", testMessage{raw: bigMessage("kill", 0), flags: []imap.Flag{imap.FlagDeleted}})
	dir := filepath.Join(t.TempDir(), "backup")
	cmd := exec.Command(rookeryBin, "backup", dir, "--data", s.dataDir, "--rate", "256K")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait (bounded) until the database copy has begun.
	deadline := time.Now().Add(backupTimeout)
	for {
		if fi, err := os.Stat(filepath.Join(dir, "rookery.db.partial")); err == nil && fi.Size() > 0 {
			break
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			t.Fatal("the backup did not start copying")
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	if _, err := os.Stat(filepath.Join(dir, "rookery-backup.json")); err == nil {
		t.Fatal("a killed backup left a manifest")
	}
	out, err := runRookery(t, "restore", dir, "--data", filepath.Join(t.TempDir(), "r"))
	if err == nil || !strings.Contains(out, "incomplete backup") {
		t.Fatalf("restore of a killed backup: %v\n%s", err, out)
	}
	// The server deletes files again: expunge the large message.
	_, err = c.Select("INBOX", nil).Wait()
	must(t, err, "SELECT")
	must(t, c.Expunge().Close(), "EXPUNGE")
	must(t, c.Logout().Wait(), "LOGOUT")
	s.restart(false)
}
