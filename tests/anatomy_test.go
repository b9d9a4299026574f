package tests

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/emersion/go-imap/v2"
)

// TestCorpusWithGoIMAP appends every message of testdata/mime and checks,
// with an independent client (go-imap v2), that ENVELOPE and the extended
// BODYSTRUCTURE decode, and that every part the structure names can be
// fetched with a size equal to the structure's (BODY[part], its MIME
// header, BINARY.SIZE for identity encodings).
func TestCorpusWithGoIMAP(t *testing.T) {
	files, err := filepath.Glob("../testdata/mime/*.eml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus: %v", err)
	}
	s := startServer(t, testUser{"mime", "mime secret"})
	c := login(t, s, implicitTLS, "mime", nil)
	must(t, c.Create("corpus", nil).Wait(), "CREATE")
	if _, err := c.Select("corpus", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if len(raw) == 0 {
			continue // an empty APPEND is refused
		}
		name := filepath.Base(f)
		data := appendMsg(t, c, "corpus", testMessage{raw: raw})
		uid := imap.UIDSetNum(data.UID)
		msgs, err := c.Fetch(uid, &imap.FetchOptions{
			Envelope:      true,
			BodyStructure: &imap.FetchItemBodyStructure{Extended: true},
			RFC822Size:    true,
			BodySection: []*imap.FetchItemBodySection{
				{Specifier: imap.PartSpecifierHeader, Peek: true},
				{Specifier: imap.PartSpecifierHeader, HeaderFields: []string{"From", "Subject", "Date"}, Peek: true},
			},
		}).Collect()
		if err != nil || len(msgs) != 1 {
			t.Fatalf("%s: FETCH: %v (%d messages)", name, err, len(msgs))
		}
		m := msgs[0]
		if m.Envelope == nil || m.BodyStructure == nil || m.RFC822Size != int64(len(raw)) {
			t.Fatalf("%s: envelope %v structure %v size %d", name, m.Envelope, m.BodyStructure, m.RFC822Size)
		}
		m.BodyStructure.Walk(func(path []int, part imap.BodyStructure) bool {
			single, ok := part.(*imap.BodyStructureSinglePart)
			if !ok || len(path) == 0 {
				return true
			}
			sec := &imap.FetchItemBodySection{Part: path, Peek: true}
			mime := &imap.FetchItemBodySection{Part: path, Specifier: imap.PartSpecifierMIME, Peek: true}
			opts := &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{sec, mime}}
			identity := single.Encoding == "" || single.Encoding == "7BIT" || single.Encoding == "8BIT" || single.Encoding == "BINARY"
			var bsize *imap.FetchItemBinarySectionSize
			if identity {
				bsize = &imap.FetchItemBinarySectionSize{Part: path}
				opts.BinarySectionSize = []*imap.FetchItemBinarySectionSize{bsize}
			}
			got, err := c.Fetch(uid, opts).Collect()
			if err != nil || len(got) != 1 {
				t.Errorf("%s: FETCH BODY[%v]: %v", name, path, err)
				return false
			}
			body := got[0].FindBodySection(sec)
			if int64(len(body)) != int64(single.Size) {
				t.Errorf("%s: BODY[%v] has %d bytes, BODYSTRUCTURE says %d", name, path, len(body), single.Size)
			}
			if got[0].FindBodySection(mime) == nil && single.Size > 0 {
				t.Errorf("%s: BODY[%v.MIME] missing", name, path)
			}
			if identity {
				var n uint32
				for _, b := range got[0].BinarySectionSize {
					n = b.Size
				}
				if n != single.Size {
					t.Errorf("%s: BINARY.SIZE[%v] = %d, want %d", name, path, n, single.Size)
				}
			}
			return true
		})
	}
}
