package migrate_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"rookery/internal/dovecottest"
	"rookery/internal/imapnum"
	"rookery/internal/migrate"
	"rookery/internal/pgtest"
	"rookery/internal/store"
	"rookery/internal/store/pgstore"
	"rookery/internal/store/sqlitestore"
)

// corpus is what the Dovecot tests put into the source account: nested
// mailboxes (Dovecot's "." separator), special-use ones by attribute
// ("Sent Items") and by name only ("Spam"), a UTF-7 name, an
// unsubscribed mailbox, every flag and keywords, internal dates in
// several zones, two identical messages, and one message of 256 KiB (streamed).
func corpus(n int) []dovecottest.Message {
	boxes := []string{"INBOX", "INBOX", "INBOX", "Work", "Work.Projects", "Work.Projects.2024", "Sent Items", "Spam", "Ünïcode €", "Old"}
	flagSets := [][]imap.Flag{nil, {imap.FlagSeen}, {imap.FlagSeen, imap.FlagAnswered}, {imap.FlagFlagged, "$Label1"},
		{imap.FlagDraft}, {imap.FlagDeleted, imap.FlagSeen}, {"custom_kw", "$Forwarded", imap.FlagSeen}}
	zones := []*time.Location{time.UTC, time.FixedZone("", 2*3600), time.FixedZone("", -5*3600-1800)}
	base := time.Date(2023, 3, 1, 9, 0, 0, 0, time.UTC)
	var out []dovecottest.Message
	for i := range n {
		body := fmt.Sprintf("From: sender%d@example.net\r\nTo: alice@example.org\r\nSubject: message %d\r\nMessage-ID: <m%d@example.net>\r\nDate: Wed, 1 Mar 2023 09:00:00 +0000\r\n\r\nBody of message %d.\r\n%s",
			i, i, i, i, strings.Repeat("line of text\r\n", i%20))
		out = append(out, dovecottest.Message{
			Mailbox: boxes[i%len(boxes)],
			Flags:   flagSets[i%len(flagSets)],
			Date:    base.Add(time.Duration(i) * time.Minute).In(zones[i%len(zones)]),
			Body:    []byte(body),
		})
	}
	dup := out[0]
	out = append(out, dup) // the same message twice in INBOX
	big := "From: big@example.net\r\nSubject: big\r\n\r\n" + strings.Repeat("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\r\n", 4<<10)
	out = append(out, dovecottest.Message{Mailbox: "Work", Date: base, Body: []byte(big), Flags: []imap.Flag{imap.FlagSeen}})
	return out
}

