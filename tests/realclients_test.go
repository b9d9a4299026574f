package tests

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
)

// Real IMAP clients from Debian packages (.ci/run installs them): mbsync
// (isync) and interimap, which needs QRESYNC. They talk to the server over
// plaintext loopback, where AUTH=PLAIN is allowed by default.

// needTool skips the test when a client is not installed.
func needTool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s is not installed (apt-get install %s); skipping the real-client test", name, pkg)
	}
	return p
}

// runTool runs a client with a bounded time, failing the test on error.
func runTool(t *testing.T, env []string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out.String())
	}
	return out.String()
}

// mailboxState is a mailbox's messages as sorted "subject|flags" lines.
func mailboxState(t *testing.T, s *serverProc, user, mailbox string) []string {
	t.Helper()
	c := login(t, s, startTLS, user, nil)
	defer c.Logout()
	sel, err := c.Select(mailbox, &imap.SelectOptions{ReadOnly: true}).Wait()
	must(t, err, "EXAMINE %s", mailbox)
	if sel.NumMessages == 0 {
		return nil
	}
	all := imap.SeqSet{imap.SeqRange{Start: 1, Stop: 0}} // 1:*
	msgs, err := c.Fetch(all, &imap.FetchOptions{
		Flags:       true,
		BodySection: []*imap.FetchItemBodySection{{Specifier: imap.PartSpecifierHeader, Peek: true}},
	}).Collect()
	must(t, err, "FETCH %s", mailbox)
	var out []string
	for _, m := range msgs {
		subj := ""
		for _, b := range m.BodySection {
			for _, l := range strings.Split(string(b.Bytes), "\n") {
				if v, ok := strings.CutPrefix(l, "Subject: "); ok {
					subj = strings.TrimSpace(v)
				}
			}
		}
		var fl []string
		for _, f := range m.Flags {
			if !strings.EqualFold(string(f), `\Recent`) {
				fl = append(fl, strings.ToLower(string(f)))
			}
		}
		slices.Sort(fl)
		out = append(out, subj+"|"+strings.Join(fl, " "))
	}
	slices.Sort(out)
	return out
}

func simpleMessage(subject string) testMessage {
	return testMessage{raw: crlf("From: a@example.org\nTo: b@example.org\nSubject: " + subject + "\nMessage-ID: <" + subject + "@example.org>\n\nbody of " + subject + "\n")}
}

// TestInterimap syncs alice's and bob's mailboxes both ways with interimap
// (QRESYNC-based), with changes on both sides between runs.
func TestInterimap(t *testing.T) {
	bin := needTool(t, "interimap", "interimap")
	s := startServer(t, testUser{"alice", "alice-pw-1"}, testUser{"bob", "bob-pw-2"})
	testInterimap(t, bin, s, s)
}

// TestMultiNodeInterimap is TestInterimap with interimap syncing through
// one node of three on one PostgreSQL while the changes between its runs
// are made, and checked, through another.
func TestMultiNodeInterimap(t *testing.T) {
	bin := needTool(t, "interimap", "interimap")
	nodes := startPGNodes(t, 3, testUser{"alice", "alice-pw-1"}, testUser{"bob", "bob-pw-2"})
	testInterimap(t, bin, nodes[0], nodes[1])
}

// testInterimap runs interimap against sync and makes and checks the
// changes between its runs through other (which may be sync).
func testInterimap(t *testing.T, bin string, sync, other *serverProc) {
	s := other
	a := login(t, s, startTLS, "alice", nil)
	for i := 1; i <= 3; i++ {
		appendMsg(t, a, "INBOX", simpleMessage(fmt.Sprintf("m%d", i)))
	}
	dir := t.TempDir()
	host, port, _ := strings.Cut(sync.imapAddr, ":")
	conf := filepath.Join(dir, "config")
	section := func(name, user string) string {
		return fmt.Sprintf("[%s]\ntype = imap\nhost = %s\nport = %s\nSTARTTLS = NO\nusername = %s\npassword = %s\n\n", name, host, port, user, s.users[user])
	}
	cfg := "database = " + filepath.Join(dir, "interimap.db") + "\nlist-mailbox = INBOX\n\n" + section("local", "alice") + section("remote", "bob")
	if err := os.WriteFile(conf, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"HOME=" + dir, "XDG_DATA_HOME=" + dir, "XDG_CONFIG_HOME=" + dir}
	run := func() string { return runTool(t, env, bin, "--config="+conf) }
	run()
	if got, want := mailboxState(t, s, "bob", "INBOX"), mailboxState(t, s, "alice", "INBOX"); !slices.Equal(got, want) || len(got) != 3 {
		t.Fatalf("after the first sync: bob %q, alice %q", got, want)
	}

	// Changes on both sides: flags, an expunge and an append each.
	b := login(t, s, startTLS, "bob", nil)
	_, err := b.Select("INBOX", nil).Wait()
	must(t, err, "SELECT bob INBOX")
	must(t, b.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagFlagged, "$Remote"}}, nil).Close(), "STORE bob")
	must(t, b.Store(imap.SeqSetNum(2), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(), "STORE bob")
	must(t, b.Expunge().Close(), "EXPUNGE bob")
	appendMsg(t, b, "INBOX", simpleMessage("from-bob"))
	_, err = a.Select("INBOX", nil).Wait()
	must(t, err, "SELECT alice INBOX")
	must(t, a.Store(imap.SeqSetNum(3), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagSeen}}, nil).Close(), "STORE alice")
	appendMsg(t, a, "INBOX", simpleMessage("from-alice"))

	run()
	got, want := mailboxState(t, s, "bob", "INBOX"), mailboxState(t, s, "alice", "INBOX")
	if !slices.Equal(got, want) {
		t.Fatalf("after the second sync: bob %q, alice %q", got, want)
	}
	wantState := []string{"from-alice|", "from-bob|", "m1|$remote \\flagged", "m3|\\seen"}
	if !slices.Equal(got, wantState) {
		t.Fatalf("after the second sync: %q, want %q", got, wantState)
	}
	// A third run finds nothing to do and changes nothing.
	run()
	if again := mailboxState(t, s, "alice", "INBOX"); !slices.Equal(again, wantState) {
		t.Fatalf("after the third sync: %q", again)
	}
}

