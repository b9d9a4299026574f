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

// TestBinaryUnknownCTE: BINARY and BINARY.SIZE of a part whose
// Content-Transfer-Encoding is not 7bit, 8bit, binary (or absent),
// base64 or quoted-printable fail the whole FETCH with NO [UNKNOWN-CTE]
// (RFC 3516 §4.2) instead of answering the bytes as if decoded; also for
// a container part claiming an encoding and a value that is not one token.
// Messages answered before the failing one keep their responses, and the
// implicit \Seen of BINARY[] is set only on them.
func TestBinaryUnknownCTE(t *testing.T) {
	embedded := "Subject: inner\r\n\r\nhello inner\r\n"
	msgs := []string{
		"Subject: plain\r\n\r\nplain text\r\n",
		"Subject: uu\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\nbegin 644 f\r\nend\r\n",
		"Subject: mixed\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n" +
			"--b\r\nContent-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n" +
			"--b\r\nContent-Transfer-Encoding: 7bit garbage\r\n\r\nraw\r\n" +
			"--b\r\nContent-Type: multipart/alternative; boundary=c\r\nContent-Transfer-Encoding: x-packed\r\n\r\n--c\r\n\r\ninner\r\n--c--\r\n" +
			"--b\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
			"U3ViamVjdDogaW5uZXINCg0KaGVsbG8gaW5uZXINCg==\r\n" +
			"--b\r\nContent-Transfer-Encoding: \"base64\"\r\n\r\naGVsbG8=\r\n--b--\r\n",
		"Subject: b64\r\nContent-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n",
	}
	c := startBinary(t, msgs...)
	const no = `NO [UNKNOWN-CTE] Unknown Content-Transfer-Encoding `
	tests := []struct{ cmd, want string }{
		{"FETCH 2 (BINARY.PEEK[1])", no + `"x-uuencode"`},
		{"FETCH 2 (BINARY.SIZE[1])", no + `"x-uuencode"`},
		{"FETCH 2 (BINARY.PEEK[1]<0.3>)", no + `"x-uuencode"`},
		{"FETCH 2 (BODY.PEEK[1])", "* 2 FETCH (BODY[1] {18}\r\nbegin 644 f\r\nend\r\n)\r\n%s OK FETCH completed"},
		{"FETCH 3 (BINARY.PEEK[1] BINARY.SIZE[1])", "* 3 FETCH (BINARY[1] {5}\r\nhello BINARY.SIZE[1] 5)\r\n%s OK FETCH completed"},
		{"FETCH 3 (BINARY.PEEK[2])", no + `"7bit garbage"`},
		{"FETCH 3 (BINARY.PEEK[1] BINARY.PEEK[2])", no + `"7bit garbage"`},
		{"FETCH 3 (BINARY.SIZE[3])", no + `"x-packed"`},
		{"FETCH 3 (BINARY.PEEK[3.1])", "* 3 FETCH (BINARY[3.1] {5}\r\ninner)\r\n%s OK FETCH completed"},
		{"FETCH 3 (BINARY.SIZE[4] BINARY.PEEK[4])", "* 3 FETCH (BINARY.SIZE[4] " + strconv.Itoa(len(embedded)) + " BINARY[4] {" + strconv.Itoa(len(embedded)) + "}\r\n" + embedded + ")\r\n%s OK FETCH completed"},
		{"FETCH 3 (BINARY.PEEK[5])", no + `"\"base64\""`},
		// The whole message is sent as stored (testdata/mime/README.md).
		{"FETCH 2 (BINARY.SIZE[])", "* 2 FETCH (BINARY.SIZE[] " + strconv.Itoa(len(msgs[1])) + ")\r\n%s OK FETCH completed"},
		// Several messages: the first is answered (and marked \Seen),
		// the second fails the command, the others are not reached.
		{"FETCH 1:4 (BINARY[1])", "* 1 FETCH (BINARY[1] {12}\r\nplain text\r\n FLAGS (\\Seen \\Recent))\r\n%s " + no + `"x-uuencode"`},
		{"FETCH 1:4 (FLAGS)", "* 1 FETCH (FLAGS (\\Seen \\Recent))\r\n* 2 FETCH (FLAGS (\\Recent))\r\n* 3 FETCH (FLAGS (\\Recent))\r\n* 4 FETCH (FLAGS (\\Recent))\r\n%s OK FETCH completed"},
	}
	for i, tt := range tests {
		tag := "t" + strconv.Itoa(i)
		want := tt.want
		if strings.HasPrefix(want, "NO ") {
			want = tag + " " + want
		} else {
			want = strings.ReplaceAll(want, "%s", tag)
		}
		if got := fetchRaw(c, tag, tt.cmd); got != want {
			t.Errorf("%s:\n got %q\nwant %q", tt.cmd, got, want)
		}
	}
}

