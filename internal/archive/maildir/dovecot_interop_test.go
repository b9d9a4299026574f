package maildir

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"rookery/internal/archive"
)

// imapMessage is a message as seen over IMAP.
type imapMessage struct {
	uid   uint32
	flags []string
	date  time.Time
	body  string
}

// imapMailbox is a mailbox as seen over IMAP.
type imapMailbox struct {
	uidValidity uint32
	msgs        []imapMessage
}

func sortedFlags(flags []string) []string {
	var out []string
	for _, f := range flags {
		if strings.EqualFold(f, `\Recent`) {
			continue
		}
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}

// fetchAll reads a mailbox over IMAP.
func fetchAll(t *testing.T, c *imapclient.Client, name string) imapMailbox {
	t.Helper()
	sel, err := c.Select(name, nil).Wait()
	if err != nil {
		t.Fatalf("select %s: %v", name, err)
	}
	mb := imapMailbox{uidValidity: sel.UIDValidity}
	if sel.NumMessages == 0 {
		return mb
	}
	section := &imap.FetchItemBodySection{Peek: true}
	var all imap.SeqSet
	all.AddRange(1, 0)
	bufs, err := c.Fetch(all, &imap.FetchOptions{UID: true, Flags: true, InternalDate: true, BodySection: []*imap.FetchItemBodySection{section}}).Collect()
	if err != nil {
		t.Fatalf("fetch %s: %v", name, err)
	}
	for _, b := range bufs {
		var fl []string
		for _, f := range b.Flags {
			fl = append(fl, string(f))
		}
		mb.msgs = append(mb.msgs, imapMessage{uid: uint32(b.UID), flags: sortedFlags(fl), date: b.InternalDate, body: string(b.FindBodySection(section))})
	}
	return mb
}

// subscribed returns the subscribed names over IMAP.
func subscribed(t *testing.T, c *imapclient.Client) []string {
	t.Helper()
	list, err := c.List("", "*", &imap.ListOptions{SelectSubscribed: true}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range list {
		names = append(names, l.Mailbox)
	}
	sort.Strings(names)
	return names
}

// readAll reads a mailbox with the Reader.
func readAll(t *testing.T, r archive.Reader, name string) []imapMessage {
	t.Helper()
	var out []imapMessage
	err := r.Messages(context.Background(), name, func(m archive.Message) error {
		rc, err := m.Open()
		if err != nil {
			return err
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return err
		}
		if int64(len(b)) != m.Size {
			return fmt.Errorf("%s: size %d, read %d", m.Path, m.Size, len(b))
		}
		out = append(out, imapMessage{uid: m.UID, flags: sortedFlags(m.Flags), date: m.InternalDate, body: string(b)})
		return nil
	}, nil)
	if err != nil {
		t.Fatalf("messages of %s: %v", name, err)
	}
	return out
}

func compareMessages(t *testing.T, box string, got, want []imapMessage) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d messages, want %d", box, len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.uid != w.uid || strings.Join(g.flags, " ") != strings.Join(w.flags, " ") || !g.date.Equal(w.date) || g.body != w.body {
			t.Errorf("%s message %d:\n got uid %d flags %v date %v body %q\nwant uid %d flags %v date %v body %q",
				box, i, g.uid, g.flags, g.date, g.body, w.uid, w.flags, w.date, w.body)
		}
	}
}

func msg(subject, body string) string {
	return "From: a@example.org\r\nTo: b@example.org\r\nSubject: " + subject + "\r\n\r\n" + body + "\r\n"
}

