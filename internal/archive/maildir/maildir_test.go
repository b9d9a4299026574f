package maildir

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"rookery/internal/archive"
)

func TestEncodeName(t *testing.T) {
	tests := []struct{ name, dir string }{
		{"INBOX", ""},
		{"inbox", ""},
		{"Archive", ".Archive"},
		{"Archive/2024", ".Archive.2024"},
		{"INBOX/sub", ".INBOX.sub"},
		{"Entwürfe", ".Entw&APw-rfe"}, // as Dovecot 2.3 names it
		{"x&y", ".x&-y"},              // as Dovecot 2.3 names it
		{"a.b", `.a\2eb`},
		{`back\slash`, `.back\5cslash`},
		{"..", `.\2e\2e`},
		{"a/..", `.a.\2e\2e`},
		{"~tilde", ".~tilde"},
		{"tab\there", ".tab&AAk-here"},
		{"Отправленные", ".&BB4EQgQ,BEAEMAQyBDsENQQ9BD0ESwQ1-"},
	}
	for _, tt := range tests {
		got, err := encodeName(tt.name)
		if err != nil || got != tt.dir {
			t.Errorf("encodeName(%q) = %q, %v, want %q", tt.name, got, err, tt.dir)
			continue
		}
		if tt.dir == "" {
			continue
		}
		back, ok := decodeName(got)
		if !ok || back != tt.name {
			t.Errorf("decodeName(%q) = %q, %v, want %q", got, back, ok, tt.name)
		}
	}
	for _, bad := range []string{"", "a//b", "/a", "a/", strings.Repeat("x", 300)} {
		if _, err := encodeName(bad); err == nil {
			t.Errorf("encodeName(%q) accepted", bad)
		}
	}
	// Directories that are not mailboxes, and other tools' names.
	for _, tt := range []struct {
		dir  string
		name string
		ok   bool
	}{
		{".", "", false}, {"..", "", false}, {".INBOX", "", false}, {"..a", "", false}, {".a.", "", false},
		{"cur", "", false}, {".Entwürfe", "Entwürfe", true}, {".inbox.x", "INBOX/x", true}, {".a&b", "a&b", true},
	} {
		name, ok := decodeName(tt.dir)
		if ok != tt.ok || name != tt.name {
			t.Errorf("decodeName(%q) = %q, %v, want %q, %v", tt.dir, name, ok, tt.name, tt.ok)
		}
	}
}