// setup starts Dovecot with alice's mailboxes filled and opens an empty
// Rookery store with the given accounts.
func setup(t *testing.T, n int, accounts ...string) (*dovecottest.Server, store.Store) {
	t.Helper()
	s := dovecottest.Start(t, dovecottest.Options{Users: []string{"alice"}, TLS: true,
		SpecialUse: map[string]string{"Sent Items": `\Sent`}})
	s.Append(t, "alice", corpus(n))
	c := s.Dial(t, "alice")
	if err := c.Create("Old", nil).Wait(); err != nil && !strings.Contains(err.Error(), "exists") {
		t.Fatal(err)
	}
	if err := c.Unsubscribe("Old").Wait(); err != nil {
		t.Fatal(err)
	}
	c.Close()
	ctx := context.Background()
	st, err := sqlitestore.Open(ctx, t.TempDir(), sqlitestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	for _, a := range accounts {
		if _, err := st.CreateAccount(ctx, a, "x"); err != nil {
			t.Fatal(err)
		}
	}
	return s, st
}

func source(s *dovecottest.Server, sec migrate.Security) migrate.Source {
	src := migrate.Source{Addr: s.IMAPAddr, Security: sec, Login: "alice", Password: dovecottest.Password, CAFile: s.CAFile}
	if sec == migrate.TLS {
		src.Addr = s.IMAPSAddr
	}
	return src
}

// wantNames maps alice's source mailboxes to their Rookery names.
var wantNames = map[string]string{
	"INBOX": "INBOX", "Work": "Work", "Work.Projects": "Work/Projects", "Work.Projects.2024": "Work/Projects/2024",
	"Sent Items": "Sent", "Spam": "Junk", "Ünïcode €": "Ünïcode €", "Old": "Old",
}

func TestMigrateFromDovecot(t *testing.T) {
	const n = 1500
	s, st := setup(t, n, "alice")
	ctx := context.Background()
	opts := migrate.Options{Store: st, Account: "alice", Source: source(s, migrate.TLS), FetchMessages: 100, AppendMessages: 150, Backoff: 10 * time.Millisecond}
	rep, err := migrate.Run(ctx, opts)
	if err != nil {
		t.Fatalf("run 1: %v", err)
	}
	if !rep.Complete() {
		t.Fatalf("run 1 incomplete: %+v", rep.Mailboxes)
	}
	srcN, copied, present, _, _ := rep.Totals()
	if srcN != n+2 || copied != srcN || present != 0 || rep.Fetched != int64(srcN) {
		t.Fatalf("run 1: source %d copied %d present %d fetched %d, want %d copied", srcN, copied, present, rep.Fetched, n+2)
	}
	for _, m := range rep.Mailboxes {
		if want, ok := wantNames[m.Source]; !ok || m.Target != want {
			t.Errorf("source %q went to %q, want %q", m.Source, m.Target, want)
		}
	}
	compare(t, s, st, "alice")
	checkTree(t, st, "alice")

	// Run 2, over STARTTLS with a state file: nothing to copy, no content
	// fetched.
	state, err := migrate.OpenState(filepath.Join(t.TempDir(), "alice.json"), "x", "alice", "alice")
	if err != nil {
		t.Fatal(err)
	}
	opts.Source, opts.State = source(s, migrate.StartTLS), state
	rep, err = migrate.Run(ctx, opts)
	if err != nil {
		t.Fatalf("run 2: %v", err)
	}
	if srcN, copied, present, _, _ := rep.Totals(); copied != 0 || present != srcN || rep.Fetched != 0 {
		t.Fatalf("run 2: copied %d present %d of %d, fetched %d: want nothing copied or fetched", copied, present, srcN, rep.Fetched)
	}

	// Changes on the source: flags of some messages, new messages. Run 3
	// (CHANGEDSINCE from the state) copies the new ones and applies the
	// flags; mailboxes without change are skipped.
	c := s.Dial(t, "alice")
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Store(imap.UIDSet{{Start: 1, Stop: 40}}, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagFlagged, "$Changed"}, Silent: true}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	c.Close()
	var extra []dovecottest.Message
	for i := range 5 {
		extra = append(extra, dovecottest.Message{Mailbox: "INBOX", Date: time.Date(2024, 1, 2, 3, 4, i, 0, time.UTC),
			Body: []byte(fmt.Sprintf("Subject: new %d\r\n\r\nnew\r\n", i))})
	}
	s.Append(t, "alice", extra)
	rep, err = migrate.Run(ctx, opts)
	if err != nil {
		t.Fatalf("run 3: %v", err)
	}
	_, copied, _, unchanged, _ := rep.Totals()
	if copied != 5 || rep.Fetched != 5 || unchanged == 0 {
		t.Fatalf("run 3: copied %d fetched %d unchanged %d, want 5, 5 and the rest unchanged", copied, rep.Fetched, unchanged)
	}
	for _, m := range rep.Mailboxes {
		if m.Source == "INBOX" && m.FlagsUpdated != 40 {
			t.Errorf("run 3: INBOX flags updated on %d messages, want 40", m.FlagsUpdated)
		}
		if m.Source == "Work" && m.Unchanged != m.SourceCount {
			t.Errorf("run 3: Work unchanged %d of %d, want all", m.Unchanged, m.SourceCount)
		}
	}
	compare(t, s, st, "alice")
}