// TestMbsync syncs alice's INBOX to a local Maildir with mbsync and pushes
// local changes back: a flag, a deletion and a new message.
func TestMbsync(t *testing.T) {
	bin := needTool(t, "mbsync", "isync")
	s := startServer(t, testUser{"alice", "alice-pw-1"})
	testMbsync(t, bin, s, s)
}

// TestMultiNodeMbsync is TestMbsync with mbsync syncing through one node
// of three on one PostgreSQL while the server-side changes are made, and
// checked, through another.
func TestMultiNodeMbsync(t *testing.T) {
	bin := needTool(t, "mbsync", "isync")
	nodes := startPGNodes(t, 3, testUser{"alice", "alice-pw-1"})
	testMbsync(t, bin, nodes[0], nodes[2])
}

// testMbsync runs mbsync against sync and makes and checks the
// server-side changes through other (which may be sync).
func testMbsync(t *testing.T, bin string, sync, other *serverProc) {
	s := other
	a := login(t, s, startTLS, "alice", nil)
	for i := 1; i <= 3; i++ {
		appendMsg(t, a, "INBOX", simpleMessage(fmt.Sprintf("m%d", i)))
	}
	a.Logout()
	dir := t.TempDir()
	maildir := filepath.Join(dir, "mail")
	if err := os.MkdirAll(maildir, 0o700); err != nil {
		t.Fatal(err)
	}
	host, port, _ := strings.Cut(sync.imapAddr, ":")
	conf := filepath.Join(dir, "mbsyncrc")
	cfg := fmt.Sprintf(`IMAPAccount rookery
Host %s
Port %s
User alice
Pass %s
SSLType None
AuthMechs PLAIN LOGIN

IMAPStore remote
Account rookery

MaildirStore local
Path %s/
Inbox %s/INBOX

Channel c
Far :remote:
Near :local:
Patterns INBOX
Create Both
Expunge Both
SyncState *
Sync All
`, host, port, s.users["alice"], maildir, maildir)
	if err := os.WriteFile(conf, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"HOME=" + dir}
	runTool(t, env, bin, "-c", conf, "-a")
	cur, _ := filepath.Glob(filepath.Join(maildir, "INBOX", "cur", "*"))
	newf, _ := filepath.Glob(filepath.Join(maildir, "INBOX", "new", "*"))
	files := append(cur, newf...)
	if len(files) != 3 {
		t.Fatalf("after the first sync the Maildir has %d messages: %q", len(files), files)
	}
	// Local changes: m1 flagged, m2 deleted, a new message.
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case bytes.Contains(b, []byte("Subject: m1")):
			base := filepath.Base(f)
			name, _, _ := strings.Cut(base, ":2,")
			if err := os.Rename(f, filepath.Join(maildir, "INBOX", "cur", name+":2,F")); err != nil {
				t.Fatal(err)
			}
		case bytes.Contains(b, []byte("Subject: m2")):
			if err := os.Remove(f); err != nil {
				t.Fatal(err)
			}
		}
	}
	local := simpleMessage("local")
	if err := os.WriteFile(filepath.Join(maildir, "INBOX", "new", "1700000000.local.host"), local.raw, 0o600); err != nil {
		t.Fatal(err)
	}
	runTool(t, env, bin, "-c", conf, "-a")
	got := mailboxState(t, s, "alice", "INBOX")
	want := []string{"local|", "m1|\\flagged", "m3|"}
	if !slices.Equal(got, want) {
		t.Fatalf("server INBOX after pushing local changes: %q, want %q", got, want)
	}
	// A change on the server comes back to the Maildir.
	c := login(t, s, startTLS, "alice", nil)
	_, err := c.Select("INBOX", nil).Wait()
	must(t, err, "SELECT")
	must(t, c.Store(imap.SeqSetNum(1, 2, 3), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagSeen}}, nil).Close(), "STORE")
	runTool(t, env, bin, "-c", conf, "-a")
	cur, _ = filepath.Glob(filepath.Join(maildir, "INBOX", "cur", "*"))
	newf, _ = filepath.Glob(filepath.Join(maildir, "INBOX", "new", "*"))
	seen := 0
	for _, f := range cur {
		if _, fl, ok := strings.Cut(filepath.Base(f), ":2,"); ok && strings.Contains(fl, "S") {
			seen++
		}
	}
	if seen != 3 || len(newf) != 0 {
		t.Fatalf("Maildir after the server change: %d seen in cur %q, new %q", seen, cur, newf)
	}
}