func TestFlagLetters(t *testing.T) {
	kw := [26]string{"$Forwarded", "project", "$Junk"}
	tests := []struct {
		file  string
		flags string
	}{
		{"1.M1P1.h,S=10,W=12:2,", ""},
		{"1.M1P1.h,S=10,W=12:2,S", `\Seen`},
		{"1.M1P1.h:2,DFPRST", `\Draft \Flagged $Forwarded \Answered \Seen \Deleted`},
		{"1.M1P1.h:2,Sab", `\Seen $Forwarded project`},
		{"1.M1P1.h:2,Sz", `\Seen`},             // a letter dovecot-keywords does not name
		{"1.M1P1.h:2,PSa", `$Forwarded \Seen`}, // P and a both $Forwarded: once
		{"1.M1P1.h:1,S", ""},                   // experimental info: no flags
		{"1.M1P1.h", ""},                       // new/: no info
		{"1.M1P1.h:2,S?X!", `\Seen`},
	}
	for _, tt := range tests {
		_, letters := splitName(tt.file)
		if got := strings.Join(flagsOf(letters, &kw), " "); got != tt.flags {
			t.Errorf("flags of %q = %q, want %q", tt.file, got, tt.flags)
		}
	}
	mb := &mailboxWriter{kwIndex: map[string]int{}}
	for _, tt := range []struct {
		flags   []string
		letters string
	}{
		{[]string{`\Seen`, `\Draft`, `\Recent`}, "DS"},
		{[]string{"b-kw", `\Deleted`, "a-kw", `\answered`, `\Flagged`}, "FRTab"},
		{[]string{"a-kw", "b-kw"}, "ab"},
		{[]string{"c-kw", "a-kw", "c-kw"}, "bc"}, // a-kw got b above
		{nil, ""},
	} {
		got, err := mb.letters(tt.flags)
		if err != nil || got != tt.letters {
			t.Errorf("letters(%v) = %q, %v, want %q", tt.flags, got, err, tt.letters)
		}
	}
	for i := 0; len(mb.keywords) < 26; i++ {
		if _, err := mb.letters([]string{"k" + string(rune('a'+i%26)) + string(rune('a'+i/26))}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := mb.letters([]string{"one-too-many"}); err == nil {
		t.Error("a 27th keyword was accepted")
	}
}

func TestParseUIDList(t *testing.T) {
	tests := []struct {
		name     string
		data     string
		v, n     uint32
		uids     map[string]uint32
		wantFail bool
	}{
		{"dovecot 2.3", "3 V1796308930 N3 G11003e16c07f116bb12d000083ecc375\n" +
			"1 :1796308928.M419541P11697.vm,S=19,W=22\n" +
			"2 :1796308928.M430874P11697.vm,S=19,W=22\n" +
			"3 :1796308928.M437756P11697.vm,S=19,W=22\n", 1796308930, 4,
			map[string]uint32{"1796308928.M419541P11697.vm,S=19,W=22": 1, "1796308928.M430874P11697.vm,S=19,W=22": 2, "1796308928.M437756P11697.vm,S=19,W=22": 3}, false},
		{"extension fields", "3 V5 N100 Gabc\n7 W1234 G0123456789abcdef :a.b.c\n9 S10 W12 :d,S=10\n", 5, 100,
			map[string]uint32{"a.b.c": 7, "d,S=10": 9}, false},
		{"version 1", "1 42 10\n3 1.2.host\n5 1.3.host\n", 42, 10, map[string]uint32{"1.2.host": 3, "1.3.host": 5}, false},
		{"behind header", "3 V1 N2\n5 :x\n", 1, 6, map[string]uint32{"x": 5}, false},
		{"bad lines skipped", "3 V1 N9\nx :a\n0 :b\n4 :c\n3 :d\n6\n7 \n8 :\n", 1, 9, map[string]uint32{"c": 4}, false},
		{"duplicate base", "3 V1 N9\n1 :a\n2 :a\n", 1, 9, map[string]uint32{"a": 1}, false},
		{"unknown version", "9 V1\n", 0, 0, nil, true},
		{"empty", "", 0, 0, nil, true},
		{"bad V", "3 Vx N1\n", 0, 0, nil, true},
	}
	for _, tt := range tests {
		ul, err := parseUIDList(strings.NewReader(tt.data))
		if (err != nil) != tt.wantFail {
			t.Errorf("%s: err %v", tt.name, err)
			continue
		}
		if err != nil {
			continue
		}
		if ul.uidValidity != tt.v || ul.uidNext != tt.n || len(ul.uids) != len(tt.uids) {
			t.Errorf("%s: V%d N%d %v, want V%d N%d %v", tt.name, ul.uidValidity, ul.uidNext, ul.uids, tt.v, tt.n, tt.uids)
			continue
		}
		for b, u := range tt.uids {
			if ul.uids[b] != u {
				t.Errorf("%s: %s → %d, want %d", tt.name, b, ul.uids[b], u)
			}
		}
	}
}

func TestParseKeywords(t *testing.T) {
	kw := parseKeywords("0 $Forwarded\n1 foo\n25 last\n26 over\n-1 neg\nx bad\n2 two words\n3 \n")
	if kw[0] != "$Forwarded" || kw[1] != "foo" || kw[25] != "last" || kw[2] != "" || kw[3] != "" {
		t.Errorf("parseKeywords: %q", kw)
	}
}

func write(t *testing.T, path, data string, mtime time.Time) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	if !mtime.IsZero() {
		os.Chtimes(path, mtime, mtime)
	}
}

// TestPlainMaildir reads a Maildir no Dovecot touched (messages in new/
// and cur/, no uidlist) and other tools' Maildir++ (Courier's
// subscriptions), and reports files that are not messages.
func TestPlainMaildir(t *testing.T) {
	root := t.TempDir()
	d1 := time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC)
	write(t, filepath.Join(root, "new", "2.x.host"), "Subject: new\n\nn\n", d1)
	write(t, filepath.Join(root, "cur", "1.x.host:2,RS"), "Subject: cur\r\n\r\nc\r\n", d1.Add(time.Hour))
	write(t, filepath.Join(root, "cur", "3.x.host:2,"), "", time.Time{})                         // empty
	write(t, filepath.Join(root, "cur", "4.x.host:2,"), "\x00\x01\x02binary", time.Time{})       // junk
	write(t, filepath.Join(root, "cur", ".hidden"), "Subject: hidden\n\n", time.Time{})          // skipped
	os.Symlink(filepath.Join(root, "nowhere"), filepath.Join(root, "cur", "6.x.host:2,S"))       // unreadable
	write(t, filepath.Join(root, ".Sent", "cur", "5.x.host:2,S"), "Subject: s\n\n", time.Time{}) // Courier folder
	write(t, filepath.Join(root, ".Sent", "courierimapkeywords", ":list"), "", time.Time{})
	os.MkdirAll(filepath.Join(root, ".NotAFolder"), 0o700)
	write(t, filepath.Join(root, "courierimapsubscribed"), "INBOX.Sent\n", time.Time{})
	r, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	mbs, _ := r.Mailboxes(context.Background())
	if len(mbs) != 2 || mbs[0].Name != "INBOX" || mbs[1].Name != "Sent" || !mbs[1].Subscribed || mbs[0].Subscribed || mbs[0].UIDValidity != 0 {
		t.Fatalf("mailboxes %+v", mbs)
	}
	var got []string
	var bads []string
	err = r.Messages(context.Background(), "INBOX", func(m archive.Message) error {
		if m.UID != 0 {
			t.Errorf("%s: UID %d without a uidlist", m.Path, m.UID)
		}
		rc, _ := m.Open()
		b := make([]byte, 100)
		n, _ := rc.Read(b)
		rc.Close()
		got = append(got, m.Path+" "+strings.Join(m.Flags, ",")+" "+m.InternalDate.Format(time.RFC3339)+" "+string(b[:n]))
		return nil
	}, func(be *archive.BadMessageError) error {
		bads = append(bads, filepath.Base(be.Path)+": "+be.Err.Error())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"cur/1.x.host:2,RS \\Answered,\\Seen 2019-01-01T01:00:00Z Subject: cur\r\n\r\nc\r\n",
		"new/2.x.host  2019-01-01T00:00:00Z Subject: new\r\n\r\nn\r\n",
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("messages\n%q\nwant\n%q", got, want)
	}
	if len(bads) != 3 || !strings.HasPrefix(bads[0], "3.x.host:2,: empty") || !strings.HasPrefix(bads[1], "4.x.host:2,: contains NUL") ||
		!strings.Contains(bads[2], "6.x.host:2,S: open") {
		t.Errorf("bad messages %q", bads)
	}
	// Without bad, the first bad message ends the read with its error.
	err = r.Messages(context.Background(), "INBOX", func(archive.Message) error { return nil }, nil)
	var be *archive.BadMessageError
	if !errors.As(err, &be) || !strings.HasSuffix(be.Path, "3.x.host:2,") {
		t.Errorf("without bad: %v", err)
	}
	if os.Geteuid() != 0 {
		p := filepath.Join(root, "cur", "1.x.host:2,RS")
		os.Chmod(p, 0)
		err = r.Messages(context.Background(), "INBOX", func(archive.Message) error { return nil }, nil)
		if !errors.As(err, &be) || be.Path != p {
			t.Errorf("unreadable file: %v", err)
		}
	}
}

func TestNotMaildir(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "a.eml"), "Subject: x\n\n", time.Time{})
	for _, p := range []string{dir, filepath.Join(dir, "a.eml")} {
		if _, err := Open(p); !errors.Is(err, archive.ErrNotArchive) {
			t.Errorf("Open(%s): %v, want ErrNotArchive", p, err)
		}
	}
	if _, err := Open(filepath.Join(dir, "missing")); err == nil || errors.Is(err, archive.ErrNotArchive) {
		t.Errorf("Open(missing): %v", err)
	}
	if _, err := Create(dir); err == nil {
		t.Error("Create into a non-empty directory")
	}
}