// TestReadDovecotMaildir puts mail into a real Dovecot over IMAP (flags,
// keywords, nested and non-ASCII folders, subscriptions, an expunge that
// leaves a UID gap), stops it and reads its Maildir with the Reader.
func TestReadDovecotMaildir(t *testing.T) {
	root := filepath.Join(t.TempDir(), "Maildir")
	d := startDovecot(t, root)
	c := d.client(t)
	boxes := []string{"Archive", "Archive/2024", "Entwürfe", "x&y", "Deep/er/est"}
	for _, b := range boxes {
		if err := c.Create(b, nil).Wait(); err != nil {
			t.Fatalf("create %s: %v", b, err)
		}
	}
	subs := []string{"INBOX", "Archive/2024", "Entwürfe"}
	for _, b := range subs {
		if err := c.Subscribe(b).Wait(); err != nil {
			t.Fatal(err)
		}
	}
	appendMsg := func(box, content string, date time.Time, flags ...imap.Flag) {
		t.Helper()
		cmd := c.Append(box, int64(len(content)), &imap.AppendOptions{Flags: flags, Time: date})
		if _, err := io.WriteString(cmd, content); err != nil {
			t.Fatal(err)
		}
		if err := cmd.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := cmd.Wait(); err != nil {
			t.Fatalf("append to %s: %v", box, err)
		}
	}
	zone := time.FixedZone("", 2*3600)
	base := time.Date(2021, 3, 4, 5, 6, 7, 0, zone)
	appendMsg("INBOX", msg("one", "first"), base, imap.FlagSeen, "$Forwarded", "project")
	appendMsg("INBOX", msg("two", "second"), base.Add(time.Hour))
	appendMsg("INBOX", msg("three", "third\r\nFrom the start"), base.Add(2*time.Hour), imap.FlagAnswered, "project")
	appendMsg("INBOX", msg("four", "fourth"), base.Add(3*time.Hour), imap.FlagDraft)
	appendMsg("Archive/2024", msg("all", "every flag"), time.Date(2020, 1, 1, 10, 0, 0, 0, time.UTC),
		imap.FlagSeen, imap.FlagAnswered, imap.FlagFlagged, imap.FlagDeleted, imap.FlagDraft, "$Junk", "k1")
	appendMsg("Entwürfe", msg("Entwurf", "ä"), base)
	appendMsg("Deep/er/est", msg("deep", "deep"), base)
	// Flags changed after delivery, and an expunge leaving a UID gap.
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Store(imap.SeqSetNum(2), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagFlagged, "later"}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Store(imap.SeqSetNum(3), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Expunge().Close(); err != nil {
		t.Fatal(err)
	}
	want := make(map[string]imapMailbox)
	for _, b := range append([]string{"INBOX"}, boxes[1:]...) {
		want[b] = fetchAll(t, c, b)
	}
	if len(want["INBOX"].msgs) != 3 || want["INBOX"].msgs[2].uid != 4 {
		t.Fatalf("INBOX over IMAP: %+v", want["INBOX"].msgs)
	}
	wantSubs := subscribed(t, c)
	c.Logout().Wait()
	d.stop()

	r, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	mbs, err := r.Mailboxes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var gotSubs []string
	got := make(map[string]archive.Mailbox)
	var order []string
	for _, mb := range mbs {
		got[mb.Name] = mb
		order = append(order, mb.Name)
		if mb.Subscribed {
			gotSubs = append(gotSubs, mb.Name)
		}
	}
	sort.Strings(gotSubs)
	if strings.Join(gotSubs, ",") != strings.Join(wantSubs, ",") {
		t.Errorf("subscribed %v, want %v", gotSubs, wantSubs)
	}
	t.Logf("mailboxes %v", order)
	for name, w := range want {
		mb, ok := got[name]
		if !ok {
			t.Errorf("mailbox %q missing (have %v)", name, order)
			continue
		}
		if mb.UIDValidity != w.uidValidity {
			t.Errorf("%s: UIDVALIDITY %d, want %d", name, mb.UIDValidity, w.uidValidity)
		}
		if n := len(w.msgs); n > 0 && mb.UIDNext <= w.msgs[n-1].uid {
			t.Errorf("%s: UIDNEXT %d not above last UID %d", name, mb.UIDNext, w.msgs[n-1].uid)
		}
		compareMessages(t, name, readAll(t, r, name), w.msgs)
	}
	if !containsName(got["INBOX"].Keywords, "project") || !containsName(got["INBOX"].Keywords, "later") {
		t.Errorf("INBOX keywords %v", got["INBOX"].Keywords)
	}
}

func containsName(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestDovecotServesWrittenTree writes a tree with the Writer and has a
// real Dovecot serve it: same UIDs, UIDVALIDITY, flags, keywords,
// internal dates, content and subscriptions over IMAP.
func TestDovecotServesWrittenTree(t *testing.T) {
	root := filepath.Join(t.TempDir(), "Maildir")
	w, err := Create(root)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	date := func(h int) time.Time { return time.Date(2022, 5, 6, h, 30, 0, 0, time.UTC) }
	type box struct {
		mb   archive.Mailbox
		msgs []imapMessage
	}
	boxes := []box{
		{archive.Mailbox{Name: "INBOX", Subscribed: true, UIDValidity: 12345, UIDNext: 200}, []imapMessage{
			{uid: 5, flags: []string{`\Seen`, "$Forwarded", "project"}, date: date(1), body: msg("a", "one")},
			{uid: 7, flags: nil, date: date(2), body: msg("b", "two\r\nFrom here")},
			{uid: 8, flags: nil, date: date(2), body: "Subject: bare\nX: y\n\nbare LF\n"},
			{uid: 100, flags: []string{`\Answered`, `\Deleted`, `\Draft`, `\Flagged`, `\Seen`, "k2", "project"}, date: date(3), body: msg("c", "three")},
		}},
		{archive.Mailbox{Name: "Archive", UIDValidity: 1}, nil},
		{archive.Mailbox{Name: "Archive/2024", Subscribed: true, UIDValidity: 99}, []imapMessage{
			{uid: 1, flags: []string{`\Flagged`}, date: date(4), body: msg("d", "four")},
		}},
		{archive.Mailbox{Name: "Entwürfe", Subscribed: true, UIDValidity: 4242}, []imapMessage{
			{uid: 3, flags: []string{"$Junk"}, date: date(5), body: msg("e", "fünf")},
		}},
	}
	for _, b := range boxes {
		if err := w.BeginMailbox(ctx, b.mb); err != nil {
			t.Fatal(err)
		}
		for _, m := range b.msgs {
			err := w.Add(ctx, archive.Message{UID: m.uid, Flags: m.flags, InternalDate: m.date, Size: int64(len(m.body))}, strings.NewReader(m.body))
			if err != nil {
				t.Fatal(err)
			}
		}
		if err := w.EndMailbox(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	d := startDovecot(t, root)
	c := d.client(t)
	for _, b := range boxes {
		got := fetchAll(t, c, b.mb.Name)
		if got.uidValidity != b.mb.UIDValidity {
			t.Errorf("%s: UIDVALIDITY %d over IMAP, want %d", b.mb.Name, got.uidValidity, b.mb.UIDValidity)
		}
		want := make([]imapMessage, len(b.msgs))
		for i, m := range b.msgs {
			m.flags = sortedFlags(m.flags)
			// Dovecot serves bare LF as CRLF.
			m.body = strings.ReplaceAll(strings.ReplaceAll(m.body, "\r\n", "\n"), "\n", "\r\n")
			want[i] = m
		}
		compareMessages(t, b.mb.Name, got.msgs, want)
	}
	st, err := c.Status("INBOX", &imap.StatusOptions{UIDNext: true}).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if st.UIDNext != 200 {
		t.Errorf("INBOX UIDNEXT %d over IMAP, want 200", st.UIDNext)
	}
	if got, want := strings.Join(subscribed(t, c), ","), "Archive/2024,Entwürfe,INBOX"; got != want {
		t.Errorf("subscribed over IMAP %q, want %q", got, want)
	}
	if t.Failed() {
		t.Log(d.logs())
	}
}
