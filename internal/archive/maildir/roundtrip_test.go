package maildir

import (
	"context"
	"path/filepath"
	"testing"

	"rookery/internal/archive"
	"rookery/internal/archive/archivetest"
)

func TestRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	w, err := Create(dir)
	if err != nil {
		t.Fatal(err)
	}
	boxes := archivetest.Fixture()
	archivetest.Write(t, w, boxes)
	r, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	archivetest.Check(t, r, boxes, archivetest.Options{UIDs: true, Subscriptions: true, Flags: true})
}

func TestRoundTripBig(t *testing.T) {
	const size = 30 << 20
	dir := filepath.Join(t.TempDir(), "out")
	w, err := Create(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := w.BeginMailbox(ctx, archive.Mailbox{Name: "Big"}); err != nil {
		t.Fatal(err)
	}
	if err := w.Add(ctx, archive.Message{UID: 1, Size: size}, archivetest.NewBigMessage(size)); err != nil {
		t.Fatal(err)
	}
	if err := w.EndMailbox(ctx); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	want, _, _ := archivetest.Hash(archivetest.NewBigMessage(size))
	r, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	err = r.Messages(ctx, "Big", func(m archive.Message) error {
		n++
		rc, err := m.Open()
		if err != nil {
			return err
		}
		defer rc.Close()
		got, gn, err := archivetest.Hash(rc)
		if err != nil {
			return err
		}
		if got != want || gn != size || m.Size != size {
			t.Errorf("big message differs (%d bytes, Size %d)", gn, m.Size)
		}
		return nil
	}, nil)
	if err != nil || n != 1 {
		t.Fatalf("messages: %d, %v", n, err)
	}
}
