package imap

import (
	"bufio"
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"rookery/internal/anatomy"
	"rookery/internal/imapwire"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/mime/golden")

// render writes ENVELOPE, BODY and BODYSTRUCTURE of msg as a FETCH would.
func render(msg []byte) string {
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	e := imapwire.NewEncoder(w)
	root := anatomy.ParseBytes(msg)
	e.Raw("ENVELOPE ")
	WriteEnvelope(e, root.Envelope)
	e.CRLF()
	e.Raw("BODY ")
	WriteBodyStructure(e, root, false)
	e.CRLF()
	e.Raw("BODYSTRUCTURE ")
	WriteBodyStructure(e, root, true)
	e.CRLF()
	_ = e.Flush()
	return buf.String()
}

// TestGolden compares the rendering of every corpus message with
// testdata/mime/golden/NAME.txt (see testdata/mime/README.md for which
// were checked against Dovecot).
func TestGolden(t *testing.T) {
	files, _ := filepath.Glob("../../testdata/mime/*.eml")
	if len(files) == 0 {
		t.Fatal("no corpus")
	}
	for _, f := range files {
		msg, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		got := render(msg)
		golden := filepath.Join("../../testdata/mime/golden", strings.TrimSuffix(filepath.Base(f), ".eml")+".txt")
		if *update {
			if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run with -update)", err)
		}
		if got != string(want) {
			t.Errorf("%s:\n got: %s\nwant: %s", filepath.Base(f), got, want)
		}
	}
}

func TestEnvelopeDefaults(t *testing.T) {
	got := render([]byte("Subject:\r\n\r\n"))
	want := "ENVELOPE (NIL \"\" NIL NIL NIL NIL NIL NIL NIL NIL)\r\n" +
		"BODY (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 0 0)\r\n" +
		"BODYSTRUCTURE (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 0 0 NIL NIL NIL NIL)\r\n"
	if got != want {
		t.Fatalf("got %q\nwant %q", got, want)
	}
}
