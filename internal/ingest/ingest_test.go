package ingest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"rookery/internal/anatomy"
	"rookery/internal/searchtext"
	"rookery/internal/store"
)

// memStore keeps contents in memory: WriteBlob stores bytes only, as a
// backend does. The other methods of store.Store are not used.
type memStore struct {
	store.Store
	mu      sync.Mutex
	blobs   map[store.BlobID][]byte
	anat    map[store.BlobID][]byte // stored anatomies (BlobsToIndex)
	opened  int                     // OpenBlob calls
	batches [][]store.BlobIndex     // SetBlobIndex calls
	waited  bool
}

func newMemStore() *memStore {
	return &memStore{blobs: map[store.BlobID][]byte{}, anat: map[store.BlobID][]byte{}}
}

func (m *memStore) WriteBlob(_ context.Context, r io.Reader, maxSize int64) (store.BlobRef, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return store.BlobRef{}, err
	}
	if maxSize >= 0 && int64(len(b)) > maxSize {
		return store.BlobRef{}, store.ErrTooBig
	}
	sum := sha256.Sum256(b)
	id := store.BlobID(hex.EncodeToString(sum[:]))
	m.mu.Lock()
	defer m.mu.Unlock()
	m.blobs[id] = b
	return store.BlobRef{ID: id, Size: int64(len(b))}, nil
}

type memBlob struct{ *bytes.Reader }

func (memBlob) Close() error { return nil }

func (m *memStore) OpenBlob(_ context.Context, id store.BlobID) (store.Blob, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.opened++
	b, ok := m.blobs[id]
	if !ok {
		return nil, fmt.Errorf("blob %s: %w", id, store.ErrNoSuchMessage)
	}
	return memBlob{bytes.NewReader(b)}, nil
}

func (m *memStore) BlobsToIndex(context.Context, string) ([]store.BlobIndex, error) {
	var out []store.BlobIndex
	for id, a := range m.anat {
		out = append(out, store.BlobIndex{ID: id, Anatomy: a})
	}
	return out, nil
}

func (m *memStore) SetBlobIndex(_ context.Context, blobs []store.BlobIndex) error {
	m.batches = append(m.batches, blobs)
	return nil
}

func (m *memStore) WaitIndexed(context.Context) error {
	m.waited = true
	return nil
}

// message returns a message with the given Date field and a body of
// about size bytes ending in a marker word.
func message(date string, size int) []byte {
	var b strings.Builder
	b.WriteString("From: Ann <ann@example.org>\r\nSubject: =?UTF-8?Q?K=C3=B6ln?=\r\n")
	if date != "" {
		b.WriteString("Date: " + date + "\r\n")
	}
	b.WriteString("Content-Type: text/plain; charset=utf-8\r\n\r\n")
	for b.Len() < size {
		b.WriteString("filler text of the body, line after line\r\n")
	}
	b.WriteString("zebra\r\n")
	return []byte(b.String())
}

func TestWrite(t *testing.T) {
	ctx := context.Background()
	sent := time.Date(2023, 1, 3, 8, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		msg      []byte
		sent     time.Time
		readBack bool // the text is extracted from the store, not the capture
	}{
		{"small", message("Tue, 3 Jan 2023 10:00:00 +0200", 100), sent, false},
		{"no date", message("", 100), time.Time{}, false},
		{"bad date", message("someday", 100), time.Time{}, false},
		{"file sized", message("Tue, 3 Jan 2023 10:00:00 +0200", 100<<10), sent, false},
		{"over the capture", message("Tue, 3 Jan 2023 10:00:00 +0200", captureMax+10), sent, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newMemStore()
			ref, err := Write(ctx, st, bytes.NewReader(tt.msg), -1, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(st.blobs[ref.ID], tt.msg) || ref.Size != int64(len(tt.msg)) {
				t.Fatalf("stored %d bytes, ref size %d, want %d", len(st.blobs[ref.ID]), ref.Size, len(tt.msg))
			}
			root, err := anatomy.Parse(bytes.NewReader(tt.msg))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(ref.Anatomy, anatomy.Marshal(root)) {
				t.Error("anatomy differs from a parse of the whole message")
			}
			want, err := searchtext.Extract(bytes.NewReader(tt.msg), root)
			if err != nil {
				t.Fatal(err)
			}
			if ref.Text == nil {
				t.Fatal("no text")
			}
			if !ref.Text.Sort.Sent.Equal(tt.sent) {
				t.Errorf("sent %v, want %v", ref.Text.Sort.Sent, tt.sent)
			}
			want.Sort.Sent = ref.Text.Sort.Sent
			if !reflect.DeepEqual(ref.Text, want) {
				t.Errorf("text differs from an extraction from the whole message: subject %q, body of %d bytes",
					ref.Text.Subject, len(ref.Text.Body))
			}
			if got := st.opened > 0; got != tt.readBack {
				t.Errorf("read back: %v, want %v", got, tt.readBack)
			}
		})
	}
}

func TestWriteTooBig(t *testing.T) {
	_, err := Write(context.Background(), newMemStore(), bytes.NewReader(message("", 100)), 50, nil)
	if !errors.Is(err, store.ErrTooBig) {
		t.Fatalf("err = %v, want ErrTooBig", err)
	}
}

// TestReindex checks Reindex's orchestration: every listed content gets
// its text, batches of reindexBatch, an anatomy parsed only where the
// stored one is missing or undecodable, missing contents skipped, and
// WaitIndexed at the end.
func TestReindex(t *testing.T) {
	ctx := context.Background()
	st := newMemStore()
	current := map[store.BlobID]bool{}
	for i := range reindexBatch + 10 {
		ref, err := st.WriteBlob(ctx, bytes.NewReader(message(fmt.Sprint("Tue, 3 Jan 2023 10:00:00 +0200 ", i), 10)), -1)
		if err != nil {
			t.Fatal(err)
		}
		switch i % 3 {
		case 0: // none stored
			st.anat[ref.ID] = nil
		case 1: // an older encoding
			st.anat[ref.ID] = []byte{0, 1, 2}
		default:
			root, _ := anatomy.Parse(bytes.NewReader(st.blobs[ref.ID]))
			st.anat[ref.ID] = anatomy.Marshal(root)
			current[ref.ID] = true
		}
	}
	st.anat["gone"] = nil // listed, then removed before it is read
	n, err := Reindex(ctx, st, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if n != reindexBatch+10 || len(st.batches) != 2 || !st.waited {
		t.Fatalf("Reindex = %d in %d batches, waited %v", n, len(st.batches), st.waited)
	}
	for _, batch := range st.batches {
		for _, b := range batch {
			if b.Text == nil || b.Text.Sort.Sent.IsZero() {
				t.Errorf("%s: text %+v", b.ID, b.Text)
			}
			if current[b.ID] != (b.Anatomy == nil) {
				t.Errorf("%s: anatomy %v with a current one stored: %v", b.ID, b.Anatomy != nil, current[b.ID])
			}
		}
	}
}
