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

// startBinary starts a server with msgs in alice's INBOX and returns a
// client that has selected it.
func startBinary(t *testing.T, msgs ...string) *imaptest.Client {
	t.Helper()
	srv := imaptest.StartServer(t)
	for _, m := range msgs {
		appendRaw(t, srv, []byte(m), true)
	}
	c := srv.Dial(t)
	c.ReadLine()
	c.Login("alice", imaptest.Users["alice"])
	c.Send("s SELECT INBOX")
	c.ReadUntilTagged("s")
	return c
}

// fetchRaw sends a command under tag and returns everything up to and
// including the tagged response, CRLFs included, as sent.
func fetchRaw(c *imaptest.Client, tag, cmd string) string {
	c.Send(tag + " " + cmd)
	return strings.Join(c.ReadUntilTagged(tag), "\r\n")
}

// TestBinaryQuotedPrintable: BINARY of a quoted-printable part removes
// soft line breaks (also with transport padding after the "=") and
// padding before line breaks (RFC 2045 §6.7); BINARY.SIZE is the size of
// what BINARY returns and partial ranges are ranges of the decoded bytes.
func TestBinaryQuotedPrintable(t *testing.T) {
	const encoded = "Line one  \r\nsoft=\r\nbreak\t= \t\r\n=41fter pad \r\nx =3D y=\r\n\r\nlast\t\r\n"
	const decoded = "Line one\r\nsoftbreak\tAfter pad\r\nx = y\r\nlast\r\n"
	msg := "Subject: qp\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n" +
		"--b\r\nContent-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
		encoded + "\r\n--b\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\nZGVj\r\nb2RlZA==\r\n--b--\r\n"
	c := startBinary(t, msg)
	n := strconv.Itoa(len(decoded))
	tests := []struct{ cmd, want string }{
		{"FETCH 1 (BINARY.SIZE[1] BINARY.SIZE[2])", "* 1 FETCH (BINARY.SIZE[1] " + n + " BINARY.SIZE[2] 7)"},
		{"FETCH 1 (BINARY.PEEK[1])", "* 1 FETCH (BINARY[1] {" + n + "}\r\n" + decoded + ")"},
		{"FETCH 1 (BINARY.PEEK[2])", "* 1 FETCH (BINARY[2] {7}\r\ndecoded)"},
	}
	for _, o := range []int{0, 1, 7, 8, 9, 10, 19, 20, 33, len(decoded) - 2, len(decoded), len(decoded) + 5} {
		for _, k := range []int{1, 3, 10, 100} {
			lo, hi := min(o, len(decoded)), min(o+k, len(decoded))
			part := decoded[lo:hi]
			cmd := "FETCH 1 (BINARY.PEEK[1]<" + strconv.Itoa(o) + "." + strconv.Itoa(k) + ">)"
			tests = append(tests, struct{ cmd, want string }{cmd,
				"* 1 FETCH (BINARY[1]<" + strconv.Itoa(o) + "> {" + strconv.Itoa(len(part)) + "}\r\n" + part + ")"})
		}
	}
	for i, tt := range tests {
		tag := "t" + strconv.Itoa(i)
		if got, want := fetchRaw(c, tag, tt.cmd), tt.want+"\r\n"+tag+" OK FETCH completed"; got != want {
			t.Errorf("%s:\n got %q\nwant %q", tt.cmd, got, want)
		}
	}
}
