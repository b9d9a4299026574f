package searchtext

import (
	"bytes"
	"strings"
	"testing"

	"rookery/internal/anatomy"
)

func TestIndexFold(t *testing.T) {
	for _, c := range [][2]string{
		{"meeting", "MEETING"}, {"\u212Aelvin", "kelvin"}, {"σίσυφος", "ΣΊΣΥΦΟΣ"}, {"σίσυφοσ", "σίσυφος"},
		{"Jörg", "JÖRG"}, {"ſ", "s"},
	} {
		if a, b := IndexFold(c[0]), IndexFold(c[1]); a != b {
			t.Errorf("IndexFold(%q) = %q, IndexFold(%q) = %q", c[0], a, c[1], b)
		}
		if !strings.EqualFold(c[0], c[1]) {
			t.Errorf("%q and %q are not equal under simple folding", c[0], c[1])
		}
	}
	if IndexFold("abc") == IndexFold("abd") {
		t.Error("different strings fold alike")
	}
}

func TestExtract(t *testing.T) {
	msg := "From: =?ISO-8859-1?Q?J=F6rg?= <j@example.org>\r\nCc: <c (note)@ (note) example.org>, crew:;\r\nSubject: =?UTF-8?B?R3LDvMOfZQ==?=\r\n" +
		"References: <a@x>\r\n <b@x>\r\nX-Label: work\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n" +
		"Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nK=F6ln\r\n" +
		"--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nAAEC\r\n" +
		"--b\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\nPHA+aGk8L3A+\r\n--b--\r\n"
	root := anatomy.ParseBytes([]byte(msg))
	text, err := Extract(bytes.NewReader([]byte(msg)), root)
	if err != nil {
		t.Fatal(err)
	}
	if want := IndexFold("From: Jörg <j@example.org>\nJörg <j@example.org>\n"); text.From != want {
		t.Errorf("From %q, want %q", text.From, want)
	}
	// The address text: what FROM/TO/CC/BCC search, without comments.
	if want := IndexFold("Cc: <c (note)@ (note) example.org>, crew:;\nc@example.org, crew:;\n"); text.Cc != want {
		t.Errorf("Cc %q, want %q", text.Cc, want)
	}
	if text.Version != Version || text.To != "" {
		t.Errorf("version %d, To %q", text.Version, text.To)
	}
	if text.Sort.Subject != "Grüße" || text.Sort.References != "<a@x> <b@x>" {
		t.Errorf("sort fields %+v", text.Sort)
	}
	if want := IndexFold("Köln\n<p>hi</p>"); text.Body != want {
		t.Errorf("body %q, want %q", text.Body, want)
	}
	if !strings.Contains(text.Other, IndexFold("X-Label: work")) {
		t.Errorf("other %q", text.Other)
	}
}

// BenchmarkExtract measures the text extraction ingest.Write does for the
// index, on a ~6 KB quoted-printable message.
func BenchmarkExtract(b *testing.B) {
	var body strings.Builder
	for i := range 100 {
		body.WriteString("Gr=C3=BC=C3=9Fe aus K=C3=B6ln, quarterly report line ")
		body.WriteString(strings.Repeat("x", i%7))
		body.WriteString("\r\n")
	}
	msg := []byte("From: =?UTF-8?Q?J=C3=B6rg?= <j@example.org>\r\nTo: a@example.com\r\nSubject: hello\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" + body.String())
	root := anatomy.ParseBytes(msg)
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		if _, err := Extract(bytes.NewReader(msg), root); err != nil {
			b.Fatal(err)
		}
	}
}
