package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"rookery/internal/events"
	"rookery/internal/imapnum"
	"rookery/internal/store"
	"rookery/internal/store/sqlitestore"
)

func TestDeliverAndQuota(t *testing.T) {
	data := t.TempDir()
	mustRun := func(stdin string, args ...string) string {
		t.Helper()
		code, out, errOut := run(t, stdin, args...)
		if code != ExitOK {
			t.Fatalf("%v: code %d, stderr %s", args, code, errOut)
		}
		return out
	}
	mustRun("pw\n", "user", "add", "alice", "--data", data, "--password-stdin")

	msg := "From sender@example.net Thu Jan  1 00:00:00 2026\nSubject: hi\n\nbody\n"
	mustRun(msg, "deliver", "--user", "alice", "--data", data, "--from", "sender@example.net")
	mustRun("Subject: 2\n\nx\n", "deliver", "--user", "alice", "--mailbox", "Archive", "--data", data)
	mustRun("Subject: 3\n\nx\n", "deliver", "--user", "alice", "--mailbox", "NoSuch", "--data", data)

	for _, tc := range []struct {
		stdin string
		args  []string
		want  int
	}{
		{"Subject: x\n\nx\n", []string{"--user", "nobody"}, exNoUser},
		{"", []string{"--user", "alice"}, exDataErr},
		{"x", []string{}, ExitUsage},
	} {
		code, _, errOut := run(t, tc.stdin, append([]string{"deliver", "--data", data}, tc.args...)...)
		if code != tc.want {
			t.Errorf("deliver %v: code %d, want %d (%s)", tc.args, code, tc.want, errOut)
		}
	}
	if code, _, _ := run(t, "x\n", "deliver", "--user", "alice", "--data", filepath.Join(data, "missing")); code != exTempFail {
		t.Errorf("missing data dir: code %d, want %d", code, exTempFail)
	}

	// Quota: 3 messages allowed → the next delivery fails; temporary with
	// lmtp.over_quota = "temporary".
	out := mustRun("", "user", "quota", "alice", "--messages", "3", "--storage", "1M", "--data", data)
	if !strings.Contains(out, "messages 3 of 3") || !strings.Contains(out, "of 1048576 bytes") {
		t.Fatalf("quota output %q", out)
	}
	if code, _, _ := run(t, "Subject: 4\n\nx\n", "deliver", "--user", "alice", "--data", data); code != exCantCreat {
		t.Errorf("over quota: code %d, want %d", code, exCantCreat)
	}
	cfg := filepath.Join(t.TempDir(), "r.toml")
	if err := os.WriteFile(cfg, []byte("data_dir = \""+data+"\"\n[lmtp]\nover_quota = \"temporary\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, _ := run(t, "Subject: 4\n\nx\n", "deliver", "--user", "alice", "--config", cfg); code != exTempFail {
		t.Errorf("over quota (temporary): code %d, want %d", code, exTempFail)
	}
	out = mustRun("", "user", "list", "--data", data)
	if f := strings.Fields(strings.Split(out, "\n")[1]); f[1] != "3" || f[4] != "3" || f[5] != "1048576" {
		t.Errorf("list row %q", f)
	}
	mustRun("", "user", "quota", "alice", "--messages", "none", "--storage", "default", "--data", data)
	mustRun("Subject: 4\n\nx\n", "deliver", "--user", "alice", "--data", data)
	if code, _, _ := run(t, "", "user", "quota", "alice", "--messages", "-1", "--data", data); code != ExitUsage {
		t.Errorf("bad --messages: code %d", code)
	}

	// What arrived, with CRLF, without the "From " line.
	ctx := context.Background()
	st, err := sqlitestore.Open(ctx, data, sqlitestore.Options{Bus: events.NewMemory()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	a, err := st.Account(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if a.SCRAMSecret == "" {
		t.Error("user add stored no SCRAM secret")
	}
	count := func(mbox string) []string {
		mb, err := st.Mailbox(ctx, a.ID, mbox)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		_ = st.Fetch(ctx, mb.ID, imapnum.Set{{Start: 1, Stop: ^uint32(0)}}, func(m store.Message) error {
			b, err := st.OpenBlob(ctx, m.Blob)
			if err != nil {
				return err
			}
			buf := make([]byte, b.Size())
			_, _ = b.ReadAt(buf, 0)
			b.Close()
			out = append(out, string(buf))
			return nil
		})
		return out
	}
	inbox := count("INBOX")
	if len(inbox) != 3 || inbox[0] != "Return-Path: <sender@example.net>\r\nSubject: hi\r\n\r\nbody\r\n" {
		t.Errorf("INBOX = %q", inbox)
	}
	if got := count("Archive"); len(got) != 1 {
		t.Errorf("Archive = %q", got)
	}
}

// TestAccountNameSpellings checks that the administration commands and
// `rookery deliver` find an account under any spelling of its name, and
// that user add stores the canonical form and refuses a second spelling.
func TestAccountNameSpellings(t *testing.T) {
	data := t.TempDir()
	mustRun := func(stdin string, args ...string) string {
		t.Helper()
		code, out, errOut := run(t, stdin, args...)
		if code != ExitOK {
			t.Fatalf("%v: code %d, stderr %s", args, code, errOut)
		}
		return out
	}
	if out := mustRun("pw\n", "user", "add", "Alice", "--data", data, "--password-stdin"); !strings.Contains(out, "created account alice ") {
		t.Errorf("user add Alice: %q", out)
	}
	if code, _, errOut := run(t, "pw\n", "user", "add", "ALICE", "--data", data, "--password-stdin"); code != ExitFailure || !strings.Contains(errOut, "already exists") {
		t.Errorf("user add ALICE after Alice: code %d, %s", code, errOut)
	}
	if code, _, errOut := run(t, "pw\n", "user", "add", "snow☃", "--data", data, "--password-stdin"); code != ExitUsage || !strings.Contains(errOut, "invalid account name") {
		t.Errorf("user add snow☃: code %d, %s", code, errOut)
	}
	mustRun("pw2\n", "user", "passwd", "ALICE", "--data", data, "--password-stdin")
	if out := mustRun("", "user", "quota", "aLiCe", "--messages", "5", "--data", data); !strings.Contains(out, "messages 0 of 5") {
		t.Errorf("user quota aLiCe: %q", out)
	}
	mustRun("Subject: x\n\nx\n", "deliver", "--user", "ALICE", "--data", data)
	if out := mustRun("", "reindex", "Alice", "--data", data); !strings.Contains(out, "indexed 1 messages") {
		t.Errorf("reindex Alice: %q", out)
	}
	if out := mustRun("", "user", "list", "--data", data); !strings.Contains(out, "alice") || strings.Contains(out, "Alice") {
		t.Errorf("user list: %q", out)
	}
	mustRun("", "user", "del", "ALICE", "--data", data)
	if code, _, _ := run(t, "Subject: x\n\nx\n", "deliver", "--user", "alice", "--data", data); code != exNoUser {
		t.Errorf("deliver after user del ALICE: code %d, want %d", code, exNoUser)
	}
}

// TestDeliverMailboxPolicy checks what `rookery deliver` says and returns
// for a mailbox that does not exist (INBOX, exit 0, a warning), one that
// tries to leave the account (64, nothing delivered) and a blank message
// (65).
func TestDeliverMailboxPolicy(t *testing.T) {
	data := t.TempDir()
	for _, u := range []string{"alice", "bob"} {
		if code, _, errOut := run(t, "pw\n", "user", "add", u, "--data", data, "--password-stdin"); code != ExitOK {
			t.Fatalf("user add %s: %s", u, errOut)
		}
	}
	code, _, errOut := run(t, "Subject: x\n\nx\n", "deliver", "--user", "alice", "--mailbox", "NoSuch", "--data", data)
	if code != ExitOK || !strings.Contains(errOut, `mailbox does not exist; delivering to INBOX" user=alice mailbox=NoSuch`) {
		t.Errorf("--mailbox NoSuch: code %d, stderr %q; want 0 and a warning", code, errOut)
	}
	for _, mb := range []string{"../bob/INBOX", "/bob/INBOX", "Archive/..", "a//b"} {
		code, _, errOut := run(t, "Subject: x\n\nx\n", "deliver", "--user", "alice", "--mailbox", mb, "--data", data)
		if code != exUsage || !strings.Contains(errOut, "bad destination mailbox name") {
			t.Errorf("--mailbox %s: code %d, stderr %q; want %d", mb, code, errOut, exUsage)
		}
	}
	for _, msg := range []string{"\n\n\n", " \r\n", "From sender@example.net Thu Jan  1 00:00:00 2026\n\n"} {
		if code, _, errOut := run(t, msg, "deliver", "--user", "alice", "--data", data); code != exDataErr || !strings.Contains(errOut, "empty message") {
			t.Errorf("blank message %q: code %d, stderr %q; want %d", msg, code, errOut, exDataErr)
		}
	}
	ctx := context.Background()
	st, err := sqlitestore.Open(ctx, data, sqlitestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for user, want := range map[string]uint32{"alice": 1, "bob": 0} {
		a, err := st.Account(ctx, user)
		if err != nil {
			t.Fatal(err)
		}
		mb, err := st.Mailbox(ctx, a.ID, "INBOX")
		if err != nil {
			t.Fatal(err)
		}
		if n := mb.UIDNext - 1; n != want {
			t.Errorf("%s's INBOX received %d messages, want %d", user, n, want)
		}
	}
}
