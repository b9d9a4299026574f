package pgstore

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"testing"

	"rookery/internal/imapnum"
	"rookery/internal/pgtest"
	"rookery/internal/store"
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
	// Twice: the second opens from the cache of heads.
	for range 2 {
		readRanges(t, s, ref.ID, content, rng)
	}
}

func readRanges(t *testing.T, s *Store, id store.BlobID, content []byte, rng *rand.Rand) {
	t.Helper()
	b, err := s.OpenBlob(ctx, id)
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

// TestChunkBlobGone: a large content deleted after its head was cached
// still opens, but reading past its head fails with ErrNoSuchMessage,
// as does opening it on a store that never read it.
func TestChunkBlobGone(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	s := open(t, dsn, nil)
	acct, err := s.CreateAccount(ctx, "alice", "hash")
	if err != nil {
		t.Fatal(err)
	}
	inbox, err := s.Mailbox(ctx, acct.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	content := append([]byte("Subject: big\r\n\r\n"), bytes.Repeat([]byte("0123456789abcdef"), chunkSize/8)...)
	ref, err := s.WriteBlob(ctx, bytes.NewReader(content), -1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, inbox.ID, []store.NewMessage{{Blob: ref}}); err != nil {
		t.Fatal(err)
	}
	b, err := s.OpenBlob(ctx, ref.ID)
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
	// Deleted by another node (whose collect cannot drop this cache),
	// once no longer pinned for the Append that follows WriteBlob.
	o := open(t, dsn, nil)
	if _, err := o.pool.Exec(ctx, `UPDATE blobs SET pinned_until = NULL`); err != nil {
		t.Fatal(err)
	}
	all := imapnum.Set{{Start: 1, Stop: ^uint32(0)}}
	if _, err := o.StoreFlags(ctx, inbox.ID, all, store.FlagsAdd, store.Flags{Sys: store.FlagDeleted}, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := o.Expunge(ctx, inbox.ID, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := o.OpenBlob(ctx, ref.ID); !errors.Is(err, store.ErrNoSuchMessage) {
		t.Fatalf("OpenBlob of a deleted content: %v, want ErrNoSuchMessage", err)
	}
	b, err = s.OpenBlob(ctx, ref.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	p := make([]byte, 10) // within the header section, which the cache keeps
	if n, err := b.ReadAt(p, 0); n != len(p) || err != nil || !bytes.Equal(p, content[:len(p)]) {
		t.Fatalf("ReadAt of the cached head: %d, %v", n, err)
	}
	if _, err := b.ReadAt(p, chunkSize); !errors.Is(err, store.ErrNoSuchMessage) {
		t.Fatalf("ReadAt past the head of a deleted content: %v, want ErrNoSuchMessage", err)
	}
}
