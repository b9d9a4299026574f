package cli

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"rookery/internal/store"
)

// formatKeeps is what each --format other than eml keeps (eml keeps
// everything: export_test.go).
var formatKeeps = map[string]keeps{
	// Maildir: UIDs in dovecot-uidlist, keyword sets in dovecot-keywords;
	// internal dates are file mtimes (UTC, whole seconds).
	"maildir": {uids: true, keywordSets: true},
	// mbox: internal dates with their zones in the X-Rookery-Mbox marker;
	// no UIDs; keywords only on messages.
	"mbox": {zones: true},
}

// sameAccountsAs fails unless b (in sb) holds what a format that keeps
// k keeps of a (in sa), and b's subscriptions are wantSubs.
func sameAccountsAs(t *testing.T, sa store.Store, a store.Account, sb store.Store, b store.Account, k keeps, wantSubs []string) {
	t.Helper()
	va, _ := accountViewOf(t, sa, a, k)
	vb, subsB := accountViewOf(t, sb, b, k)
	if !slices.Equal(wantSubs, subsB) {
		t.Errorf("subscriptions: imported %q, want %q", subsB, wantSubs)
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

// subscriptions returns acct's subscriptions.
func subscriptions(t *testing.T, st store.Store, acct store.Account) []string {
	t.Helper()
	subs, err := st.Subscriptions(context.Background(), acct.ID)
	if err != nil {
		t.Fatal(err)
	}
	return subs
}

// testFormatRoundTrip: an account exported with --format format and
// imported into a fresh account of the same installation and of a fresh
// installation holds the same messages (byte for byte), flags,
// keywords, internal dates, mailbox tree, special-use and subscriptions,
// and what else the format keeps (formatKeeps); imports run again add
// nothing.
func testFormatRoundTrip(t *testing.T, newInst func(*testing.T) installation, format string, big bool) {
	k := formatKeeps[format]
	src := newInst(t)
	alice := src.account(t, "alice")
	fillFixture(t, src.st, alice, big)
	srcSubs := subscriptions(t, src.st, alice)
	dir := filepath.Join(t.TempDir(), "export")
	code, out, errOut := src.cli(t, "export", "alice", dir, "--format", format)
	if code != ExitOK {
		t.Fatalf("export: exit %d\n%s%s", code, out, errOut)
	}
	total, _, _, _ := exportCounts(t, out)

	fresh := newInst(t)
	for _, tc := range []struct {
		name string
		in   installation
	}{{"bob", src}, {"alice", fresh}} {
		acct := tc.in.account(t, tc.name)
		wantSubs := srcSubs
		if !k.uids {
			// Mailboxes the account has already (INBOX, Sent...) are
			// subscribed to when the archive's are, never unsubscribed.
			wantSubs = append(slices.Clone(srcSubs), subscriptions(t, tc.in.st, acct)...)
			slices.Sort(wantSubs)
			wantSubs = slices.Compact(wantSubs)
		}
		code, out, errOut := tc.in.cli(t, "import", tc.name, dir)
		if code != ExitOK {
			t.Fatalf("import into %s: exit %d\n%s%s", tc.name, code, out, errOut)
		}
		if f, i, p, x := importCounts(t, out); f != total || i != total || p != 0 || x != 0 {
			t.Errorf("import into %s: found %d, imported %d, present %d, failed %d; want %d imported\n%s", tc.name, f, i, p, x, total, out)
		}
		sameAccountsAs(t, src.st, alice, tc.in.st, acct, k, wantSubs)
		code, out, errOut = tc.in.cli(t, "import", tc.name, dir)
		if f, i, p, x := importCounts(t, out); code != ExitOK || f != total || i != 0 || p != total || x != 0 {
			t.Errorf("import again into %s: exit %d, found %d, imported %d, present %d, failed %d\n%s%s", tc.name, code, f, i, p, x, out, errOut)
		}
		sameAccountsAs(t, src.st, alice, tc.in.st, acct, k, wantSubs)
		if big {
			break // one import of the large message is enough
		}
	}
}

func TestExportImportMaildir(t *testing.T) { testFormatRoundTrip(t, newSQLite, "maildir", true) }
func TestExportImportMbox(t *testing.T)    { testFormatRoundTrip(t, newSQLite, "mbox", true) }
func TestExportImportMaildirPostgres(t *testing.T) {
	testFormatRoundTrip(t, newPostgres, "maildir", false)
}
