package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"rookery/internal/dovecottest"
)

// TestMigrateCSV migrates two Dovecot accounts with --csv through the
// CLI: one line per account, then a second run finds everything present.
func TestMigrateCSV(t *testing.T) {
	s := dovecottest.Start(t, dovecottest.Options{Users: []string{"alice", "bob"}, TLS: true})
	for i, u := range []string{"alice", "bob"} {
		var msgs []dovecottest.Message
		for j := range 30 + i*10 {
			msgs = append(msgs, dovecottest.Message{Mailbox: []string{"INBOX", "Lists.Go"}[j%2],
				Date: time.Date(2022, 1, 1, 0, j, 0, 0, time.UTC), Body: []byte(fmt.Sprintf("Subject: %s %d\r\n\r\nhello\r\n", u, j))})
		}
		s.Append(t, u, msgs)
	}
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	for _, u := range []string{"alice", "bob"} {
		if code, _, errOut := run(t, "pw\n", "user", "add", u, "--data", data, "--password-stdin"); code != ExitOK {
			t.Fatalf("user add: %s", errOut)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "pw"), []byte(dovecottest.Password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	csvFile := filepath.Join(dir, "accounts.csv")
	csv := fmt.Sprintf("user,source_url,login,password_file\n# comment\n\nalice,imaps://%s,alice,pw\n\"bob\", imap://%s ,bob,%s\n",
		s.IMAPSAddr, s.IMAPAddr, filepath.Join(dir, "pw"))
	if err := os.WriteFile(csvFile, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"migrate", "--csv", csvFile, "--concurrency", "2", "--ca-file", s.CAFile, "--data", data, "--state-dir", filepath.Join(dir, "state")}
	code, out, errOut := run(t, "", args...)
	if code != ExitOK {
		t.Fatalf("migrate --csv: code %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	for _, want := range []string{"alice: complete (2 mailboxes, 30 source messages: 30 copied, 0 present", "bob: complete (2 mailboxes, 40 source messages: 40 copied"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	code, out, errOut = run(t, "", args...)
	if code != ExitOK || !strings.Contains(out, "alice: complete (2 mailboxes, 30 source messages: 0 copied, 0 present, 30 unchanged, 0 failed") {
		t.Fatalf("second run: code %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}

	// One account, with the per-mailbox report.
	code, out, errOut = run(t, "", "migrate", "bob", "--from", "imaps://"+s.IMAPSAddr, "--login", "bob", "--password-file", filepath.Join(dir, "pw"),
		"--insecure-skip-verify", "--data", data)
	t.Logf("single run output:\n%s", out)
	if code != ExitOK || !strings.Contains(out, "Lists.Go") || !strings.Contains(out, "Lists/Go") || !strings.Contains(out, "verified: all 40 source messages are in the account (0 copied, 40 present") ||
		!strings.Contains(out, "fetched 0 message contents") {
		t.Fatalf("single run: code %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
}

func TestMigrateUsageErrors(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if code, _, errOut := run(t, "pw\n", "user", "add", "alice", "--data", data, "--password-stdin"); code != ExitOK {
		t.Fatalf("user add: %s", errOut)
	}
	pw := filepath.Join(dir, "pw")
	os.WriteFile(pw, []byte("secret\n"), 0o600)
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, []byte("\n"), 0o600)
	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(bad, []byte("alice,imaps://h,alice,pw\nbob,imaps://h,bob\n"), 0o600)
	dup := filepath.Join(dir, "dup.csv")
	os.WriteFile(dup, []byte("alice,imaps://h,alice,pw\nALICE,imaps://h,a2,pw\n"), 0o600)
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no user", []string{"migrate", "--from", "imaps://h", "--login", "a", "--password-file", pw}, ExitUsage, "want USER"},
		{"csv and user", []string{"migrate", "alice", "--csv", bad}, ExitUsage, "--csv takes no USER"},
		{"bad scheme", []string{"migrate", "alice", "--from", "pop3://h", "--login", "a", "--password-file", pw, "--data", data}, ExitFailure, "want imaps://"},
		{"empty password", []string{"migrate", "alice", "--from", "imaps://h", "--login", "a", "--password-file", empty, "--data", data}, ExitFailure, "empty first line"},
		{"no such account", []string{"migrate", "nobody", "--from", "imaps://h", "--login", "a", "--password-file", pw, "--data", data}, ExitFailure, "rookery user add nobody"},
		{"short csv row", []string{"migrate", "--csv", bad, "--data", data}, ExitFailure, "bad.csv"},
		{"duplicate csv user", []string{"migrate", "--csv", dup, "--data", data}, ExitFailure, "dup.csv:2: user ALICE is on"},
		{"unreachable", []string{"migrate", "alice", "--from", "imaps://127.0.0.1:1", "--login", "a", "--password-file", pw, "--data", data}, ExitFailure, "connect to 127.0.0.1:1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := run(t, "", tc.args...)
			if code != tc.code || !strings.Contains(errOut, tc.want) {
				t.Fatalf("code %d (want %d)\nstdout: %s\nstderr: %s\nwant %q", code, tc.code, out, errOut, tc.want)
			}
		})
	}
}
