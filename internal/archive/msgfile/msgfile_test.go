package msgfile

import (
	"io"
	"os"
	"path/filepath"
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
