package archivetest

import (
	"context"
	"path/filepath"
	"testing"

	"rookery/internal/archive"
)

// Format is an archive format under test: how to create a Writer and
// open a Reader on a directory.
type Format struct {
	Create func(dir string) (archive.Writer, error)
	Open   func(path string) (archive.Reader, error)
}

// RoundTripBig writes one message of size bytes (streamed, never held
// whole) in format f and checks that it reads back with the same size
// and SHA-256.
func RoundTripBig(t *testing.T, f Format, size int64) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "out")
	w, err := f.Create(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := w.BeginMailbox(ctx, archive.Mailbox{Name: "Big"}); err != nil {
		t.Fatal(err)
	}
	if err := w.Add(ctx, archive.Message{UID: 1, Size: size}, NewBigMessage(size)); err != nil {
		t.Fatal(err)
	}
	if err := w.EndMailbox(ctx); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	want, _, _ := Hash(NewBigMessage(size))
	r, err := f.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	n := 0
	err = r.Messages(ctx, "Big", func(m archive.Message) error {
		n++
		if m.Size != size {
			t.Errorf("size %d, want %d", m.Size, size)
		}
		rc, err := m.Open()
		if err != nil {
			return err
		}
		defer rc.Close()
		got, gn, err := Hash(rc)
		if err != nil {
			return err
		}
		if got != want || gn != size {
			t.Errorf("big message differs (%d bytes)", gn)
		}
		return nil
	}, nil)
	if err != nil || n != 1 {
		t.Fatalf("messages: %d, %v", n, err)
	}
}

// BenchRead reads n small messages written in format f, content
// included, b.N times.
func BenchRead(b *testing.B, f Format, n int) {
	dir := filepath.Join(b.TempDir(), "out")
	w, err := f.Create(dir)
	if err != nil {
		b.Fatal(err)
	}
	WriteSmall(b, w, n)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r, err := f.Open(dir)
		if err != nil {
			b.Fatal(err)
		}
		if got := ReadAll(b, r); got != n {
			b.Fatalf("%d messages", got)
		}
		r.Close()
	}
	ReportRate(b, n)
}

// BenchWrite writes n small messages in format f, b.N times.
func BenchWrite(b *testing.B, f Format, n int) {
	for i := 0; i < b.N; i++ {
		w, err := f.Create(filepath.Join(b.TempDir(), "out"))
		if err != nil {
			b.Fatal(err)
		}
		WriteSmall(b, w, n)
	}
	ReportRate(b, n)
}
