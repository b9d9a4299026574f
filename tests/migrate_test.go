package tests

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"rookery/internal/dovecottest"
	"rookery/internal/imapnum"
	"rookery/internal/store"
	"rookery/internal/store/sqlitestore"
)

// TestMigrateKilled runs `rookery migrate` from a real Dovecot, kills
// it (SIGKILL) once it has committed some messages, runs it again and
// checks that the account then holds every source message exactly once;
// a third run fetches no content (the state file the second run left
// says nothing changed).
func TestMigrateKilled(t *testing.T) {
	const n = 3000
	s := dovecottest.Start(t, dovecottest.Options{Users: []string{"alice"}})
	var msgs []dovecottest.Message
	for i := range n {
		msgs = append(msgs, dovecottest.Message{Mailbox: "INBOX", Date: time.Date(2021, 6, 1, 0, 0, i, 0, time.UTC),
			Body: []byte(fmt.Sprintf("From: a@example.net\r\nSubject: %d\r\n\r\n%s\r\n", i, strings.Repeat("x", i%500)))})
	}
	s.Append(t, "alice", msgs)

	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	add := exec.CommandContext(ctx, rookeryBin, "user", "add", "alice", "--data", data, "--password-stdin")
	add.Stdin = strings.NewReader("pw\n")
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("user add: %v\n%s", err, out)
	}
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte(dovecottest.Password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"migrate", "alice", "--from", "imap://" + s.IMAPAddr, "--allow-plaintext", "--login", "alice", "--password-file", pw, "--data", data,
		"--state-dir", filepath.Join(dir, "state")}

	// Run 1, killed after its first commit.
	var out1 bytes.Buffer
	cmd := exec.CommandContext(ctx, rookeryBin, args...)
	cmd.Stdout, cmd.Stderr = &out1, &out1
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	st, err := sqlitestore.Open(ctx, data, sqlitestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	acct, err := st.Account(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	inbox, err := st.Mailbox(ctx, acct.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	var atKill uint32
	for i := 0; ; i++ {
		stat, err := st.Status(ctx, inbox.ID)
		if err != nil {
			t.Fatal(err)
		}
		if stat.Messages > 0 {
			_ = cmd.Process.Kill()
			atKill = stat.Messages
			break
		}
		if i > 6000 {
			t.Fatalf("no message committed after 60 s:\n%s", out1.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	_ = cmd.Wait()
	stat, _ := st.Status(ctx, inbox.ID)
	t.Logf("killed with %d messages committed (%d after the kill)", atKill, stat.Messages)
	if stat.Messages >= n {
		t.Logf("the run had completed before the kill: the restart below is not exercised after a partial copy")
	}

	// Run 2 completes; run 3 has nothing to do.
	run := func() string {
		t.Helper()
		out, err := exec.CommandContext(ctx, rookeryBin, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("migrate: %v\n%s", err, out)
		}
		return string(out)
	}
	out2 := run()
	if !strings.Contains(out2, fmt.Sprintf("verified: all %d source messages are in the account (%d copied, %d present", n, n-int(stat.Messages), stat.Messages)) {
		t.Fatalf("second run:\n%s", out2)
	}
	blobs := map[store.BlobID]int{}
	err = st.Fetch(ctx, inbox.ID, imapnum.Set{{Start: 1, Stop: 1<<32 - 1}}, func(m store.Message) error {
		blobs[m.Blob]++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(blobs) != n {
		t.Fatalf("INBOX holds %d distinct contents, want %d", len(blobs), n)
	}
	for b, c := range blobs {
		if c != 1 {
			t.Fatalf("content %s is in INBOX %d times", b, c)
		}
	}
	if out3 := run(); !strings.Contains(out3, "fetched 0 message contents") || !strings.Contains(out3, fmt.Sprintf("(0 copied, 0 present, %d unchanged)", n)) {
		t.Fatalf("third run:\n%s", out3)
	}
}
