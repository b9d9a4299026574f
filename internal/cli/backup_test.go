package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBackupRestoreCommands runs rookery backup and restore on a data
// directory: the restore passes check with the same messages; restore
// refuses a data directory with a store without --force, an incomplete
// backup and a damaged one; backup with a PostgreSQL configuration
// points at PostgreSQL's tools.
func TestBackupRestoreCommands(t *testing.T) {
	tmp := t.TempDir()
	data := filepath.Join(tmp, "data")
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

	backup := filepath.Join(tmp, "backup")
	out := mustRun("", "backup", backup, "--data", data, "--rate", "0")
	if !strings.Contains(out, "1 accounts, 6 mailboxes, 2 messages") || !strings.Contains(out, "1 content files") {
		t.Fatalf("backup said:\n%s", out)
	}
	restored := filepath.Join(tmp, "restored")
	out = mustRun("", "restore", backup, "--data-dir", restored)
	if !strings.Contains(out, "2 messages") || !strings.Contains(out, "no problem") {
		t.Fatalf("restore said:\n%s", out)
	}
	if out := mustRun("", "check", "--data", restored, "--contents"); !strings.Contains(out, "2 messages, 2 contents (1 in files)") || !strings.Contains(out, "0 problems") {
		t.Fatalf("check of the restore:\n%s", out)
	}

	// A store in the way.
	code, _, errOut := run(t, "", "restore", backup, "--data", restored)
	if code != ExitFailure || !strings.Contains(errOut, "--force") {
		t.Fatalf("restore over a store: code %d, %s", code, errOut)
	}
	mustRun("", "restore", backup, "--data", restored, "--force", "--copy")

	// Into a backup directory that is not empty.
	if code, _, errOut := run(t, "", "backup", backup, "--data", data); code != ExitFailure || !strings.Contains(errOut, "not empty") {
		t.Fatalf("backup into a used directory: code %d, %s", code, errOut)
	}

	// Incomplete, then damaged.
	incomplete := filepath.Join(tmp, "incomplete")
	mustRun("", "backup", incomplete, "--data", data)
	if err := os.Remove(filepath.Join(incomplete, "rookery-backup.json")); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := run(t, "", "restore", incomplete, "--data", filepath.Join(tmp, "r2")); code != ExitFailure || !strings.Contains(errOut, "incomplete backup") {
		t.Fatalf("restore of an incomplete backup: code %d, %s", code, errOut)
	}
	damaged := filepath.Join(tmp, "damaged")
	mustRun("", "backup", damaged, "--data", data)
	db := filepath.Join(damaged, "rookery.db")
	b, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 1
	if err := os.WriteFile(db, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := run(t, "", "restore", damaged, "--data", filepath.Join(tmp, "r3")); code != ExitFailure || !strings.Contains(errOut, "corrupt backup") {
		t.Fatalf("restore of a damaged backup: code %d, %s", code, errOut)
	}

	// PostgreSQL: the store's own tools.
	conf := filepath.Join(tmp, "pg.toml")
	if err := os.WriteFile(conf, []byte("[store]\nbackend = \"postgres\"\ndsn = \"postgres://u@127.0.0.1:1/x\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := run(t, "", "backup", filepath.Join(tmp, "pg"), "--config", conf); code != ExitFailure || !strings.Contains(errOut, "pg_dump") {
		t.Fatalf("backup of a PostgreSQL store: code %d, %s", code, errOut)
	}
}
