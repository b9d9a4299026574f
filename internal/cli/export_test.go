package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"rookery/internal/archive/emlexport"
	"rookery/internal/imapnum"
	"rookery/internal/ingest"
	"rookery/internal/pgtest"
	"rookery/internal/store"
)

// installation is a store under test and the flags that name it to
// the CLI.
type installation struct {
	st   store.Store
	args []string // --data DIR or --config FILE
}

// newSQLite returns a new embedded installation.
func newSQLite(t *testing.T) installation {
	dir := filepath.Join(t.TempDir(), "data")
	return installation{st: openData(t, dir), args: []string{"--data", dir}}
}

// newPostgres returns a new PostgreSQL installation.
func newPostgres(t *testing.T) installation {
	dsn := pgtest.NewDatabase(t)
	cfg := filepath.Join(t.TempDir(), "rookery.toml")
	body := fmt.Sprintf("data_dir = %q\n[store]\nbackend = \"postgres\"\ndsn = %q\n", filepath.Join(t.TempDir(), "absent"), dsn)
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return installation{st: openPG(t, dsn), args: []string{"--config", cfg}}
}

// cli runs rookery with args and the installation's flags.
func (in installation) cli(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	return run(t, "", append(args, in.args...)...)
}

func (in installation) account(t *testing.T, name string) store.Account {
	t.Helper()
	a, err := in.st.CreateAccount(context.Background(), name, "hash")
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// bigSize is the size of the large message of the fixture.
const bigSize = 30 << 20

// bigMessage is a message of about bigSize bytes.
func bigMessage() []byte {
	var b bytes.Buffer
	b.WriteString("From: big@example.org\r\nSubject: thirty megabytes\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	line := strings.Repeat("QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo", 2) + "\r\n"
	for i := 0; b.Len() < bigSize; i++ {
		b.WriteString(line[:len(line)-6])
		fmt.Fprintf(&b, "%04d\r\n", i%10000)
	}
	return b.Bytes()
}

// fillFixture gives acct nested mailboxes, names unsafe as file names,
// special-use mailboxes with messages, subscriptions, every system
// flag, keywords, internal dates in several zones, multipart and 8-bit
// messages and, when big, a 30 MB message.
func fillFixture(t *testing.T, st store.Store, acct store.Account, big bool) {
	t.Helper()
	ctx := context.Background()
	mk := func(name, su string) store.Mailbox {
		m, err := st.CreateMailbox(ctx, acct.ID, name, su)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	get := func(name string) store.Mailbox {
		m, err := st.Mailbox(ctx, acct.ID, name)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	n := 0
	add := func(m store.Mailbox, content []byte, flags store.Flags) {
		t.Helper()
		ref, err := ingest.Write(ctx, st, bytes.NewReader(content), -1, nil)
		if err != nil {
			t.Fatal(err)
		}
		zone := time.FixedZone("", (n%13-6)*3600+(n%2)*1800)
		if _, err := st.Append(ctx, m.ID, []store.NewMessage{{Blob: ref, Flags: flags,
			InternalDate: time.Date(2023, time.Month(n%12+1), n%28+1, 9, n%60, 5, 0, zone)}}); err != nil {
			t.Fatal(err)
		}
		n++
	}
	plain := func(i int) []byte {
		return []byte(fmt.Sprintf("From: s%d@example.org\r\nTo: alice@example.org\r\nSubject: message %d\r\nDate: Tue, 2 Jan 2024 10:00:00 +0100\r\n\r\nbody %d\r\n", i, i, i))
	}
	multipart := []byte("From: m@example.org\r\nSubject: multipart\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n" +
		"--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nsee attachment\r\n--b1\r\nContent-Type: application/pdf; name=\"a.pdf\"\r\n" +
		"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b1--\r\n")
	eightBit := []byte("From: =?utf-8?q?J=C3=BCrgen?= <j@example.org>\r\nSubject: Grüße\r\nContent-Type: text/plain; charset=iso-8859-1\r\n" +
		"Content-Transfer-Encoding: 8bit\r\n\r\nGr\xfc\xdfe aus K\xf6ln, and UTF-8 too: Grüße\r\n")
	inbox := get("INBOX")
	all := []store.SysFlags{0, store.FlagSeen, store.FlagAnswered, store.FlagFlagged, store.FlagDeleted, store.FlagDraft,
		store.FlagSeen | store.FlagAnswered | store.FlagFlagged | store.FlagDeleted | store.FlagDraft}
	for i, f := range all {
		add(inbox, plain(i), store.Flags{Sys: f})
	}
	add(inbox, multipart, store.Flags{Keywords: []string{"$Forwarded", "Project-X"}})
	add(inbox, eightBit, store.Flags{Sys: store.FlagSeen, Keywords: []string{"$label1"}})
	add(get("Sent"), plain(100), store.Flags{Sys: store.FlagSeen})
	add(get("Trash"), plain(101), store.Flags{Sys: store.FlagSeen | store.FlagDeleted})
	add(get("Drafts"), plain(102), store.Flags{Sys: store.FlagDraft})
	work := mk("Work", "")
	add(work, plain(200), store.Flags{Keywords: []string{"Urgent"}})
	deep := mk("Work/Projects/2024", "")
	add(deep, multipart, store.Flags{})
	for _, name := range []string{`odd: a*b?<c>|"d"\e`, ".hidden", "trailing.", "x.eml", "manifest.json", "100%", "Ünïcødé/子"} {
		m := mk(name, "")
		add(m, plain(300+n), store.Flags{Sys: store.FlagFlagged})
	}
	// A keyword no message carries any more stays in the set.
	add(work, plain(201), store.Flags{Keywords: []string{"Gone"}})
	if _, err := st.StoreFlags(ctx, work.ID, imapnum.Set{{Start: 2, Stop: 2}}, store.FlagsRemove, store.Flags{Keywords: []string{"Gone"}}, 0); err != nil {
		t.Fatal(err)
	}
	if big {
		add(work, bigMessage(), store.Flags{Sys: store.FlagSeen})
	}
	for name, sub := range map[string]bool{"Junk": false, "Work/Projects/2024": true, "Ünïcødé/子": true} {
		if err := st.SetSubscribed(ctx, acct.ID, name, sub); err != nil {
			t.Fatal(err)
		}
	}
}

// mailboxView is what a comparison reads of a mailbox.
type mailboxView struct {
	SpecialUse           string
	UIDValidity, UIDNext uint32
	Keywords             []string
	Messages             []string
}

// accountView reads what an export and import must keep of acct: per
// selectable mailbox its special-use, UIDVALIDITY, UIDNEXT, keywords
// and messages (UID, flags, internal date with its zone, size and the
// SHA-256 of the content read back), and the subscriptions.
func accountView(t *testing.T, st store.Store, acct store.Account, withUIDs bool) (map[string]mailboxView, []string) {
	t.Helper()
	return accountViewOf(t, st, acct, keeps{uids: withUIDs, zones: true, keywordSets: true})
}

// keeps is what an export format keeps of an account, beyond contents,
// flags, keywords, internal dates to the second, the mailbox tree and
// subscriptions (which every format keeps).
type keeps struct {
	uids        bool // UIDVALIDITY, UIDs and UIDNEXT
	zones       bool // the zone of each internal date
	keywordSets bool // a mailbox's keywords that no message carries
}

// accountViewOf is accountView of what a format that keeps k keeps.
func accountViewOf(t *testing.T, st store.Store, acct store.Account, k keeps) (map[string]mailboxView, []string) {
	t.Helper()
	withUIDs := k.uids
	ctx := context.Background()
	mbs, err := st.Mailboxes(ctx, acct.ID)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]mailboxView{}
	for _, m := range mbs {
		if m.NoSelect {
			continue
		}
		snap, err := st.Snapshot(ctx, m.ID)
		if err != nil {
			t.Fatal(err)
		}
		v := mailboxView{SpecialUse: m.SpecialUse}
		if k.keywordSets {
			v.Keywords = snap.Keywords
		}
		if withUIDs {
			v.UIDValidity, v.UIDNext = m.UIDValidity, m.UIDNext
		}
		var msgs []store.Message
		if err := st.Fetch(ctx, m.ID, imapnum.Set{{Start: 1, Stop: math.MaxUint32}}, func(msg store.Message) error {
			msgs = append(msgs, msg)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		for _, msg := range msgs {
			b, err := st.OpenBlob(ctx, msg.Blob)
			if err != nil {
				t.Fatal(err)
			}
			h := sha256.New()
			if _, err := io.Copy(h, io.NewSectionReader(b, 0, b.Size())); err != nil {
				t.Fatal(err)
			}
			b.Close()
			sum := hex.EncodeToString(h.Sum(nil))
			if sum != string(msg.Blob) {
				t.Errorf("%s UID %d: content has SHA-256 %s, BlobID %s", m.Name, msg.UID, sum, msg.Blob)
			}
			date := msg.InternalDate
			if !k.zones {
				date = date.UTC()
			}
			s := fmt.Sprintf("flags %v date %s size %d sha256 %s", archiveFlags(msg.Flags), date.Format(time.RFC3339), msg.Size, sum)
			if withUIDs {
				s = fmt.Sprintf("UID %d %s", msg.UID, s)
			}
			v.Messages = append(v.Messages, s)
		}
		if !withUIDs {
			slices.Sort(v.Messages)
		}
		out[m.Name] = v
	}
	subs, err := st.Subscriptions(ctx, acct.ID)
	if err != nil {
		t.Fatal(err)
	}
	return out, subs
}

// sameAccounts fails unless a (in sa) and b (in sb) look the same.
func sameAccounts(t *testing.T, sa store.Store, a store.Account, sb store.Store, b store.Account, withUIDs bool) {
	t.Helper()
	va, subsA := accountView(t, sa, a, withUIDs)
	vb, subsB := accountView(t, sb, b, withUIDs)
	if !slices.Equal(subsA, subsB) {
		t.Errorf("subscriptions: %q, imported %q", subsA, subsB)
	}
	for name, x := range va {
		y, ok := vb[name]
		if !ok {
			t.Errorf("mailbox %q missing after import", name)
			continue
		}
		xs, ys := fmt.Sprintf("%+v", x), fmt.Sprintf("%+v", y)
		if xs != ys {
			t.Errorf("mailbox %q differs:\n source %s\n import %s", name, xs, ys)
		}
	}
	for name := range vb {
		if _, ok := va[name]; !ok {
			t.Errorf("mailbox %q after import, not in the source", name)
		}
	}
}

// importCounts parses the total line of an import's summary.
func importCounts(t *testing.T, out string) (found, imported, present, failed int) {
	t.Helper()
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "total ") {
			if _, err := fmt.Sscan(strings.TrimPrefix(l, "total"), &found, &imported, &present, &failed); err != nil {
				t.Fatalf("total line %q: %v", l, err)
			}
			return
		}
	}
	t.Fatalf("no total line in:\n%s", out)
	return
}

// testRoundTrip: an account exported with --format eml and imported
// into a fresh account of the same installation, into a fresh
// installation, and into an account that has messages already, is the
// same (UIDs too where its mailboxes were new); imports run again add
// nothing.
func testRoundTrip(t *testing.T, newInst func(*testing.T) installation, appendPath bool) {
	src := newInst(t)
	alice := src.account(t, "alice")
	fillFixture(t, src.st, alice, true)
	dir := filepath.Join(t.TempDir(), "export")
	code, out, errOut := src.cli(t, "export", "alice", dir)
	if code != ExitOK {
		t.Fatalf("export: exit %d\n%s%s", code, out, errOut)
	}
	m, err := emlexport.ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, mb := range m.Mailboxes {
		total += len(mb.Messages)
	}

	// A fresh account, then a fresh installation: all UIDs kept.
	fresh := newInst(t)
	for _, tc := range []struct {
		name string
		in   installation
	}{{"bob", src}, {"alice", fresh}} {
		acct := tc.in.account(t, tc.name)
		code, out, errOut := tc.in.cli(t, "import", tc.name, dir)
		if code != ExitOK {
			t.Fatalf("import into %s: exit %d\n%s%s", tc.name, code, out, errOut)
		}
		if f, i, p, x := importCounts(t, out); f != total || i != total || p != 0 || x != 0 {
			t.Errorf("import into %s: found %d, imported %d, present %d, failed %d; want %d imported\n%s", tc.name, f, i, p, x, total, out)
		}
		sameAccounts(t, src.st, alice, tc.in.st, acct, true)
		code, out, errOut = tc.in.cli(t, "import", tc.name, dir)
		if f, i, p, x := importCounts(t, out); code != ExitOK || f != total || i != 0 || p != total || x != 0 {
			t.Errorf("import again into %s: exit %d, found %d, imported %d, present %d, failed %d\n%s%s", tc.name, code, f, i, p, x, out, errOut)
		}
		sameAccounts(t, src.st, alice, tc.in.st, acct, true)
	}

	if !appendPath {
		return
	}
	// An account whose INBOX holds a message: new UIDs there.
	ctx := context.Background()
	carol := src.account(t, "carol")
	inbox, err := src.st.Mailbox(ctx, carol.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	ref, err := ingest.Write(ctx, src.st, strings.NewReader("Subject: own\r\n\r\nmine\r\n"), -1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.st.Append(ctx, inbox.ID, []store.NewMessage{{Blob: ref}}); err != nil {
		t.Fatal(err)
	}
	for run := 0; run < 2; run++ {
		code, out, errOut := src.cli(t, "import", "carol", dir)
		want := total
		if run == 1 {
			want = 0
		}
		if f, i, _, x := importCounts(t, out); code != ExitOK || f != total || i != want || x != 0 {
			t.Fatalf("import %d into carol: exit %d, found %d, imported %d, failed %d\n%s%s", run, code, f, i, x, out, errOut)
		}
	}
	va, _ := accountView(t, src.st, alice, false)
	vc, _ := accountView(t, src.st, carol, false)
	own := 0
	for _, s := range vc["INBOX"].Messages {
		if !slices.Contains(va["INBOX"].Messages, s) {
			own++
		}
	}
	if own != 1 || len(vc["INBOX"].Messages) != len(va["INBOX"].Messages)+1 {
		t.Errorf("carol's INBOX: %d messages, %d not alice's; want alice's and 1", len(vc["INBOX"].Messages), own)
	}
}

func TestExportImportRoundTrip(t *testing.T) { testRoundTrip(t, newSQLite, true) }

// TestExportImportRoundTripPostgres leaves out the append path (into a
// mailbox with messages), which the embedded run covers: the store
// calls are the same.
func TestExportImportRoundTripPostgres(t *testing.T) { testRoundTrip(t, newPostgres, false) }
