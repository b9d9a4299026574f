package mbox

import (
	"path/filepath"
	"testing"

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
	archivetest.Check(t, r, boxes, archivetest.Options{Subscriptions: true, Flags: true, Zone: true})
}

func TestRoundTripBig(t *testing.T) {
	archivetest.RoundTripBig(t, archivetest.Format{Create: Create, Open: Open}, 30<<20)
}
