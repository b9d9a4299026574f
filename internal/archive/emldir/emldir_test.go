package emldir

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

func write(t *testing.T, path, data string, mtime time.Time) {
	t.Helper()
	os.MkdirAll(filepath.Dir(path), 0o700)
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	if !mtime.IsZero() {
		os.Chtimes(path, mtime, mtime)
	}
}

func TestRead(t *testing.T) {
	root := t.TempDir()
	mt := time.Date(2018, 5, 6, 7, 8, 9, 0, time.UTC)
	write(t, filepath.Join(root, "b.eml"), "Subject: b\r\nDate: Tue, 1 Feb 2022 10:00:00 +0100\r\n\r\nb\r\n", mt)
	write(t, filepath.Join(root, "a.EML"), "Subject: a\nDate: not a date\n\na\n", mt)
	write(t, filepath.Join(root, "notes.txt"), "not mail", mt)
	write(t, filepath.Join(root, "Archive", "2024", "x.eml"), "Subject: x\r\n\r\nx\r\n", mt)
	write(t, filepath.Join(root, "Archive", "2024", "empty.eml"), "", mt)
	write(t, filepath.Join(root, "Archive", "2024", "junk.eml"), "\x89PNG\r\n\x1a\n\x00\x00", mt)
	write(t, filepath.Join(root, "Sent Items", "y.eml"), "From: me\r\n\r\ny", mt)
	os.Symlink(filepath.Join(root, "nowhere"), filepath.Join(root, "Archive", "2024", "unreadable.eml"))
	write(t, filepath.Join(root, ".git", "z.eml"), "Subject: hidden\r\n\r\n", mt)
	r, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	mbs, _ := r.Mailboxes(context.Background())
	var names []string
	for _, mb := range mbs {
		names = append(names, mb.Name)
	}
	if got := strings.Join(names, ","); got != "INBOX,Archive/2024,Sent Items" {
		t.Fatalf("mailboxes %s", got)
	}
	type msg struct {
		path, date, content string
	}
	read := func(box string) ([]msg, []string) {
		var out []msg
		var bads []string
		err := r.Messages(context.Background(), box, func(m archive.Message) error {
			rc, err := m.Open()
			if err != nil {
				return err
			}
			b, _ := io.ReadAll(rc)
			rc.Close()
			if int64(len(b)) != m.Size || len(m.Flags) != 0 || m.UID != 0 {
				t.Errorf("%s: size %d/%d flags %v uid %d", m.Path, m.Size, len(b), m.Flags, m.UID)
			}
			out = append(out, msg{m.Path, m.InternalDate.UTC().Format(time.RFC3339), string(b)})
			return nil
		}, func(be *archive.BadMessageError) error {
			bads = append(bads, filepath.Base(be.Path))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return out, bads
	}
	inbox, _ := read("INBOX")
	want := []msg{
		{"a.EML", "2018-05-06T07:08:09Z", "Subject: a\r\nDate: not a date\r\n\r\na\r\n"},
		{"b.eml", "2022-02-01T09:00:00Z", "Subject: b\r\nDate: Tue, 1 Feb 2022 10:00:00 +0100\r\n\r\nb\r\n"},
	}
	if len(inbox) != 2 || inbox[0] != want[0] || inbox[1] != want[1] {
		t.Errorf("INBOX %q\nwant %q", inbox, want)
	}
	arch, bads := read("Archive/2024")
	if len(arch) != 1 || strings.Join(bads, ",") != "empty.eml,junk.eml,unreadable.eml" {
		t.Errorf("Archive/2024: %q, bad %q", arch, bads)
	}
}

func TestNotEmlDir(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "x.txt"), "Subject: x\n\n", time.Time{})
	for _, p := range []string{dir, filepath.Join(dir, "x.txt")} {
		if _, err := Open(p); !errors.Is(err, archive.ErrNotArchive) {
			t.Errorf("Open(%s): %v", p, err)
		}
	}
}
