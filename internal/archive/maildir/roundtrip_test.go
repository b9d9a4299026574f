package maildir

import (
	"context"
	"path/filepath"
	"strings"
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
	archivetest.RoundTripBig(t, archivetest.Format{Create: Create, Open: Open}, 30<<20)
}

// TestKeywordSet: the keywords of a mailbox's keyword set that no
// message carries are kept (after the messages' own, within Maildir's 26
// letters) and read back as the mailbox's keywords.
func TestKeywordSet(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	w, err := Create(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	set := []string{"Unused", "Used", "$Later"}
	if err := w.BeginMailbox(ctx, archive.Mailbox{Name: "INBOX", UIDValidity: 7, Keywords: set}); err != nil {
		t.Fatal(err)
	}
	body := "Subject: x\r\n\r\ny\r\n"
	if err := w.Add(ctx, archive.Message{UID: 1, Flags: []string{"Used"}, Size: int64(len(body))}, strings.NewReader(body)); err != nil {
		t.Fatal(err)
	}
	if err := w.EndMailbox(ctx); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	mbs, err := r.Mailboxes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// "Used" got letter a when its message was written; the others follow.
	if len(mbs) != 1 || strings.Join(mbs[0].Keywords, " ") != "Used Unused $Later" {
		t.Fatalf("mailboxes %+v, want INBOX with keywords Used Unused $Later", mbs)
	}
	var flags []string
	if err := r.Messages(ctx, "INBOX", func(m archive.Message) error { flags = m.Flags; return nil }, nil); err != nil {
		t.Fatal(err)
	}
	if strings.Join(flags, " ") != "Used" {
		t.Errorf("message flags %v, want [Used]", flags)
	}
}