// TestAppendBinary: APPEND with a literal8 (RFC 3516 §4.3) stores binary
// parts in base64, so BODY sections never carry NUL and RFC822.SIZE,
// BODYSTRUCTURE and BODY[] agree, while BINARY returns the original bytes
// (NUL, bare CR and LF, 8-bit) with their size, in a literal8. A NUL left
// in another part is sent as 0x80 by BODY and as is by BINARY. A plain
// literal is stored as sent.
func TestAppendBinary(t *testing.T) {
	srv := imaptest.StartServer(t)
	c := srv.Dial(t)
	c.ReadLine()
	c.Login("alice", imaptest.Users["alice"])
	const head = "From: a@example.org\r\nMIME-Version: 1.0\r\n"
	const data = "\x00\r-\xe4\n\r\n\n\x00"
	one := head + "Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n" + data
	multi := head + "Content-Type: multipart/mixed; boundary=b\r\n\r\n" +
		"--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n" +
		"--b\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: binary\r\n\r\n" + data + "\r\n" +
		"--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nnul\x00\xc3\xa4\r\n--b--\r\n"
	plain := head + "Content-Transfer-Encoding: binary\r\n\r\n8-bit \xe4 as sent\r\n"
	for i, m := range []struct {
		msg, lit string
	}{{one, "~{%d+}"}, {multi, "~{%d+}"}, {plain, "{%d+}"}} {
		tag := "a" + strconv.Itoa(i)
		c.SendRaw([]byte(tag + " APPEND INBOX " + strings.Replace(m.lit, "%d", strconv.Itoa(len(m.msg)), 1) + "\r\n" + m.msg + "\r\n"))
		c.Expect(t, tag+" OK [APPENDUID * *] APPEND completed")
	}
	c.Send("s EXAMINE INBOX")
	c.ReadUntilTagged("s")

	const b64 = "AA0t5AoNCgoA" // data in base64
	oneStored := head + "Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n" + b64
	n := strconv.Itoa(len(data))
	tests := []struct{ cmd, want string }{
		{"FETCH 1 (RFC822.SIZE BODYSTRUCTURE)", "* 1 FETCH (RFC822.SIZE " + strconv.Itoa(len(oneStored)) +
			` BODYSTRUCTURE ("APPLICATION" "OCTET-STREAM" NIL NIL NIL "BASE64" 12 NIL NIL NIL NIL))`},
		{"FETCH 1 (BODY.PEEK[])", "* 1 FETCH (BODY[] {" + strconv.Itoa(len(oneStored)) + "}\r\n" + oneStored + ")"},
		{"FETCH 1 (BODY.PEEK[1])", "* 1 FETCH (BODY[1] {12}\r\n" + b64 + ")"},
		{"FETCH 1 (BINARY.SIZE[1] BINARY.PEEK[1])", "* 1 FETCH (BINARY.SIZE[1] " + n + " BINARY[1] ~{" + n + "}\r\n" + data + ")"},
		{"FETCH 1 (BINARY.PEEK[1]<2.4>)", "* 1 FETCH (BINARY[1]<2> ~{4}\r\n" + data[2:6] + ")"},
		{"FETCH 2 (BODY.PEEK[2.MIME] BODY.PEEK[2])", "* 2 FETCH (BODY[2.MIME] {62}\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\n BODY[2] {12}\r\n" + b64 + ")"},
		{"FETCH 2 (BINARY.SIZE[2] BINARY.PEEK[2])", "* 2 FETCH (BINARY.SIZE[2] " + n + " BINARY[2] ~{" + n + "}\r\n" + data + ")"},
		{"FETCH 2 (BODY.PEEK[1] BINARY.PEEK[1])", "* 2 FETCH (BODY[1] {2}\r\nhi BINARY[1] {2}\r\nhi)"},
		{"FETCH 2 (BODY.PEEK[3] BINARY.PEEK[3])", "* 2 FETCH (BODY[3] {6}\r\nnul\x80\xc3\xa4 BINARY[3] ~{6}\r\nnul\x00\xc3\xa4)"},
		{"FETCH 3 (BODY.PEEK[1] BINARY.PEEK[1])", "* 3 FETCH (BODY[1] {17}\r\n8-bit \xe4 as sent\r\n BINARY[1] {17}\r\n8-bit \xe4 as sent\r\n)"},
	}
	for i, tt := range tests {
		tag := "t" + strconv.Itoa(i)
		if got, want := fetchRaw(c, tag, tt.cmd), tt.want+"\r\n"+tag+" OK FETCH completed"; got != want {
			t.Errorf("%s:\n got %q\nwant %q", tt.cmd, got, want)
		}
	}
	// The whole multipart: the same parts, the binary one in base64, and
	// its size is what BODY[] sends.
	got := fetchRaw(c, "w", "FETCH 2 (RFC822.SIZE BODY.PEEK[])")
	stored := strings.Replace(strings.Replace(multi, "binary", "base64", 1), data, b64, 1)
	stored = strings.Replace(stored, "nul\x00", "nul\x80", 1)
	if want := "* 2 FETCH (RFC822.SIZE " + strconv.Itoa(len(stored)) + " BODY[] {" + strconv.Itoa(len(stored)) + "}\r\n" + stored + ")\r\nw OK FETCH completed"; got != want {
		t.Errorf("BODY[]:\n got %q\nwant %q", got, want)
	}
}
