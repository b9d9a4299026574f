package delivery

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"testing/iotest"

	"rookery/internal/events"
	"rookery/internal/imapnum"
	"rookery/internal/store"
	"rookery/internal/store/sqlitestore"
)

var ctx = context.Background()

func newStore(t *testing.T, users ...string) store.Store {
	t.Helper()
	st, err := sqlitestore.Open(ctx, t.TempDir(), sqlitestore.Options{Bus: events.NewMemory()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	for _, u := range users {
		if _, err := st.CreateAccount(ctx, u, "x"); err != nil {
			t.Fatal(err)
		}
	}
	return st
}

// messages returns the contents of a mailbox's messages.
func messages(t *testing.T, st store.Store, user, mailbox string) []string {
	t.Helper()
	a, err := st.Account(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	mb, err := st.Mailbox(ctx, a.ID, mailbox)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	err = st.Fetch(ctx, mb.ID, imapnum.Set{{Start: 1, Stop: ^uint32(0)}}, func(m store.Message) error {
		b, err := st.OpenBlob(ctx, m.Blob)
		if err != nil {
			return err
		}
		defer b.Close()
		data, err := io.ReadAll(io.NewSectionReader(b, 0, b.Size()))
		out = append(out, string(data))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestResolve(t *testing.T) {
	st := newStore(t, "alice", "bob", "a+b")
	if _, err := st.CreateMailbox(ctx, mustAcct(t, st, "alice").ID, "lists", ""); err != nil {
		t.Fatal(err)
	}
	ag := New(Options{Store: st, Domains: []string{"Example.org"}})
	for _, tc := range []struct {
		addr, user, mailbox string
		err                 error
	}{
		{"alice", "alice", "INBOX", nil},
		{"alice@example.org", "alice", "INBOX", nil},
		{"ALICE@EXAMPLE.ORG", "alice", "INBOX", nil},
		{"alice+lists@example.org", "alice", "lists", nil},
		{"alice+nosuch@example.org", "alice", "nosuch", nil}, // falls back to INBOX at delivery
		{"a+b@example.org", "a+b", "INBOX", nil},
		{"alice@example.com", "", "", ErrUnknownUser},
		{"carol@example.org", "", "", ErrUnknownUser},
		{"@example.org", "", "", ErrBadAddress},
		{"alice@", "", "", ErrBadAddress},
		{"al ice", "", "", ErrBadAddress},
	} {
		r, err := ag.Resolve(ctx, tc.addr)
		if tc.err != nil {
			if !errors.Is(err, tc.err) {
				t.Errorf("Resolve(%q) err = %v, want %v", tc.addr, err, tc.err)
			}
			continue
		}
		if err != nil || r.Account.Name != tc.user || r.Mailbox != tc.mailbox {
			t.Errorf("Resolve(%q) = %s/%s, %v; want %s/%s", tc.addr, r.Account.Name, r.Mailbox, err, tc.user, tc.mailbox)
		}
	}
}

func mustAcct(t *testing.T, st store.Store, name string) store.Account {
	t.Helper()
	a, err := st.Account(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestDeliverHeadersAndCRLF(t *testing.T) {
	st := newStore(t, "alice", "bob")
	if _, err := st.CreateMailbox(ctx, mustAcct(t, st, "alice").ID, "lists", ""); err != nil {
		t.Fatal(err)
	}
	var results []string
	ag := New(Options{Store: st, Hooks: Hooks{Delivered: func(r string) { results = append(results, r) }}})
	var rcpts []Recipient
	for _, a := range []string{"alice+lists@x.org", "bob@x.org", "alice+gone@x.org"} {
		r, err := ag.Resolve(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		rcpts = append(rcpts, r)
	}
	// One byte at a time, LF endings: the reader must convert and stream.
	body := "Subject: hi\n\nline1\nline2\r\n"
	errs := ag.Deliver(ctx, Envelope{From: "s@y.org", HasFrom: true}, rcpts, iotest.OneByteReader(strings.NewReader(body)))
	for i, err := range errs {
		if err != nil {
			t.Fatalf("rcpt %d: %v", i, err)
		}
	}
	wantBody := "Subject: hi\r\n\r\nline1\r\nline2\r\n"
	if got := messages(t, st, "alice", "lists"); len(got) != 1 || got[0] != "Return-Path: <s@y.org>\r\nDelivered-To: alice+lists@x.org\r\n"+wantBody {
		t.Errorf("alice/lists = %q", got)
	}
	if got := messages(t, st, "bob", "INBOX"); len(got) != 1 || got[0] != "Return-Path: <s@y.org>\r\nDelivered-To: bob@x.org\r\n"+wantBody {
		t.Errorf("bob/INBOX = %q", got)
	}
	if got := messages(t, st, "alice", "INBOX"); len(got) != 1 || got[0] != "Return-Path: <s@y.org>\r\nDelivered-To: alice+gone@x.org\r\n"+wantBody {
		t.Errorf("alice/INBOX = %q", got)
	}
	if strings.Join(results, ",") != "ok,ok,ok" {
		t.Errorf("hooks = %v", results)
	}
}

func TestDeliverMixedQuotaAndLimits(t *testing.T) {
	st := newStore(t, "alice", "bob")
	one := int64(1)
	if err := st.SetQuota(ctx, "bob", store.Quota{Messages: &one}); err != nil {
		t.Fatal(err)
	}
	ag := New(Options{Store: st, MaxSize: 100, OverQuotaTemporary: true})
	a, _ := ag.Resolve(ctx, "alice")
	b, err := ag.Resolve(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	errs := ag.Deliver(ctx, Envelope{}, []Recipient{a, b}, strings.NewReader("Subject: 1\r\n\r\nx\r\n"))
	if errs[0] != nil || errs[1] != nil {
		t.Fatalf("first delivery: %v", errs)
	}
	// bob is now full: refused at resolve time, and inside the
	// transaction when the check at resolve time was passed earlier.
	if _, err := ag.Resolve(ctx, "bob"); !errors.Is(err, store.ErrOverQuota) || !ag.Temporary(err) {
		t.Fatalf("Resolve(full bob) = %v", err)
	}
	errs = ag.Deliver(ctx, Envelope{}, []Recipient{a, b}, strings.NewReader("Subject: 2\r\n\r\nx\r\n"))
	if errs[0] != nil || !errors.Is(errs[1], store.ErrOverQuota) {
		t.Fatalf("second delivery: %v", errs)
	}
	if n := len(messages(t, st, "bob", "INBOX")); n != 1 {
		t.Fatalf("bob has %d messages", n)
	}
	errs = ag.Deliver(ctx, Envelope{}, []Recipient{a}, strings.NewReader(strings.Repeat("x", 101)))
	if !errors.Is(errs[0], store.ErrTooBig) || ag.Temporary(errs[0]) {
		t.Fatalf("oversize: %v", errs)
	}
	errs = ag.Deliver(ctx, Envelope{}, []Recipient{a}, strings.NewReader(""))
	if !errors.Is(errs[0], ErrEmpty) || ag.Temporary(errs[0]) {
		t.Fatalf("empty: %v", errs)
	}
	errs = ag.Deliver(ctx, Envelope{}, []Recipient{a}, iotest.ErrReader(errors.New("boom")))
	if errs[0] == nil || !ag.Temporary(errs[0]) {
		t.Fatalf("read error: %v", errs)
	}
}

// TestMailboxPolicy checks what happens to a requested mailbox: one that
// cannot name a mailbox of the account is refused (ErrBadMailbox,
// permanent) whether the operator (User) or the sender (an address's
// detail) asked for it; one that does not exist falls back to INBOX,
// logged as a warning when the operator named it.
func TestMailboxPolicy(t *testing.T) {
	st := newStore(t, "alice", "bob")
	if _, err := st.CreateMailbox(ctx, mustAcct(t, st, "alice").ID, "lists/go", ""); err != nil {
		t.Fatal(err)
	}
	// lists stays as a placeholder for its child.
	if err := st.DeleteMailbox(ctx, mustAcct(t, st, "alice").ID, "lists"); err != nil {
		t.Fatal(err)
	}
	var logs strings.Builder
	ag := New(Options{Store: st, Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))})
	for _, mb := range []string{"../bob/INBOX", "..", ".", "/bob/INBOX", "lists/", "lists//go", "a/./b", "x\x01y", "x\ny", "\xff"} {
		if _, err := ag.User(ctx, "alice", mb, ""); !errors.Is(err, ErrBadMailbox) || ag.Temporary(err) {
			t.Errorf("User(alice, %q): %v, want a permanent ErrBadMailbox", mb, err)
		}
		if _, err := ag.Resolve(ctx, "alice+"+mb); !errors.Is(err, ErrBadMailbox) && !errors.Is(err, ErrBadAddress) {
			t.Errorf("Resolve(alice+%q): %v, want ErrBadMailbox", mb, err)
		}
	}
	deliver := func(r Recipient, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		if errs := ag.Deliver(ctx, Envelope{}, []Recipient{r}, strings.NewReader("Subject: x\r\n\r\nx\r\n")); errs[0] != nil {
			t.Fatal(errs[0])
		}
	}
	deliver(ag.User(ctx, "alice", "lists/go", ""))
	deliver(ag.User(ctx, "alice", "a..b", "")) // a name like any other: no such mailbox
	if !strings.Contains(logs.String(), `level=WARN msg="mailbox does not exist; delivering to INBOX" user=alice mailbox=a..b`) {
		t.Errorf("no warning for the missing mailbox; log:\n%s", logs.String())
	}
	logs.Reset()
	deliver(ag.User(ctx, "alice", "lists", "")) // exists, not selectable
	if !strings.Contains(logs.String(), `level=WARN msg="mailbox is not selectable; delivering to INBOX"`) {
		t.Errorf("no warning for the placeholder mailbox; log:\n%s", logs.String())
	}
	logs.Reset()
	deliver(ag.Resolve(ctx, "alice+newsletter"))
	if !strings.Contains(logs.String(), `level=INFO msg="mailbox does not exist; delivering to INBOX" user=alice mailbox=newsletter`) {
		t.Errorf("no info line for the missing detail mailbox; log:\n%s", logs.String())
	}
	if n := len(messages(t, st, "alice", "lists/go")); n != 1 {
		t.Errorf("lists/go has %d messages, want 1", n)
	}
	if n := len(messages(t, st, "alice", "INBOX")); n != 3 {
		t.Errorf("INBOX has %d messages, want 3", n)
	}
	if n := len(messages(t, st, "bob", "INBOX")); n != 0 {
		t.Errorf("bob has %d messages", n)
	}
}

// TestBlankMessages checks that a message of nothing but blank lines is
// refused (ErrEmpty, permanent) and leaves nothing in the store, also when
// it is large enough to be streamed to a file; one character makes it a
// message.
func TestBlankMessages(t *testing.T) {
	st := newStore(t, "alice")
	ag := New(Options{Store: st})
	a, err := ag.Resolve(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	for _, body := range []string{"", "\n", "\r\n\r\n", " \t\r\n\n  \n", strings.Repeat("\n", 100<<10)} {
		errs := ag.Deliver(ctx, Envelope{From: "s@example.org", HasFrom: true}, []Recipient{a, a}, strings.NewReader(body))
		for _, err := range errs {
			if !errors.Is(err, ErrEmpty) || ag.Temporary(err) || Result(err) != "bad_input" {
				t.Errorf("Deliver(%d blank bytes): %v, want a permanent ErrEmpty", len(body), err)
			}
		}
	}
	var files []string
	if err := st.(*sqlitestore.Store).Blobs().List(ctx, func(id string, _ int64) error {
		files = append(files, id)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(files) != 0 {
		t.Errorf("blank messages left files %v", files)
	}
	if errs := ag.Deliver(ctx, Envelope{}, []Recipient{a}, strings.NewReader("\n\nx\n")); errs[0] != nil {
		t.Errorf("a body without header fields: %v", errs[0])
	}
	if n := len(messages(t, st, "alice", "INBOX")); n != 1 {
		t.Errorf("INBOX has %d messages, want 1", n)
	}
}
