package cli

import (
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

	"rookery/internal/imapnum"
	"rookery/internal/store"
)

// writeFiles writes files (path relative to dir → content) under dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for rel, body := range files {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// lf joins lines with LF line ends; crlf with CRLF.
func lf(lines ...string) string   { return strings.Join(lines, "\n") + "\n" }
func crlf(lines ...string) string { return strings.Join(lines, "\r\n") + "\r\n" }

// stored is a message as a comparison sees it: sorted flags, internal
// date with its zone, and the SHA-256 of its content.
func stored(flags []string, date time.Time, content string) string {
	flags = slices.Clone(flags)
	slices.Sort(flags)
	sum := sha256.Sum256([]byte(content))
	return fmt.Sprintf("flags %v date %s sha256 %s", flags, date.Format(time.RFC3339), hex.EncodeToString(sum[:]))
}

// storedMessages reads the messages of acct's mailbox name, in UID
// order, as stored returns them.
func storedMessages(t *testing.T, st store.Store, acct store.Account, name string) []string {
	t.Helper()
	ctx := context.Background()
	m, err := st.Mailbox(ctx, acct.ID, name)
	if err != nil {
		t.Fatalf("mailbox %s: %v", name, err)
	}
	var out []string
	if err := st.Fetch(ctx, m.ID, imapnum.Set{{Start: 1, Stop: math.MaxUint32}}, func(msg store.Message) error {
		flags := archiveFlags(msg.Flags)
		slices.Sort(flags)
		out = append(out, fmt.Sprintf("flags %v date %s sha256 %s", flags, msg.InternalDate.Format(time.RFC3339), msg.Blob))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// checkMailboxes fails unless each mailbox of want holds exactly its
// messages.
func checkMailboxes(t *testing.T, st store.Store, acct store.Account, want map[string][]string) {
	t.Helper()
	for name, w := range want {
		if g := storedMessages(t, st, acct, name); !slices.Equal(g, w) {
			t.Errorf("%s:\n got  %q\n want %q", name, g, w)
		}
	}
}

// TestImportForeignMbox imports mbox files as other tools write them
// (Thunderbird's layout: files without extension, "X.sbd" directories;
// LF line ends; Status, X-Status and X-Keywords headers; From lines with
// and without a zone; a "From " line inside a body that is not a
// separator), read as mboxrd (default) and with --mboxo: flags from the
// headers, internal dates from the From lines, contents unquoted with
// CRLF line ends, "Sent Messages" into the account's Sent; a second run
// imports nothing. A single mbox file is imported as one mailbox.
func TestImportForeignMbox(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "Mail")
	one := []string{
		"Return-Path: <alice@example.org>",
		"Status: RO",
		"X-Status: AF",
		"X-Keywords: $Forwarded, project",
		"From: alice@example.org",
		"Subject: one",
		"Date: Mon, 2 Jan 2006 16:04:05 +0100",
		"",
		"body",
	}
	two := []string{"Status: O", "X-Status: TD", "Subject: two", "", "second"}
	three := []string{"Subject: three", "", "I wrote", "From what I heard, this is no separator", ""}
	sent := []string{"Status: RO", "Subject: sent", "", "sent"}
	golang := []string{"X-Keywords: golang", "Subject: list", "", "list mail"}
	writeFiles(t, dir, map[string]string{
		"INBOX": lf(slices.Concat(
			[]string{"From alice@example.org Mon Jan  2 15:04:05 2006"}, one, []string{">From here", ">>From there", ""},
			[]string{"From bob@example.org Tue Feb  3 04:05:06 2009 +0200"}, two, []string{""},
			[]string{"From MAILER-DAEMON Sat Mar  4 05:06:07 2023"}, three)...),
		"Sent Messages":    lf(append([]string{"From me@example.org Sun Apr  2 10:00:00 2023"}, sent...)...),
		"Lists":            "",
		"Lists.sbd/golang": lf(append([]string{"From list@example.org Mon Apr  3 11:00:00 2023"}, golang...)...),
	})
	utc := func(y int, mo time.Month, d, h, mi, s int) time.Time {
		return time.Date(y, mo, d, h, mi, s, 0, time.UTC)
	}
	date2 := time.Date(2009, 2, 3, 4, 5, 6, 0, time.FixedZone("", 2*3600))
	want := func(quoted string) map[string][]string {
		return map[string][]string{
			"INBOX": {
				stored([]string{`\Seen`, `\Answered`, `\Flagged`, "$Forwarded", "project"}, utc(2006, 1, 2, 15, 4, 5),
					crlf(append(one, "From here", quoted)...)),
				stored([]string{`\Draft`, `\Deleted`}, date2, crlf(two...)),
				// The blank line that ends the file separates.
				stored(nil, utc(2023, 3, 4, 5, 6, 7), crlf(three[:len(three)-1]...)),
			},
			"Sent":         {stored([]string{`\Seen`}, utc(2023, 4, 2, 10, 0, 0), crlf(sent...))},
			"Lists/golang": {stored([]string{"golang"}, utc(2023, 4, 3, 11, 0, 0), crlf(golang...))},
		}
	}
	in := newSQLite(t)
	for _, tc := range []struct {
		user, quoted string
		args         []string
	}{{"rd", ">From there", nil}, {"o", ">>From there", []string{"--mboxo"}}} {
		acct := in.account(t, tc.user)
		for run := 0; run < 2; run++ {
			code, out, errOut := in.cli(t, append([]string{"import", tc.user, dir}, tc.args...)...)
			f, i, p, x := importCounts(t, out)
			if code != ExitOK || f != 5 || x != 0 || (run == 0 && i != 5) || (run == 1 && (i != 0 || p != 5)) {
				t.Fatalf("import %d into %s: exit %d, found %d, imported %d, present %d, failed %d\n%s%s", run, tc.user, code, f, i, p, x, out, errOut)
			}
		}
		checkMailboxes(t, in.st, acct, want(tc.quoted))
		if _, err := in.st.Mailbox(context.Background(), acct.ID, "Sent Messages"); err == nil {
			t.Errorf("%s: a mailbox Sent Messages was made beside Sent", tc.user)
		}
	}

	// One file: one mailbox, named after it.
	acct := in.account(t, "single")
	code, out, errOut := in.cli(t, "import", "single", filepath.Join(dir, "Lists.sbd", "golang"))
	if code != ExitOK {
		t.Fatalf("import of one file: exit %d\n%s%s", code, out, errOut)
	}
	checkMailboxes(t, in.st, acct, map[string][]string{"golang": want("")["Lists/golang"]})
}

// TestImportEmlFolder imports a folder of .eml files (subfolders are
// mailboxes; LF files get CRLF; dates from the Date header, else the
// file's time); a second run imports nothing.
func TestImportEmlFolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "eml")
	a := crlf("From: a@example.org", "Subject: a", "Date: Tue, 2 Jan 2024 10:00:00 +0100", "", "a")
	b := []string{"From: b@example.org", "Subject: b", "Date: Wed, 3 Jan 2024 11:30:00 -0500", "", "b in LF"}
	c := crlf("Subject: no date", "", "c")
	d := crlf("Subject: deep", "Date: Thu, 4 Jan 2024 12:00:00 +0000", "", "d")
	writeFiles(t, dir, map[string]string{"a.eml": a, "b.EML": lf(b...), "Work/c.eml": c, "Work/Sub/d.eml": d, "notes.txt": "not mail"})
	mtime := time.Date(2021, 6, 7, 8, 9, 10, 0, time.UTC)
	if err := os.Chtimes(filepath.Join(dir, "Work", "c.eml"), mtime, mtime); err != nil {
		t.Fatal(err)
	}
	in := newSQLite(t)
	acct := in.account(t, "alice")
	for run := 0; run < 2; run++ {
		code, out, errOut := in.cli(t, "import", "alice", dir)
		f, i, p, x := importCounts(t, out)
		if code != ExitOK || f != 4 || x != 0 || (run == 0 && i != 4) || (run == 1 && (i != 0 || p != 4)) {
			t.Fatalf("import %d: exit %d, found %d, imported %d, present %d, failed %d\n%s%s", run, code, f, i, p, x, out, errOut)
		}
	}
	checkMailboxes(t, in.st, acct, map[string][]string{
		"INBOX": {
			stored(nil, time.Date(2024, 1, 2, 10, 0, 0, 0, time.FixedZone("", 3600)), a),
			stored(nil, time.Date(2024, 1, 3, 11, 30, 0, 0, time.FixedZone("", -5*3600)), crlf(b...)),
		},
		"Work":     {stored(nil, mtime, c)},
		"Work/Sub": {stored(nil, time.Date(2024, 1, 4, 12, 0, 0, 0, time.UTC), d)},
	})
}

