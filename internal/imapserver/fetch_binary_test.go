package imapserver_test

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"rookery/internal/imaptest"
)

// TestBinaryWholeMessage pins BINARY[] of a whole message: the message as
// stored, its BINARY.SIZE[] its RFC822.SIZE, while BINARY[n] decodes part n
// (reasons in testdata/mime/README.md).
func TestBinaryWholeMessage(t *testing.T) {
	srv := imaptest.StartServer(t)
	msg, err := os.ReadFile("../../testdata/mime/03-alternative.eml")
	if err != nil {
		t.Fatal(err)
	}
	appendRaw(t, srv, msg, true)
	c := srv.Dial(t)
	c.ReadLine()
	c.Login("alice", imaptest.Users["alice"])
	c.Send("s SELECT INBOX")
	c.ReadUntilTagged("s")
	n := strconv.Itoa(len(msg))
	c.Send("a FETCH 1 (RFC822.SIZE BINARY.SIZE[] BINARY.SIZE[2])")
	c.Expect(t, "* 1 FETCH (RFC822.SIZE "+n+" BINARY.SIZE[] "+n+" BINARY.SIZE[2] 60)", "a OK *")
	c.Send("b FETCH 1 (BINARY.PEEK[])")
	got := strings.Join(c.ReadUntilTagged("b"), "\r\n")
	want := "* 1 FETCH (BINARY[] {" + n + "}\r\n" + string(msg) + ")\r\nb OK FETCH completed"
	if got != want {
		t.Errorf("BINARY[]:\n%q\nwant\n%q", got, want)
	}
}