// TestSymlinksOut: a Maildir must not make an import read files from
// outside it through symbolic links: a message file that is a link is a
// bad message, and a folder or cur/ that leads out of the tree is
// refused; a link inside the tree is followed.
func TestSymlinksOut(t *testing.T) {
	outside := t.TempDir()
	write(t, filepath.Join(outside, "secret"), "Subject: secret\n\nroot's\n", time.Time{})
	write(t, filepath.Join(outside, "other", "cur", "1.x.host:2,"), "Subject: other's mail\n\n", time.Time{})

	t.Run("message file", func(t *testing.T) {
		root := t.TempDir()
		write(t, filepath.Join(root, "cur", "1.x.host:2,"), "Subject: mine\n\n", time.Time{})
		if err := os.Symlink(filepath.Join(outside, "secret"), filepath.Join(root, "cur", "2.x.host:2,")); err != nil {
			t.Fatal(err)
		}
		r, err := Open(root)
		if err != nil {
			t.Fatal(err)
		}
		var read, bad []string
		err = r.Messages(context.Background(), "INBOX", func(m archive.Message) error {
			rc, err := m.Open()
			if err != nil {
				return err
			}
			b, _ := io.ReadAll(rc)
			rc.Close()
			read = append(read, string(b))
			return nil
		}, func(be *archive.BadMessageError) error {
			bad = append(bad, filepath.Base(be.Path))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(strings.Join(read, ""), "secret") || len(bad) != 1 || bad[0] != "2.x.host:2," {
			t.Errorf("read %q, bad %q", read, bad)
		}
	})
	t.Run("folder", func(t *testing.T) {
		root := t.TempDir()
		write(t, filepath.Join(root, "cur", "1.x.host:2,"), "Subject: mine\n\n", time.Time{})
		if err := os.Symlink(filepath.Join(outside, "other"), filepath.Join(root, ".Other")); err != nil {
			t.Fatal(err)
		}
		if _, err := Open(root); err == nil || !strings.Contains(err.Error(), "outside the Maildir") {
			t.Errorf("Open: %v", err)
		}
	})
	t.Run("cur", func(t *testing.T) {
		root := t.TempDir()
		write(t, filepath.Join(root, "new", "1.x.host"), "Subject: mine\n\n", time.Time{})
		if err := os.Symlink(filepath.Join(outside, "other", "cur"), filepath.Join(root, "cur")); err != nil {
			t.Fatal(err)
		}
		r, err := Open(root)
		if err != nil {
			t.Fatal(err)
		}
		err = r.Messages(context.Background(), "INBOX", func(archive.Message) error { return nil }, nil)
		if err == nil || !strings.Contains(err.Error(), "outside the Maildir") {
			t.Errorf("Messages: %v", err)
		}
	})
	t.Run("inside", func(t *testing.T) {
		root := t.TempDir()
		write(t, filepath.Join(root, "cur", "1.x.host:2,"), "Subject: mine\n\n", time.Time{})
		write(t, filepath.Join(root, "store", "sent", "cur", "2.x.host:2,S"), "Subject: sent\n\n", time.Time{})
		if err := os.Symlink(filepath.Join(root, "store", "sent"), filepath.Join(root, ".Sent")); err != nil {
			t.Fatal(err)
		}
		r, err := Open(root)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		if err := r.Messages(context.Background(), "Sent", func(archive.Message) error { n++; return nil }, nil); err != nil || n != 1 {
			t.Errorf("Sent through a link inside the tree: %d messages, %v", n, err)
		}
	})
}