// TestImportBadArchives: a truncated mbox (a message cut short in the
// middle of the file, and the file cut inside its last line) and a
// Maildir file that is not a message are reported with their paths;
// without --keep-going the import stops there keeping what it imported
// (exit 1), with it the others are imported (exit 3).
func TestImportBadArchives(t *testing.T) {
	ctx := context.Background()
	in := newSQLite(t)
	a := in.account(t, "alice")
	inbox, err := in.st.Mailbox(ctx, a.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	uids := appendPlain(t, in.st, inbox.ID, 0, 6)
	export := func(format string) string {
		dir := filepath.Join(t.TempDir(), format)
		if code, out, errOut := in.cli(t, "export", "alice", dir, "--format", format, "--mailbox", "INBOX"); code != ExitOK {
			t.Fatalf("export: %s%s", out, errOut)
		}
		return dir
	}
	inboxUIDs := func(acct store.Account) []store.UID {
		t.Helper()
		m, err := in.st.Mailbox(ctx, acct.ID, "INBOX")
		if err != nil {
			t.Fatal(err)
		}
		snap, err := in.st.Snapshot(ctx, m.ID)
		if err != nil {
			t.Fatal(err)
		}
		return snap.UIDs
	}
	t.Run("truncated mbox", func(t *testing.T) {
		dir := export("mbox")
		file := filepath.Join(dir, "INBOX.mbox")
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		// m2 loses its body line: its marker's size no longer matches;
		// the file ends inside m5's body line.
		s = strings.Replace(s, "body 2\n", "", 1)
		s = strings.TrimSuffix(s, "5\n\n")
		if err := os.WriteFile(file, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		// Reported at the offsets of their From lines.
		fromOf := func(subject string) string {
			i := strings.Index(s, "Subject: "+subject+"\n")
			return fmt.Sprintf("%s:%d:", file, strings.LastIndex(s[:i], "\nFrom ")+1)
		}
		m2, m5 := fromOf("m2"), fromOf("m5")
		u := in.account(t, "mbox")
		code, out, errOut := in.cli(t, "import", "mbox", dir)
		if code != ExitFailure || !strings.Contains(errOut, m2) || !strings.Contains(errOut, "truncated or edited") {
			t.Fatalf("import: exit %d, want %d and %s reported\n%s%s", code, ExitFailure, m2, out, errOut)
		}
		if got := inboxSubjects(t, in.st, u); !slices.Equal(got, []string{"m0", "m1"}) {
			t.Errorf("after the stopped import INBOX holds %q, want m0 m1", got)
		}
		for run := 0; run < 2; run++ {
			code, out, errOut = in.cli(t, "import", "mbox", dir, "--keep-going")
			f, i, p, x := importCounts(t, out)
			wantImported := 2
			if run == 1 {
				wantImported = 0
			}
			if code != exitPartial || f != 4 || i != wantImported || p != 4-wantImported || x != 2 ||
				!strings.Contains(errOut, m2) || !strings.Contains(errOut, m5+" the file ends inside this message") {
				t.Fatalf("import --keep-going %d: exit %d, found %d imported %d present %d failed %d\n%s%s", run, code, f, i, p, x, out, errOut)
			}
		}
		if got := inboxSubjects(t, in.st, u); !slices.Equal(got, []string{"m0", "m1", "m3", "m4"}) {
			t.Errorf("after --keep-going INBOX holds %q, want m0 m1 m3 m4", got)
		}
	})

	t.Run("maildir file not a message", func(t *testing.T) {
		dir := export("maildir")
		list, err := os.ReadFile(filepath.Join(dir, "dovecot-uidlist"))
		if err != nil {
			t.Fatal(err)
		}
		var base string
		for _, l := range strings.Split(string(list), "\n") {
			if uid, b, ok := strings.Cut(l, " :"); ok && uid == fmt.Sprint(uids[2]) {
				base = b
			}
		}
		files, err := filepath.Glob(filepath.Join(dir, "cur", base+":2,*"))
		if err != nil || base == "" || len(files) != 1 {
			t.Fatalf("the file of UID %d: %q, %v", uids[2], files, err)
		}
		if err := os.WriteFile(files[0], []byte("this is not a message\nat all\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		u := in.account(t, "maildir")
		code, out, errOut := in.cli(t, "import", "maildir", dir)
		if code != ExitFailure || !strings.Contains(errOut, files[0]) || !strings.Contains(errOut, "not a message") {
			t.Fatalf("import: exit %d, want %d and %s reported\n%s%s", code, ExitFailure, files[0], out, errOut)
		}
		if got := inboxUIDs(u); !slices.Equal(got, uids[:2]) {
			t.Errorf("after the stopped import INBOX holds %v, want %v", got, uids[:2])
		}
		code, out, errOut = in.cli(t, "import", "maildir", dir, "--keep-going")
		if f, i, p, x := importCounts(t, out); code != exitPartial || f != 5 || i != 3 || p != 2 || x != 1 || !strings.Contains(errOut, files[0]) {
			t.Fatalf("import --keep-going: exit %d, found %d imported %d present %d failed %d\n%s%s", code, f, i, p, x, out, errOut)
		}
		want := slices.Delete(slices.Clone(uids), 2, 3)
		if got := inboxUIDs(u); !slices.Equal(got, want) {
			t.Errorf("after --keep-going INBOX holds %v, want %v (UIDs kept)", got, want)
		}
	})
}

// TestImportMaildirUnlisted: a Maildir whose dovecot-uidlist does not
// list a file (mail delivered since Dovecot last looked) is imported
// whole with new UIDs, and the summary says why.
func TestImportMaildirUnlisted(t *testing.T) {
	ctx := context.Background()
	in := newSQLite(t)
	a := in.account(t, "alice")
	inbox, err := in.st.Mailbox(ctx, a.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	appendPlain(t, in.st, inbox.ID, 0, 4)
	dir := filepath.Join(t.TempDir(), "maildir")
	if code, out, errOut := in.cli(t, "export", "alice", dir, "--format", "maildir", "--mailbox", "INBOX"); code != ExitOK {
		t.Fatalf("export: %s%s", out, errOut)
	}
	list := filepath.Join(dir, "dovecot-uidlist")
	b, err := os.ReadFile(list)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(b), "\n")
	if err := os.WriteFile(list, []byte(strings.Join(slices.Delete(lines, 2, 3), "")), 0o600); err != nil {
		t.Fatal(err)
	}
	u := in.account(t, "bob")
	for run := 0; run < 2; run++ {
		code, out, errOut := in.cli(t, "import", "bob", dir)
		f, i, p, x := importCounts(t, out)
		if code != ExitOK || f != 4 || x != 0 || (run == 0 && i != 4) || (run == 1 && (i != 0 || p != 4)) ||
			!strings.Contains(out, "not kept: some messages have no UID") {
			t.Fatalf("import %d: exit %d, found %d imported %d present %d failed %d\n%s%s", run, code, f, i, p, x, out, errOut)
		}
	}
	// UIDs 1, 3, 4 listed, then the file not listed: new UIDs 1 to 4 in
	// that order.
	if got := inboxSubjects(t, in.st, u); !slices.Equal(got, []string{"m0", "m2", "m3", "m1"}) {
		t.Errorf("INBOX holds %q in UID order, want m0 m2 m3 m1", got)
	}
}

// inboxSubjects returns the subjects of the messages in acct's INBOX,
// in UID order.
func inboxSubjects(t *testing.T, st store.Store, acct store.Account) []string {
	t.Helper()
	ctx := context.Background()
	m, err := st.Mailbox(ctx, acct.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	if err := st.Fetch(ctx, m.ID, imapnum.Set{{Start: 1, Stop: math.MaxUint32}}, func(msg store.Message) error {
		b, err := st.OpenBlob(ctx, msg.Blob)
		if err != nil {
			return err
		}
		defer b.Close()
		buf := make([]byte, b.Size())
		if _, err := b.ReadAt(buf, 0); err != nil {
			return err
		}
		_, rest, _ := strings.Cut(string(buf), "Subject: ")
		subj, _, _ := strings.Cut(rest, "\r\n")
		out = append(out, subj)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}
