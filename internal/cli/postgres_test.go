package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"rookery/internal/pgtest"
)

// TestPostgresCommands: with [store] backend = "postgres" the
// administration commands work on the database: config check --connect
// reports the pending migrations, store migrate applies them once, user
// add/list, deliver and check need no data directory.
func TestPostgresCommands(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "rookery.toml")
	body := fmt.Sprintf("data_dir = %q\n[store]\nbackend = \"postgres\"\ndsn = %q\n", filepath.Join(dir, "absent"), dsn)
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		stdin string
		args  []string
		want  []string // substrings of stdout
	}{
		{"", []string{"config", "check", "--connect", cfg}, []string{"connected to PostgreSQL", "migrations pending (0001_init", ": OK"}},
		{"", []string{"store", "migrate", "--config", cfg}, []string{"applied 0001_init"}},
		{"", []string{"store", "migrate", "--dsn", dsn}, []string{"the schema is up to date"}},
		{"", []string{"config", "check", "--connect", cfg}, []string{"connected to PostgreSQL", ": OK"}},
		{"s3cret\n", []string{"user", "add", "alice", "--config", cfg, "--password-stdin"}, []string{"created account alice"}},
		{"Subject: hi\r\n\r\nhello\r\n", []string{"deliver", "--user", "alice", "--config", cfg}, nil},
		{"", []string{"user", "list", "--config", cfg}, []string{"alice         1"}},
		{"", []string{"check", "--contents", "--config", cfg}, []string{"checked the PostgreSQL database", "1 messages", "0 problems"}},
	}
	for _, st := range steps {
		code, out, errOut := run(t, st.stdin, st.args...)
		if code != ExitOK {
			t.Fatalf("rookery %s: exit %d\n%s%s", strings.Join(st.args, " "), code, out, errOut)
		}
		for _, w := range st.want {
			if !strings.Contains(out, w) {
				t.Errorf("rookery %s: output lacks %q:\n%s", strings.Join(st.args, " "), w, out)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "absent")); !os.IsNotExist(err) {
		t.Errorf("a command created the data directory of a PostgreSQL configuration: %v", err)
	}
	// The embedded backend has nothing to migrate by hand.
	sqlite := filepath.Join(dir, "sqlite.toml")
	if err := os.WriteFile(sqlite, []byte("data_dir = \"x\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := run(t, "", "store", "migrate", "--config", sqlite); code == ExitOK || !strings.Contains(errOut, "only the \"postgres\" backend") {
		t.Errorf("store migrate of an embedded configuration: exit %d, %s", code, errOut)
	}
	// An unreachable server fails the connection check, not the syntax.
	bad := filepath.Join(dir, "bad.toml")
	if err := os.WriteFile(bad, []byte("[store]\nbackend = \"postgres\"\ndsn = \"postgres://nobody@127.0.0.1:1/none?connect_timeout=2\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, _ := run(t, "", "config", "check", bad); code != ExitOK {
		t.Errorf("config check without --connect of a valid file: exit %d", code)
	}
	if code, _, errOut := run(t, "", "config", "check", "--connect", bad); code == ExitOK || !strings.Contains(errOut, "store.dsn") {
		t.Errorf("config check --connect of an unreachable server: exit %d, %s", code, errOut)
	}
}
