package pgstore

import (
	"bytes"
	"io"
	"math/rand/v2"
	"testing"

	"rookery/internal/pgtest"
)

// TestChunkBlobRanges: reads of a large content at any offsets and
// lengths (the head OpenBlob reads with it, random ranges, a content
// streamed in order) give its bytes.
func TestChunkBlobRanges(t *testing.T) {
	s := open(t, pgtest.NewDatabase(t), nil)
	rng := rand.New(rand.NewPCG(1, 2))
	content := make([]byte, 2*chunkSize+12345)
	for i := range content {
		content[i] = byte(rng.IntN(256))
	}
	ref, err := s.WriteBlob(ctx, bytes.NewReader(content), -1)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.OpenBlob(ctx, ref.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.Size() != int64(len(content)) {
		t.Fatalf("size %d, want %d", b.Size(), len(content))
	}
	check := func(off int64, n int) {
		t.Helper()
		p := make([]byte, n)
		got, err := b.ReadAt(p, off)
		want := min(int64(n), int64(len(content))-off)
		if int64(got) != want || (got < n) != (err == io.EOF) || err != nil && err != io.EOF {
			t.Fatalf("ReadAt(%d bytes at %d) = %d, %v; want %d", n, off, got, err, want)
		}
		if !bytes.Equal(p[:got], content[off:off+int64(got)]) {
			t.Fatalf("ReadAt(%d bytes at %d): wrong bytes", n, off)
		}
	}
	check(0, 100)                     // in the head
	check(headRead-10, 100)           // across its end
	check(chunkSize-5, 10)            // across two chunks
	check(int64(len(content))-7, 100) // past the end
	check(3, 2*chunkSize+12345-3)     // all of it
	for off := int64(0); off < int64(len(content)); off += 32 << 10 {
		check(off, 32<<10) // streamed
	}
	for range 200 {
		off := rng.Int64N(int64(len(content)))
		check(off, 1+rng.IntN(3*headRead))
	}
	if _, err := b.ReadAt(make([]byte, 1), int64(len(content))); err != io.EOF {
		t.Fatalf("ReadAt at the end: %v, want EOF", err)
	}
}