// TestMigrateDroppedConnection cuts the connection once mid-run (a
// proxy that closes it after some bytes): the run reconnects, goes on
// and ends with every message once.
func TestMigrateDroppedConnection(t *testing.T) {
	s, st := setup(t, 300, "alice")
	p := newCuttingProxy(t, s.IMAPAddr, 100<<10)
	src := source(s, migrate.Plaintext)
	src.Addr = p.addr
	rep, err := migrate.Run(context.Background(), migrate.Options{Store: st, Account: "alice", Source: src,
		FetchMessages: 50, AppendMessages: 50, Backoff: 10 * time.Millisecond})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if rep.Reconnects < 1 || p.cuts.Load() < 1 {
		t.Fatalf("reconnects %d, cuts %d: the proxy did not cut the connection", rep.Reconnects, p.cuts.Load())
	}
	if srcN, copied, present, _, failed := rep.Totals(); copied != srcN || present != 0 || failed != 0 {
		t.Fatalf("copied %d present %d failed %d of %d", copied, present, failed, srcN)
	}
	compare(t, s, st, "alice")
}

// TestMigrateRefusals checks failures that must stop a run clearly.
func TestMigrateRefusals(t *testing.T) {
	s, st := setup(t, 10, "alice")
	plain := dovecottest.Start(t, dovecottest.Options{Users: []string{"alice"}}) // ssl = no
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		mod  func(*migrate.Source)
		want string
	}{
		{"bad password", func(s *migrate.Source) { s.Password = "wrong" }, "login refused"},
		{"unknown CA", func(s *migrate.Source) { s.CAFile = "" }, "certificate"},
		{"unreachable", func(s *migrate.Source) { s.Addr = "127.0.0.1:1" }, "connect"},
		{"no STARTTLS", func(s *migrate.Source) { s.Security = migrate.StartTLS; s.Addr = plain.IMAPAddr }, "STARTTLS"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := source(s, migrate.TLS)
			tc.mod(&src)
			_, err := migrate.Run(ctx, migrate.Options{Store: st, Account: "alice", Source: src, Retries: 1, Backoff: time.Millisecond})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

// compare checks that every source mailbox's messages are in the target
// once: the multisets of (content hash, flags, internal date with zone)
// are equal.
func compare(t *testing.T, s *dovecottest.Server, st store.Store, account string) {
	t.Helper()
	ctx := context.Background()
	c := s.Dial(t, "alice")
	defer c.Close()
	acct, err := st.Account(ctx, account)
	if err != nil {
		t.Fatal(err)
	}
	for srcName, tgtName := range wantNames {
		sel, err := c.Select(srcName, &imap.SelectOptions{ReadOnly: true}).Wait()
		if err != nil {
			t.Fatalf("EXAMINE %s: %v", srcName, err)
		}
		var want []string
		if sel.NumMessages > 0 {
			msgs, err := c.Fetch(imap.UIDSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{Flags: true, InternalDate: true,
				BodySection: []*imap.FetchItemBodySection{{Peek: true}}}).Collect()
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range msgs {
				flags := make([]string, len(m.Flags))
				for i, f := range m.Flags {
					flags[i] = string(f)
				}
				sum := sha256.Sum256(m.FindBodySection(&imap.FetchItemBodySection{}))
				want = append(want, digest(hex.EncodeToString(sum[:]), migrate.FlagsFromIMAP(flags), m.InternalDate))
			}
		}
		mb, err := st.Mailbox(ctx, acct.ID, tgtName)
		if err != nil {
			t.Fatalf("target %s: %v", tgtName, err)
		}
		var got []string
		err = st.Fetch(ctx, mb.ID, imapnum.Set{{Start: 1, Stop: 1<<32 - 1}}, func(m store.Message) error {
			b, err := st.OpenBlob(ctx, m.Blob)
			if err != nil {
				return err
			}
			defer b.Close()
			h := sha256.New()
			if _, err := io.Copy(h, io.NewSectionReader(b, 0, b.Size())); err != nil {
				return err
			}
			got = append(got, digest(hex.EncodeToString(h.Sum(nil)), m.Flags, m.InternalDate))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		sort.Strings(want)
		sort.Strings(got)
		if !slices.Equal(want, got) {
			t.Errorf("%s -> %s: %d source messages, %d target messages, or they differ", srcName, tgtName, len(want), len(got))
			for i := 0; i < len(want) && i < len(got) && i < 3; i++ {
				if want[i] != got[i] {
					t.Logf("first difference: source %s target %s", want[i], got[i])
					break
				}
			}
		}
	}
}

func digest(hash string, f store.Flags, date time.Time) string {
	kws := make([]string, len(f.Keywords))
	for i, k := range f.Keywords {
		kws[i] = strings.ToLower(k)
	}
	return fmt.Sprintf("%s %d [%s] %s", hash, f.Sys, strings.Join(kws, " "), date.Format(time.RFC3339))
}

// checkTree checks special-use and subscriptions in the target.
func checkTree(t *testing.T, st store.Store, account string) {
	t.Helper()
	ctx := context.Background()
	acct, _ := st.Account(ctx, account)
	mbs, err := st.Mailboxes(ctx, acct.ID)
	if err != nil {
		t.Fatal(err)
	}
	use := map[string]string{}
	for _, m := range mbs {
		use[m.Name] = m.SpecialUse
	}
	for name, want := range map[string]string{"Sent": `\Sent`, "Junk": `\Junk`, "Work/Projects/2024": "", "Ünïcode €": ""} {
		if got, ok := use[name]; !ok || got != want {
			t.Errorf("target mailbox %s: special-use %q (exists %v), want %q", name, got, ok, want)
		}
	}
	subs, err := st.Subscriptions(ctx, acct.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"Work", "Work/Projects", "Work/Projects/2024", "Ünïcode €", "Sent", "Junk"} {
		if !slices.Contains(subs, name) {
			t.Errorf("%s not subscribed in the target: %v", name, subs)
		}
	}
	if slices.Contains(subs, "Old") {
		t.Errorf("Old is subscribed in the target; it is not in the source")
	}
}

// cuttingProxy forwards loopback connections to a server and closes the
// first one after it has carried limit bytes from the server.
type cuttingProxy struct {
	addr string
	cuts atomic.Int32
}

func newCuttingProxy(t *testing.T, target string, limit int64) *cuttingProxy {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cuttingProxy{addr: l.Addr().String()}
	var wg sync.WaitGroup
	t.Cleanup(func() { l.Close(); wg.Wait() })
	first := true
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			in, err := l.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				in.Close()
				continue
			}
			cut := first
			first = false
			wg.Add(2)
			go func() {
				defer wg.Done()
				_, _ = io.Copy(out, in)
				out.Close()
			}()
			go func() {
				defer wg.Done()
				if cut {
					_, _ = io.CopyN(in, out, limit)
					p.cuts.Add(1)
				} else {
					_, _ = io.Copy(in, out)
				}
				in.Close()
				out.Close()
			}()
		}
	}()
	return p
}

// TestMigrateToPostgres migrates into the PostgreSQL backend: every
// message once, and a second run fetches nothing.
func TestMigrateToPostgres(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	s := dovecottest.Start(t, dovecottest.Options{Users: []string{"alice"}, TLS: true,
		SpecialUse: map[string]string{"Sent Items": `\Sent`}})
	s.Append(t, "alice", corpus(200))
	ctx := context.Background()
	st, err := pgstore.Open(ctx, dsn, pgstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.CreateAccount(ctx, "alice", "x"); err != nil {
		t.Fatal(err)
	}
	opts := migrate.Options{Store: st, Account: "alice", Source: source(s, migrate.TLS), FetchMessages: 40}
	for run := 1; run <= 2; run++ {
		rep, err := migrate.Run(ctx, opts)
		if err != nil || !rep.Complete() {
			t.Fatalf("run %d: %v %+v", run, err, rep)
		}
		srcN, copied, present, _, _ := rep.Totals()
		if run == 1 && (copied != srcN || srcN != 202) || run == 2 && (present != srcN || rep.Fetched != 0) {
			t.Fatalf("run %d: source %d copied %d present %d fetched %d", run, srcN, copied, present, rep.Fetched)
		}
	}
	compare(t, s, st, "alice")
}
