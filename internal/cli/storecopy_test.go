package cli

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"net/url"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"rookery/internal/auth"
	"rookery/internal/imapnum"
	"rookery/internal/pgtest"
	"rookery/internal/store"
	"rookery/internal/store/pgstore"
	"rookery/internal/store/sqlitestore"
	"rookery/internal/store/storetest"
)

// openData opens a data directory for a test; closed when it ends.
func openData(t testing.TB, dir string) *sqlitestore.Store {
	t.Helper()
	st, err := sqlitestore.Open(context.Background(), dir, sqlitestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// checkData runs `rookery check` on dir and fails unless it is clean.
func checkData(t *testing.T, dir string) {
	t.Helper()
	code, out, errOut := run(t, "", "check", "--contents", "--data", dir)
	if code != ExitOK || !strings.Contains(out, "0 problems, 0 repaired, 0 notices") {
		t.Errorf("check %s: exit %d\n%s%s", dir, code, out, errOut)
	}
}

// copied parses the "copied" line of a store copy.
func copied(t *testing.T, out string) (n, there int) {
	t.Helper()
	m := regexp.MustCompile(`: (\d+) messages, .* \((\d+) already there\)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no copied line in %q", out)
	}
	n, _ = strconv.Atoi(m[1])
	there, _ = strconv.Atoi(m[2])
	return n, there
}

// newSource makes a data directory with the copy fixture (alice and bob
// with passwords) and returns it with its message count.
func newSource(t *testing.T) (string, int) {
	t.Helper()
	src := t.TempDir()
	for _, u := range []string{"alice", "bob"} {
		if code, _, errOut := run(t, "pw-"+u+"\n", "user", "add", u, "--data", src, "--password-stdin"); code != ExitOK {
			t.Fatalf("user add %s: %s", u, errOut)
		}
	}
	st := openData(t, src)
	storetest.CopyFixture(t, st)
	accts, err := st.Accounts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, a := range accts {
		total += int(a.Messages)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	return src, total
}

// TestStoreCopy copies a data directory into a new one: everything clients
// see is identical afterwards (storetest.SameInstallation: UIDVALIDITY,
// UIDs, MODSEQ, flags, dates, contents, Changes since several
// mod-sequences, quotas, subscriptions), passwords work, both pass
// check, and a second run copies nothing and verifies again.
func TestStoreCopy(t *testing.T) {
	src, total := newSource(t)
	dst := filepath.Join(t.TempDir(), "new")
	code, out, errOut := run(t, "", "store", "copy", "--from", src, "--to", dst)
	if code != ExitOK {
		t.Fatalf("store copy: exit %d\n%s%s", code, out, errOut)
	}
	t.Logf("%s%s", out, errOut)
	if n, there := copied(t, out); n != total || there != 0 {
		t.Errorf("copied %d, %d already there; want %d, 0\n%s", n, there, total, out)
	}
	if !strings.Contains(out, "verified: 2 accounts") || !strings.Contains(errOut, "alice/INBOX: ") {
		t.Errorf("store copy output:\n%s%s", out, errOut)
	}
	if strings.Contains(errOut, "\r") {
		t.Errorf("progress to a pipe has control characters: %q", errOut)
	}
	for _, u := range []string{"alice", "bob"} {
		if !verifyStored(t, dst, u, "pw-"+u) || verifyStored(t, dst, u, "wrong") {
			t.Errorf("password of %s after the copy", u)
		}
	}
	a, b := openData(t, src), openData(t, dst)
	storetest.SameInstallation(t, a, b)
	_ = a.Close()
	_ = b.Close()
	checkData(t, src)
	checkData(t, dst)

	code, out, errOut = run(t, "", "store", "copy", "--from", src, "--to", dst)
	if code != ExitOK {
		t.Fatalf("store copy again: exit %d\n%s%s", code, out, errOut)
	}
	if n, there := copied(t, out); n != 0 || there != total {
		t.Errorf("second copy: copied %d, %d already there; want 0, %d", n, there, total)
	}

	// Once the destination is used (a flag changed), it is no earlier
	// copy: refused, with what differs.
	b = openData(t, dst)
	alice, err := b.Account(context.Background(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	inbox, err := b.Mailbox(context.Background(), alice.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.StoreFlags(context.Background(), inbox.ID, imapnum.Set{{Start: 4, Stop: 4}}, store.FlagsAdd,
		store.Flags{Keywords: []string{"$Changed"}}, 0); err != nil {
		t.Fatal(err)
	}
	_ = b.Close()
	code, out, errOut = run(t, "", "store", "copy", "--from", src, "--to", dst)
	t.Logf("%s%s", out, errOut)
	if code != ExitFailure || !strings.Contains(errOut, "not an earlier copy") || !strings.Contains(errOut, "mailbox alice/INBOX: HIGHESTMODSEQ") {
		t.Errorf("copy into a used destination: exit %d\n%s%s", code, out, errOut)
	}
}

// cancelAfter is a destination whose context is cancelled during its
// calls-th RestoreMessages: a copy killed halfway.
type cancelAfter struct {
	*sqlitestore.Store
	calls  int
	cancel context.CancelFunc
}

func (c *cancelAfter) RestoreMessages(ctx context.Context, mbox store.MailboxID, msgs []store.RestoreMessage) (int, error) {
	c.calls--
	if c.calls == 0 {
		c.cancel()
	}
	return c.Store.RestoreMessages(ctx, mbox, msgs)
}

// TestStoreCopyResumed: a copy interrupted halfway is completed by
// running the command again, without duplicates.
func TestStoreCopyResumed(t *testing.T) {
	src, total := newSource(t)
	dst := t.TempDir()
	for _, calls := range []int{3, 9} { // interrupted twice, at different points
		ctx, cancel := context.WithCancel(context.Background())
		s, d := openData(t, src), openData(t, dst)
		log := slog.New(slog.DiscardHandler)
		c, err := newCopier(s, &cancelAfter{Store: d, calls: calls, cancel: cancel}, log)
		if err != nil {
			t.Fatal(err)
		}
		c.batch, c.batchMem = 4, 64<<10 // small batches; the big message alone in one
		accts, err := s.Accounts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		st, err := c.copy(ctx, accts)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("interrupted copy: %+v, %v", st, err)
		}
		cancel()
		_ = s.Close()
		_ = d.Close()
	}
	d := openData(t, dst)
	accts, err := d.Accounts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	had := 0
	for _, a := range accts {
		had += int(a.Messages)
	}
	_ = d.Close()
	if had == 0 || had >= total {
		t.Fatalf("the interrupted copies left %d of %d messages", had, total)
	}
	code, out, errOut := run(t, "", "store", "copy", "--from", src, "--to", dst)
	if code != ExitOK {
		t.Fatalf("resumed copy: exit %d\n%s%s", code, out, errOut)
	}
	if n, there := copied(t, out); n != total-had || there != had {
		t.Errorf("resumed copy: copied %d, %d already there; want %d, %d", n, there, total-had, had)
	}
	a, b := openData(t, src), openData(t, dst)
	storetest.SameInstallation(t, a, b)
	_ = a.Close()
	_ = b.Close()
	checkData(t, dst)
}

// TestStoreCopyRefused: destinations and arguments a copy refuses.
func TestStoreCopyRefused(t *testing.T) {
	src := t.TempDir()
	if code, _, errOut := run(t, "pw\n", "user", "add", "alice", "--data", src, "--password-stdin"); code != ExitOK {
		t.Fatal(errOut)
	}
	other := t.TempDir() // an unrelated installation with an alice of its own
	if code, _, errOut := run(t, "pw\n", "user", "add", "alice", "--data", other, "--password-stdin"); code != ExitOK {
		t.Fatal(errOut)
	}
	extra := t.TempDir() // an installation with an account the source lacks
	if code, _, errOut := run(t, "pw\n", "user", "add", "zoe", "--data", extra, "--password-stdin"); code != ExitOK {
		t.Fatal(errOut)
	}
	for _, tc := range []struct {
		name    string
		args    []string
		code    int
		wantErr string
	}{
		{"other alice", []string{"--from", src, "--to", other}, ExitFailure, "account alice: the password hashes differ"},
		{"extra account", []string{"--from", src, "--to", extra}, ExitFailure, "account zoe: in the destination but not in the source"},
		// Nothing listens on port 1; the password is not shown.
		{"postgres unreachable", []string{"--from", src, "--to", "postgres://nobody:s3cret@127.0.0.1:1/rookery"}, ExitFailure,
			"store copy: open postgres://nobody:xxxxx@127.0.0.1:1/rookery: "},
		{"unknown URL", []string{"--from", src, "--to", "mysql://x"}, ExitFailure, "unknown kind of target"},
		{"same directory", []string{"--from", src, "--to", src + "/."}, ExitFailure, "same directory"},
		{"no source", []string{"--from", filepath.Join(src, "nope"), "--to", t.TempDir()}, ExitFailure, "not a data directory"},
		{"missing --to", []string{"--from", src}, ExitUsage, "--from and --to are required"},
		{"extra argument", []string{"--from", src, "--to", t.TempDir(), "x"}, ExitUsage, "unexpected arguments"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := run(t, "", append([]string{"store", "copy"}, tc.args...)...)
			if code != tc.code || !strings.Contains(errOut, tc.wantErr) || strings.Contains(out+errOut, "s3cret") {
				t.Errorf("exit %d, want %d; stderr lacks %q?\n%s%s", code, tc.code, tc.wantErr, out, errOut)
			}
		})
	}
	for _, args := range [][]string{{"store"}, {"store", "migrat"}} {
		if code, _, _ := run(t, "", args...); code != ExitUsage {
			t.Errorf("%q: exit %d", args, code)
		}
	}
	if code, out, _ := run(t, "", "help", "store"); code != ExitOK || !strings.Contains(out, "rookery store copy") {
		t.Errorf("help store: %d %s", code, out)
	}
}

// TestStoreCopyVerify: the verification lists what differs between a
// source and a destination changed behind the store's back.
func TestStoreCopyVerify(t *testing.T) {
	src, _ := newSource(t)
	dst := t.TempDir()
	if code, out, errOut := run(t, "", "store", "copy", "--from", src, "--to", dst); code != ExitOK {
		t.Fatalf("store copy: exit %d\n%s%s", code, out, errOut)
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dst, "rookery.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{
		`UPDATE messages SET flags = flags | 4 WHERE uid = 4 AND mailbox = (SELECT m.id FROM mailboxes m JOIN accounts a ON a.id = m.account
			WHERE a.name = 'alice' AND m.name = 'INBOX')`,
		`DELETE FROM expunged WHERE uid = 2 AND mailbox = (SELECT m.id FROM mailboxes m JOIN accounts a ON a.id = m.account
			WHERE a.name = 'bob' AND m.name = 'INBOX')`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	s, d := openData(t, src), openData(t, dst)
	c, err := newCopier(s, d, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	accts, err := s.Accounts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	_, diffs, err := c.verify(context.Background(), accts)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(diffs, "\n")
	for _, want := range []string{
		`mailbox alice/INBOX: message 4 is UID 4 MODSEQ`,
		`FLAGS (\Seen \Answered \Flagged $Junk MixedCase) INTERNALDATE 2024-04-04T10:03:07-02:30`,
		`mailbox alice/INBOX: 27 messages with digest`,
		`mailbox bob/INBOX: expunged UID 2 missing in the destination`,
		`mailbox bob/INBOX: 1 expunged UIDs with digest`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("differences lack %q:\n%s", want, got)
		}
	}
}

func TestProgress(t *testing.T) {
	for _, tc := range []struct {
		n    int64
		want string
	}{{0, "0 B"}, {1023, "1023 B"}, {1024, "1.0 KiB"}, {3<<20 + 1<<19, "3.5 MiB"}, {5 << 40, "5.0 TiB"}} {
		if got := formatBytes(tc.n); got != tc.want {
			t.Errorf("formatBytes(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
	var plain strings.Builder
	p := newProgress(&plain, 10, 1000)
	p.step("alice/INBOX")
	p.add(5, 500)
	p.linef("alice/INBOX: %d messages", 5)
	p.finish()
	if plain.String() != "alice/INBOX: 5 messages\n" {
		t.Errorf("plain progress wrote %q", plain.String())
	}
	var term strings.Builder
	p = &progress{w: &term, bar: true, total: 10, totalBytes: 1000}
	p.step("alice/INBOX")
	p.add(5, 500)
	p.linef("a line")
	p.finish()
	out := term.String()
	for _, want := range []string{"\r\x1b[K[###############---------------]  50%  5/10 messages  500 B/1000 B  alice/INBOX", "\r\x1b[Ka line\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("bar output lacks %q: %q", want, out)
		}
	}
	if !strings.HasSuffix(out, "\r\x1b[K") {
		t.Errorf("finish leaves the bar on the line: %q", out)
	}
}

// openPG opens the PostgreSQL store at dsn for a test; closed when it
// ends.
func openPG(t *testing.T, dsn string) *pgstore.Store {
	t.Helper()
	st, err := pgstore.Open(context.Background(), dsn, pgstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// sameDumps fails unless a and b dump the same installation and
// accounts (account IDs aside).
func sameDumps(t *testing.T, a, b interface {
	store.Store
	store.Dumper
}) {
	t.Helper()
	ctx := context.Background()
	ia, err := a.DumpInstallation(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ib, err := b.DumpInstallation(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ia, ib) {
		t.Errorf("installations dumped:\n  %+v\n  %+v", ia, ib)
	}
	accts, err := a.Accounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, acct := range accts {
		da, err := a.DumpAccount(ctx, acct.Name)
		if err != nil {
			t.Fatal(err)
		}
		db, err := b.DumpAccount(ctx, acct.Name)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range []*store.AccountDump{&da, &db} {
			for i := range d.Mailboxes {
				d.Mailboxes[i].Account = 0
			}
		}
		if !reflect.DeepEqual(da, db) {
			t.Errorf("account %s dumped:\n  %+v\n  %+v", acct.Name, da, db)
		}
	}
}

// TestStoreCopyPostgres copies a data directory into a PostgreSQL
// database: everything clients see is identical afterwards (Changes
// since several mod-sequences included), the dumps agree, passwords
// verify, the database passes Check, the password of the URL is never
// shown, and a second run copies nothing.
func TestStoreCopyPostgres(t *testing.T) {
	ctx := context.Background()
	src, total := newSource(t)
	if code, _, errOut := run(t, "pw-carol\n", "user", "add", "carol", "--data", src, "--password-stdin"); code != ExitOK {
		t.Fatalf("user add carol: %s", errOut)
	}
	dsn := pgtest.NewDatabase(t)
	code, out, errOut := run(t, "", "store", "copy", "--from", src, "--to", dsn)
	if code != ExitOK {
		t.Fatalf("store copy: exit %d\n%s%s", code, out, errOut)
	}
	t.Logf("%s%s", out, errOut)
	if n, there := copied(t, out); n != total || there != 0 {
		t.Errorf("copied %d, %d already there; want %d, 0\n%s", n, there, total, out)
	}
	if !strings.Contains(out, "verified: 3 accounts") || !strings.Contains(errOut, "alice/INBOX: ") {
		t.Errorf("store copy output:\n%s%s", out, errOut)
	}
	if u, err := url.Parse(dsn); err == nil {
		if pw, ok := u.User.Password(); ok && strings.Contains(out+errOut, ":"+pw+"@") {
			t.Errorf("the output shows the password of the URL:\n%s%s", out, errOut)
		}
	}
	a, b := openData(t, src), openPG(t, dsn)
	storetest.SameInstallation(t, a, b)
	sameDumps(t, a, b)
	rep, err := b.Check(ctx, store.CheckOptions{Contents: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range rep.Findings {
		t.Errorf("check of the database: %+v", f)
	}
	for _, u := range []string{"alice", "bob", "carol"} {
		for pw, want := range map[string]bool{"pw-" + u: true, "wrong": false} {
			if _, err := auth.New(b, nil).Login(ctx, u, pw, nil); (err == nil) != want {
				t.Errorf("login of %s with %q after the copy: %v", u, pw, err)
			}
		}
	}
	_ = a.Close()
	_ = b.Close()

	code, out, errOut = run(t, "", "store", "copy", "--from", src, "--to", dsn)
	if code != ExitOK {
		t.Fatalf("store copy again: exit %d\n%s%s", code, out, errOut)
	}
	if n, there := copied(t, out); n != 0 || there != total {
		t.Errorf("second copy: copied %d, %d already there; want 0, %d", n, there, total)
	}
}

// pgCancelAfter is cancelAfter for a PostgreSQL destination.
type pgCancelAfter struct {
	*pgstore.Store
	calls  int
	cancel context.CancelFunc
}

func (c *pgCancelAfter) RestoreMessages(ctx context.Context, mbox store.MailboxID, msgs []store.RestoreMessage) (int, error) {
	c.calls--
	if c.calls == 0 {
		c.cancel()
	}
	return c.Store.RestoreMessages(ctx, mbox, msgs)
}

// TestStoreCopyPostgresResumed: a copy into PostgreSQL interrupted
// halfway is completed by running the command again, without
// duplicates.
func TestStoreCopyPostgresResumed(t *testing.T) {
	src, total := newSource(t)
	dsn := pgtest.NewDatabase(t)
	for _, calls := range []int{3, 9} { // interrupted twice, at different points
		ctx, cancel := context.WithCancel(context.Background())
		s, d := openData(t, src), openPG(t, dsn)
		c, err := newCopier(s, &pgCancelAfter{Store: d, calls: calls, cancel: cancel}, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		c.batch, c.batchMem = 4, 64<<10 // small batches; the big message alone in one
		accts, err := s.Accounts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		st, err := c.copy(ctx, accts)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("interrupted copy: %+v, %v", st, err)
		}
		cancel()
		_ = s.Close()
		_ = d.Close()
	}
	d := openPG(t, dsn)
	had := 0
	accts, err := d.Accounts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range accts {
		had += int(a.Messages)
	}
	_ = d.Close()
	if had == 0 || had >= total {
		t.Fatalf("the interrupted copies left %d of %d messages", had, total)
	}
	code, out, errOut := run(t, "", "store", "copy", "--from", src, "--to", dsn)
	if code != ExitOK {
		t.Fatalf("resumed copy: exit %d\n%s%s", code, out, errOut)
	}
	if n, there := copied(t, out); n != total-had || there != had {
		t.Errorf("resumed copy: copied %d, %d already there; want %d, %d", n, there, total-had, had)
	}
	a, b := openData(t, src), openPG(t, dsn)
	storetest.SameInstallation(t, a, b)
	sameDumps(t, a, b)
	rep, err := b.Check(context.Background(), store.CheckOptions{Contents: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range rep.Findings {
		if f.Problem {
			t.Errorf("check of the database: %+v", f)
		}
	}
}
