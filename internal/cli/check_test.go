package cli

import (
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCheck runs `rookery check` on a data directory corrupted in a few
// ways: it reports them and exits 1, --repair fixes what it can and says
// so, and what cannot be repaired (a lost message file) keeps the exit
// status at 1.
func TestCheck(t *testing.T) {
	data := t.TempDir()
	mustRun := func(stdin string, args ...string) string {
		t.Helper()
		code, out, errOut := run(t, stdin, args...)
		if code != ExitOK {
			t.Fatalf("%v: code %d, stdout %s, stderr %s", args, code, out, errOut)
		}
		return out
	}
	mustRun("pw\n", "user", "add", "alice", "--data", data, "--password-stdin")
	mustRun("Subject: small\n\nhello\n", "deliver", "--user", "alice", "--data", data)
	mustRun("Subject: big\n\n"+strings.Repeat("a line of a big message\n", 12000), "deliver", "--user", "alice", "--data", data)
	if out := mustRun("", "check", "--data", data, "--contents"); !strings.Contains(out, "2 messages, 2 contents (1 in files)") || !strings.Contains(out, "0 problems, 0 repaired, 0 notices") {
		t.Fatalf("check of a sound directory:\n%s", out)
	}

	db, err := sql.Open("sqlite", "file:"+filepath.Join(data, "rookery.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{
		`UPDATE mailboxes SET n_unseen = 7 WHERE name = 'INBOX'`,
		`UPDATE accounts SET used_storage = 0`,
		`DELETE FROM search_text WHERE rowid = (SELECT doc FROM messages WHERE uid = 1)`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	orphan := filepath.Join(data, "blobs", "cd", strings.Repeat("cd", 31))
	if err := os.WriteFile(orphan, []byte("left by a crash"), 0o600); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-25 * time.Hour)
	if err := os.Chtimes(orphan, old, old); err != nil {
		t.Fatal(err)
	}

	code, out, _ := run(t, "", "check", "--data", data)
	for _, want := range []string{
		"problem  status-counter  mailbox alice/INBOX: unseen 7 recorded, 2 counted (--repair fixes it)",
		"problem  quota-counter   account alice:",
		"problem  index-missing   search index: 1 contents",
		"problem  orphan-file     file " + orphan,
		"4 problems, 0 repaired, 0 notices",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("check output lacks %q:\n%s", want, out)
		}
	}
	if code != ExitFailure {
		t.Errorf("check of a damaged directory: exit %d, want %d", code, ExitFailure)
	}

	out = mustRun("", "check", "--repair", "--data", data)
	for _, want := range []string{"repaired  status-counter", "repaired  quota-counter", "repaired  index-missing", "(reindexed 1)",
		"repaired  orphan-file", "checked again after the repair:\n0 problems, 4 repaired, 0 notices"} {
		if !strings.Contains(out, want) {
			t.Errorf("check --repair output lacks %q:\n%s", want, out)
		}
	}
	if _, err := os.Stat(orphan); !os.IsNotExist(err) {
		t.Errorf("orphan file after --repair: %v", err)
	}
	mustRun("", "check", "--data", data)

	// A lost message file cannot be repaired.
	var big string
	if err := db.QueryRow(`SELECT blob FROM messages WHERE uid = 2`).Scan(&big); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(data, "blobs", big[:2], big[2:])); err != nil {
		t.Fatal(err)
	}
	code, out, _ = run(t, "", "check", "--repair", "--data", data)
	if code != ExitFailure || !strings.Contains(out, "problem  content-missing  content "+big) ||
		!strings.Contains(out, "messages: alice/INBOX UID 2 (cannot be repaired)") {
		t.Errorf("check --repair with a lost file: exit %d\n%s", code, out)
	}
	if code, _, _ := run(t, "", "check", "--grace", "0s", "--data", data); code != ExitUsage {
		t.Errorf("--grace 0s: exit %d", code)
	}
	if code, _, _ := run(t, "", "check", "--data", filepath.Join(data, "nope")); code != ExitFailure {
		t.Errorf("missing data directory: exit %d", code)
	}
}
