package emlexport

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"rookery/internal/archive"
)

func TestFolderPath(t *testing.T) {
	for _, tc := range []struct{ name, folder string }{
		{"INBOX", "INBOX"},
		{"Work/Projects/2024", "Work/Projects/2024"},
		{".hidden", "%2Ehidden"},
		{"..", "%2E%2E"},
		{"trailing.", "trailing%2E"},
		{"space ", "space%20"},
		{"x.eml", "x%2Eeml"},
		{"manifest.json", "manifest%2Ejson"},
		{"a.TMP", "a%2ETMP"},
		{"lists.debian", "lists.debian"},
		{"100%", "100%25"},
		{`a*b?<c>|"d"\e:f`, "a%2Ab%3F%3Cc%3E%7C%22d%22%5Ce%3Af"},
		{"Ünïcødé/子", "Ünïcødé/子"},
		{"tab\there", "tab%09here"},
	} {
		if got := FolderPath(tc.name); got != tc.folder {
			t.Errorf("FolderPath(%q) = %q, want %q", tc.name, got, tc.folder)
		}
		back, err := MailboxName(tc.folder)
		if err != nil || back != tc.name {
			t.Errorf("MailboxName(%q) = %q, %v; want %q", tc.folder, back, err, tc.name)
		}
		if !safeFolder(tc.folder) {
			t.Errorf("FolderPath(%q) = %q is not a safe folder", tc.name, tc.folder)
		}
	}
	for _, bad := range []string{"%", "%4", "%zz"} {
		if _, err := MailboxName(bad); err == nil {
			t.Errorf("MailboxName(%q) succeeded", bad)
		}
	}
	for _, unsafe := range []string{"", "/etc", "../x", "a/../b", "a//b", "a/./b", `a\b`, "a/"} {
		if safeFolder(unsafe) {
			t.Errorf("safeFolder(%q) = true", unsafe)
		}
	}
}

// write writes an export of one mailbox with the given contents (UIDs
// 1, 2...), failing t on error.
func write(t *testing.T, dir string, opts Options, uidValidity uint32, contents ...string) *Writer {
	t.Helper()
	ctx := context.Background()
	w, err := Create(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.BeginMailbox(ctx, archive.Mailbox{Name: "INBOX", UIDValidity: uidValidity, UIDNext: uint32(len(contents) + 1), HighestModSeq: 9}); err != nil {
		t.Fatal(err)
	}
	zone := time.FixedZone("", 5*3600+1800)
	for i, c := range contents {
		m := archive.Message{UID: uint32(i + 1), Flags: []string{`\Seen`, "$Work"}, InternalDate: time.Date(2024, 2, 3, 4, 5, 6, 0, zone), Size: int64(len(c))}
		sum := sha256.Sum256([]byte(c))
		if kept, err := w.Keep(m, hex.EncodeToString(sum[:]), uint64(i+2)); err != nil || kept {
			if err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := w.AddModSeq(ctx, m, uint64(i+2), strings.NewReader(c)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.EndMailbox(ctx); err != nil {
		t.Fatal(err)
	}
	return w
}

func TestWriteRead(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "x")
	w := write(t, dir, Options{Account: "alice"}, 7, "Subject: a\r\n\r\none\r\n", "Subject: b\r\n\r\ntwo\r\n")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := OpenReader(dir)
	if err != nil {
		t.Fatal(err)
	}
	mbs, _ := r.Mailboxes(context.Background())
	if len(mbs) != 1 || mbs[0].UIDValidity != 7 || mbs[0].UIDNext != 3 {
		t.Fatalf("mailboxes %+v", mbs)
	}
	var got []string
	err = r.Messages(context.Background(), "INBOX", func(m archive.Message) error {
		rc, err := m.Open()
		if err != nil {
			return err
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		if _, off := m.InternalDate.Zone(); off != 5*3600+1800 {
			t.Errorf("UID %d: zone offset %d", m.UID, off)
		}
		got = append(got, string(b))
		return err
	}, nil)
	if err != nil || len(got) != 2 || got[1] != "Subject: b\r\n\r\ntwo\r\n" {
		t.Fatalf("messages %q, %v", got, err)
	}
	if ms, _ := r.ModSeqs("INBOX"); ms[2] != 3 {
		t.Errorf("mod-sequences %v", ms)
	}
	// A content that does not match the manifest fails at its end.
	p := filepath.Join(dir, "INBOX", "1.eml")
	if err := os.WriteFile(p, []byte("Subject: a\r\n\r\nonE\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	err = r.Messages(context.Background(), "INBOX", func(m archive.Message) error {
		rc, err := m.Open()
		if err != nil {
			return err
		}
		defer rc.Close()
		_, err = io.ReadAll(rc)
		return err
	}, nil)
	var bad *archive.BadMessageError
	if !errors.As(err, &bad) || bad.Path != p {
		t.Fatalf("damaged file: %v", err)
	}
	if _, err := Open(t.TempDir()); !errors.Is(err, archive.ErrNotArchive) {
		t.Errorf("Open of an empty directory: %v", err)
	}
}

// TestInterrupted: a run that does not reach Close leaves the previous
// manifest, whose files are intact, or none; never one pointing at a
// changed file.
func TestInterrupted(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "x")
	if err := write(t, dir, Options{Account: "alice"}, 7, "Subject: a\r\n\r\none\r\n").Close(); err != nil {
		t.Fatal(err)
	}
	// Same UIDVALIDITY, a new message: the manifest stays valid.
	write(t, dir, Options{Account: "alice", Incremental: true}, 7, "Subject: a\r\n\r\none\r\n", "Subject: b\r\n\r\ntwo\r\n").Abort()
	m, err := ReadManifest(dir)
	if err != nil || len(m.Mailboxes[0].Messages) != 1 {
		t.Fatalf("after an interrupted run: %+v, %v", m, err)
	}
	// A new UIDVALIDITY rewrites 1.eml: the manifest goes first.
	write(t, dir, Options{Account: "alice", Incremental: true}, 8, "Subject: c\r\n\r\nother\r\n").Abort()
	if _, err := ReadManifest(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("manifest after an interrupted rewrite: %v", err)
	}
	w := write(t, dir, Options{Account: "alice", Incremental: true}, 8, "Subject: c\r\n\r\nother\r\n")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "INBOX", "1.eml"))
	if !bytes.Contains(b, []byte("other")) {
		t.Errorf("1.eml: %q", b)
	}
	if _, err := Create(dir, Options{Account: "bob", Incremental: true}); err == nil {
		t.Error("an incremental export of another account into the export succeeded")
	}
}
