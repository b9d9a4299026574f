package msgfile

import (
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestHandoff(t *testing.T) {
	p := filepath.Join(t.TempDir(), "m")
	os.WriteFile(p, []byte("a\nb\n"), 0o600)
	for _, tt := range []struct {
		crlf bool
		want string
	}{{false, "a\nb\n"}, {true, "a\r\nb\r\n"}} {
		f, err := Open(p)
		if err != nil {
			t.Fatal(err)
		}
		f.Read(make([]byte, 2)) // the reader looked at the head
		h := NewHandoff(f, p, tt.crlf)
		for i := 0; i < 3; i++ { // first from the open file, then anew
			rc, err := h.Open()
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(rc)
			rc.Close()
			if string(b) != tt.want {
				t.Errorf("Open %d: %q, want %q", i, b, tt.want)
			}
			if i == 1 {
				h.Release()
			}
		}
	}
	if _, err := Open(filepath.Join(t.TempDir(), "missing")); !os.IsNotExist(err) {
		t.Errorf("Open(missing): %v", err)
	}
}

// TestOpenRefuses: Open takes regular files only, and not through a
// symbolic link (OpenFollow follows one); a FIFO is refused at once
// instead of waiting for a writer.
func TestOpenRefuses(t *testing.T) {
	dir := t.TempDir()
	reg := filepath.Join(dir, "msg")
	if err := os.WriteFile(reg, []byte("Subject: x\r\n\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(reg, link); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		open   func(string) (*os.File, error)
		path   string
		wantOK bool
	}{
		{"regular", Open, reg, true},
		{"link", Open, link, false},
		{"link followed", OpenFollow, link, true},
		{"fifo", Open, fifo, false},
		{"fifo followed", OpenFollow, fifo, false},
		{"directory", Open, dir, false},
		{"missing", Open, filepath.Join(dir, "none"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := tt.open(tt.path)
			if (err == nil) != tt.wantOK {
				t.Fatalf("error %v, want ok %v", err, tt.wantOK)
			}
			if f == nil {
				return
			}
			defer f.Close()
			b, err := io.ReadAll(f)
			if err != nil || string(b) != "Subject: x\r\n\r\n" {
				t.Errorf("read %q, %v", b, err)
			}
		})
	}
}
