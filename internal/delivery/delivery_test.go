package delivery

import (
	"context"
	"errors"
	"io"
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
