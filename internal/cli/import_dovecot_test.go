package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"rookery/internal/dovecottest"
	"rookery/internal/imapnum"
	"rookery/internal/store"
)

// dovecotMailbox is a mailbox as a Dovecot serves it.
type dovecotMailbox struct {
	uidValidity, uidNext uint32
	keywords             []string // the keywords of FLAGS
	messages             []string // per message: UID, flags, date, SHA-256 of BODY[]
}

// dovecotFlags returns flags without \Recent, sorted.
func dovecotFlags(flags []imap.Flag) []string {
	var out []string
	for _, f := range flags {
		if !strings.EqualFold(string(f), `\Recent`) && f != imap.FlagWildcard {
			out = append(out, string(f))
		}
	}
	slices.Sort(out)
	return out
}

// messageLine is how a message is compared: its UID, sorted flags,
// internal date (as an instant, to the second) and the SHA-256 of its
// content.
func messageLine(uid uint32, flags []string, date time.Time, sum string) string {
	return fmt.Sprintf("UID %d flags %v date %s sha256 %s", uid, flags, date.UTC().Format(time.RFC3339), sum)
}

// readDovecot reads a mailbox over IMAP.
func readDovecot(t *testing.T, c *imapclient.Client, name string) dovecotMailbox {
	t.Helper()
	sel, err := c.Select(name, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		t.Fatalf("SELECT %s: %v", name, err)
	}
	mb := dovecotMailbox{uidValidity: sel.UIDValidity, uidNext: uint32(sel.UIDNext)}
	for _, f := range dovecotFlags(sel.Flags) {
		if !strings.HasPrefix(f, `\`) {
			mb.keywords = append(mb.keywords, f)
		}
	}
	if sel.NumMessages == 0 {
		return mb
	}
	section := &imap.FetchItemBodySection{Peek: true}
	bufs, err := c.Fetch(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{UID: true, Flags: true, InternalDate: true,
		BodySection: []*imap.FetchItemBodySection{section}}).Collect()
	if err != nil {
		t.Fatalf("FETCH %s: %v", name, err)
	}
	for _, b := range bufs {
		sum := sha256.Sum256(b.FindBodySection(section))
		mb.messages = append(mb.messages, messageLine(uint32(b.UID), dovecotFlags(b.Flags), b.InternalDate, hex.EncodeToString(sum[:])))
	}
	return mb
}

// rookeryMailbox reads a mailbox of the store as readDovecot does.
func rookeryMailbox(t *testing.T, st store.Store, acct store.Account, name string) dovecotMailbox {
	t.Helper()
	ctx := context.Background()
	m, err := st.Mailbox(ctx, acct.ID, name)
	if err != nil {
		t.Fatalf("mailbox %s: %v", name, err)
	}
	snap, err := st.Snapshot(ctx, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	mb := dovecotMailbox{uidValidity: m.UIDValidity, uidNext: m.UIDNext, keywords: slices.Sorted(slices.Values(snap.Keywords))}
	if err := st.Fetch(ctx, m.ID, imapnum.Set{{Start: 1, Stop: math.MaxUint32}}, func(msg store.Message) error {
		flags := archiveFlags(msg.Flags)
		slices.Sort(flags)
		mb.messages = append(mb.messages, messageLine(msg.UID, flags, msg.InternalDate, string(msg.Blob)))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return mb
}

// TestImportDovecotMaildir fills a real Dovecot over IMAP (nested and
// non-ASCII folders, a "Sent Items" folder, every system flag,
// keywords, several zones, 8-bit and multipart messages, flags changed
// and messages expunged after delivery, subscriptions), stops it and
// imports its Maildir with rookery import: each mailbox keeps its
// UIDVALIDITY, UIDs, UIDNEXT and keyword set, each message its flags,
// keywords, internal date and the content Dovecot served as BODY[];
// "Sent Items" goes into the account's Sent; a second run imports
// nothing.
func TestImportDovecotMaildir(t *testing.T) {
	d := dovecottest.Start(t, dovecottest.Options{Users: []string{"carol"}, SpecialUse: map[string]string{"Sent Items": `\Sent`}})
	// Dovecot's names ("." separates levels) and Rookery's.
	boxes := []struct{ dovecot, rookery string }{
		{"INBOX", "INBOX"}, {"Work", "Work"}, {"Work.Projects.2024", "Work/Projects/2024"},
		{"Sent Items", "Sent"}, {"Entwürfe", "Entwürfe"},
	}
	counts := []int{200, 40, 30, 20, 10}
	sysFlags := []imap.Flag{imap.FlagSeen, imap.FlagAnswered, imap.FlagFlagged, imap.FlagDeleted, imap.FlagDraft}
	var msgs []dovecottest.Message
	n := 0
	for bi, b := range boxes {
		for i := 0; i < counts[bi]; i++ {
			var flags []imap.Flag
			for j, f := range sysFlags {
				if (n>>j)&1 == 1 {
					flags = append(flags, f)
				}
			}
			for j, k := range []imap.Flag{"$Forwarded", "project", "$label1"} {
				if n%(j+3) == 0 {
					flags = append(flags, k)
				}
			}
			zone := time.FixedZone("", (n%13-6)*3600+(n%2)*1800)
			body := fmt.Sprintf("From: s%d@example.org\r\nTo: carol@example.org\r\nSubject: message %d\r\n\r\nbody %d\r\nFrom the start of a line\r\n", n, n, n)
			switch n % 10 {
			case 3:
				body = "From: =?utf-8?q?J=C3=BCrgen?= <j@example.org>\r\nSubject: Grüße\r\nContent-Type: text/plain; charset=iso-8859-1\r\n" +
					"Content-Transfer-Encoding: 8bit\r\n\r\nGr\xfc\xdfe aus K\xf6ln " + fmt.Sprint(n) + "\r\n"
			case 7:
				body = "From: m@example.org\r\nSubject: multipart " + fmt.Sprint(n) + "\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n" +
					"--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nsee attachment\r\n--b1\r\nContent-Type: application/pdf; name=\"a.pdf\"\r\n" +
					"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b1--\r\n"
			}
			msgs = append(msgs, dovecottest.Message{Mailbox: b.dovecot, Flags: flags, Body: []byte(body),
				Date: time.Date(2022, time.Month(n%12+1), n%28+1, n%24, n%60, n%60, 0, zone)})
			n++
		}
	}
	d.Append(t, "carol", msgs)

	// Changes after delivery: flags, an expunge in the middle of INBOX
	// and at the end of Work (UIDNEXT must stay above it), an
	// unsubscription.
	c := d.Dial(t, "carol")
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Store(imap.SeqSet{{Start: 1, Stop: 10}}, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagFlagged, "later"}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Store(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.StoreFlags{Op: imap.StoreFlagsDel, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Store(imap.SeqSetNum(20, 21), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Expunge().Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Select("Work", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Store(imap.SeqSetNum(uint32(counts[1])), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Expunge().Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Unsubscribe("Entwürfe").Wait(); err != nil {
		t.Fatal(err)
	}
	want := map[string]dovecotMailbox{}
	total := 0
	for _, b := range boxes {
		want[b.rookery] = readDovecot(t, c, b.dovecot)
		total += len(want[b.rookery].messages)
	}
	if got := len(want["INBOX"].messages); got != counts[0]-2 {
		t.Fatalf("INBOX over IMAP: %d messages, want %d", got, counts[0]-2)
	}
	list, err := c.List("", "*", &imap.ListOptions{SelectSubscribed: true}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	dovecotSubs := map[string]bool{}
	for _, l := range list {
		dovecotSubs[l.Mailbox] = true
	}
	if err := c.Logout().Wait(); err != nil {
		t.Logf("LOGOUT: %v", err)
	}
	c.Close()
	d.Stop()

	// Dovecot keeps its files with bare LF line ends and serves CRLF:
	// the import must store what it serves.
	src := d.MailDir("carol")
	files, err := filepath.Glob(filepath.Join(src, "cur", "*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no files in %s/cur: %v", src, err)
	}
	if b, err := os.ReadFile(files[0]); err != nil || bytes.Contains(b, []byte("\r\n")) || !bytes.Contains(b, []byte("\n")) {
		t.Fatalf("%s: want a file with bare LF line ends (%v):\n%q", files[0], err, b)
	}

	in := newSQLite(t)
	carol := in.account(t, "carol")
	// The account's own mailboxes the import does not touch keep their
	// subscriptions; the others get Dovecot's.
	wantSubs := map[string]bool{}
	for _, s := range subscriptions(t, in.st, carol) {
		wantSubs[s] = true
	}
	for _, b := range boxes {
		delete(wantSubs, b.rookery)
		if dovecotSubs[b.dovecot] {
			wantSubs[b.rookery] = true
		}
	}
	code, out, errOut := in.cli(t, "import", "carol", src)
	if f, i, p, x := importCounts(t, out); code != ExitOK || f != total || i != total || p != 0 || x != 0 {
		t.Fatalf("import: exit %d, found %d, imported %d, present %d, failed %d; want %d imported\n%s%s", code, f, i, p, x, total, out, errOut)
	}
	if strings.Count(out, "(UIDs kept)") != len(boxes) {
		t.Errorf("want every mailbox imported with its UIDs kept:\n%s", out)
	}
	check := func() {
		t.Helper()
		for _, b := range boxes {
			w, g := want[b.rookery], rookeryMailbox(t, in.st, carol, b.rookery)
			if w.uidValidity != g.uidValidity || w.uidNext != g.uidNext {
				t.Errorf("%s: UIDVALIDITY %d UIDNEXT %d, Dovecot's %d %d", b.rookery, g.uidValidity, g.uidNext, w.uidValidity, w.uidNext)
			}
			if !slices.Equal(w.keywords, g.keywords) {
				t.Errorf("%s: keywords %v, Dovecot's %v", b.rookery, g.keywords, w.keywords)
			}
			if len(w.messages) != len(g.messages) {
				t.Errorf("%s: %d messages, Dovecot has %d", b.rookery, len(g.messages), len(w.messages))
				continue
			}
			for i := range w.messages {
				if w.messages[i] != g.messages[i] {
					t.Errorf("%s message %d:\n imported %s\n Dovecot  %s", b.rookery, i, g.messages[i], w.messages[i])
				}
			}
		}
		var subs []string
		for s := range wantSubs {
			subs = append(subs, s)
		}
		slices.Sort(subs)
		if got := subscriptions(t, in.st, carol); !slices.Equal(got, subs) {
			t.Errorf("subscriptions %q, want %q", got, subs)
		}
		sent, err := in.st.Mailbox(context.Background(), carol.ID, "Sent")
		if err != nil || sent.SpecialUse != `\Sent` {
			t.Errorf("Sent: %+v, %v; want the \\Sent mailbox", sent, err)
		}
		if _, err := in.st.Mailbox(context.Background(), carol.ID, "Sent Items"); err == nil {
			t.Errorf("a mailbox Sent Items was made beside Sent")
		}
	}
	check()
	code, out, errOut = in.cli(t, "import", "carol", src)
	if f, i, p, x := importCounts(t, out); code != ExitOK || f != total || i != 0 || p != total || x != 0 {
		t.Errorf("import again: exit %d, found %d, imported %d, present %d, failed %d\n%s%s", code, f, i, p, x, out, errOut)
	}
	check()
}
