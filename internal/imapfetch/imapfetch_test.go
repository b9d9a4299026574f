package imapfetch

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"rookery/internal/anatomy"
)

func load(t testing.TB, name string) ([]byte, *anatomy.Part) {
	t.Helper()
	msg, err := os.ReadFile("../../testdata/mime/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return msg, anatomy.ParseBytes(msg)
}

func section(msg []byte, c Content) string {
	if c.Fields != nil {
		h, err := FilterHeader(bytes.NewReader(msg[c.Off:c.Off+c.Len]), c.Fields, c.Not)
		if err != nil {
			panic(err)
		}
		return string(h)
	}
	return string(msg[c.Off : c.Off+c.Len])
}

// TestResolve checks sections of the nested corpus message; the expected
// values are Dovecot 2.3.19's answers.
func TestResolve(t *testing.T) {
	msg, root := load(t, "07-nested-rfc822.eml")
	tests := []struct {
		s    Section
		want string
	}{
		{Section{Part: []int{1}}, "Forwarded below."},
		{Section{Part: []int{1, 1}}, "Forwarded below."},
		{Section{Part: []int{1}, Specifier: "MIME"}, "Content-Type: text/plain\r\n\r\n"},
		{Section{Part: []int{2, 1}}, "inner plain"},
		{Section{Part: []int{2, 2}}, "<p>inner html</p>"},
		{Section{Part: []int{2, 3}}, ""},
		{Section{Part: []int{3}}, ""},
		{Section{Part: []int{2}, Specifier: "HEADER.FIELDS", Fields: []string{"subject"}}, "Subject: inner\r\n\r\n"},
		{Section{Specifier: "HEADER.FIELDS", Fields: []string{"FROM", "SUBJECT", "DATE"}}, "From: fwd@example.org\r\nSubject: Fwd: inner\r\n\r\n"},
		{Section{Specifier: "HEADER.FIELDS.NOT", Fields: []string{"FROM", "SUBJECT"}}, "To: bob@example.com\r\nContent-Type: multipart/mixed; boundary=\"x\"\r\n\r\n"},
		{Section{Part: []int{1}, Specifier: "HEADER"}, ""},
	}
	for _, tt := range tests {
		if got := section(msg, Resolve(root, tt.s)); got != tt.want {
			t.Errorf("%+v: got %q want %q", tt.s, got, tt.want)
		}
	}
	if got := section(msg, Resolve(root, Section{Part: []int{2}, Specifier: "TEXT"})); !strings.HasPrefix(got, "--y\r\n") || !strings.HasSuffix(got, "--y--\r\n") {
		t.Errorf("2.TEXT: %q", got)
	}
	msg, root = load(t, "01-plain.eml")
	if got := section(msg, Resolve(root, Section{Part: []int{1, 1}})); got != "" {
		t.Errorf("1.1 of a one-part message: %q", got)
	}
	if got := section(msg, Resolve(root, Section{Part: []int{1}})); got != "Hello Bob,\r\njust a plain message.\r\n" {
		t.Errorf("1 of a one-part message: %q", got)
	}
}

func TestFilterHeaderFolding(t *testing.T) {
	h := "Subject: one\r\n two\r\nX-A: 1\r\nx-a: 2\r\nTo: t\r\n\r\n"
	got, _ := FilterHeader(strings.NewReader(h), []string{"X-A", "subject"}, false)
	if string(got) != "Subject: one\r\n two\r\nX-A: 1\r\nx-a: 2\r\n\r\n" {
		t.Fatalf("got %q", got)
	}
	got, _ = FilterHeader(strings.NewReader(h), []string{"x-a"}, true)
	if string(got) != "Subject: one\r\n two\r\nTo: t\r\n\r\n" {
		t.Fatalf("NOT: got %q", got)
	}
	long := "X-Long: " + strings.Repeat("y", 10000) + "\r\nA: b\r\n\r\n"
	got, _ = FilterHeader(strings.NewReader(long), []string{"x-long"}, false)
	if string(got) != long[:len(long)-8]+"\r\n" {
		t.Fatalf("long line: %d bytes", len(got))
	}
}

// TestFilterHeaderBlankLine: the blank line ending a header is kept in
// HEADER.FIELDS(.NOT) only if the header has one (RFC 3501 §6.4.5: not
// for "a message which has no body and no blank line").
func TestFilterHeaderBlankLine(t *testing.T) {
	tests := []struct {
		name, header string
		fields       []string
		not          bool
		want         string
	}{
		{"with blank line", "From: a\r\nSubject: x\r\n\r\n", []string{"subject"}, false, "Subject: x\r\n\r\n"},
		{"with blank line, NOT", "From: a\r\nSubject: x\r\n\r\n", []string{"subject"}, true, "From: a\r\n\r\n"},
		{"with blank line, none kept", "From: a\r\n\r\n", []string{"x-none"}, false, "\r\n"},
		{"LF blank line", "From: a\nSubject: x\n\n", []string{"from"}, false, "From: a\n\r\n"},
		{"only a blank line", "\r\n", []string{"from"}, true, "\r\n"},
		{"no blank line", "From: a\r\nSubject: x\r\n", []string{"subject"}, false, "Subject: x\r\n"},
		{"no blank line, NOT", "From: a\r\nSubject: x\r\n", []string{"subject"}, true, "From: a\r\n"},
		{"no blank line, none kept", "From: a\r\nSubject: x\r\n", []string{"x-none"}, false, ""},
		{"no line break at the end", "From: a\r\nSubject: x", []string{"subject"}, false, "Subject: x\r\n"},
		{"long last line without line break", "S: " + strings.Repeat("y", 5000), []string{"s"}, false, "S: " + strings.Repeat("y", 5000) + "\r\n"},
		{"empty header", "", []string{"from"}, true, ""},
	}
	for _, tt := range tests {
		got, err := FilterHeader(strings.NewReader(tt.header), tt.fields, tt.not)
		if err != nil || string(got) != tt.want {
			t.Errorf("%s: got %q, %v; want %q", tt.name, got, err, tt.want)
		}
	}
}

func decodeAll(t *testing.T, in, enc string, chunk int) string {
	t.Helper()
	d, err := NewDecoder(&chunkReader{s: in, n: chunk}, enc)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(d)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

type chunkReader struct {
	s string
	n int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if c.s == "" {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), c.n)], c.s)
	c.s = c.s[n:]
	return n, nil
}

func TestDecoders(t *testing.T) {
	for _, chunk := range []int{1, 2, 3, 7, 4096} {
		if got := decodeAll(t, "SGVs\r\nbG8g d29y\tbGQ=\r\nignored", "BASE64", chunk); got != "Hello world" {
			t.Errorf("base64/%d: %q", chunk, got)
		}
		if got := decodeAll(t, "Caf=E9 cr=E8me=20\r\nsoft=\r\nbreak and =3D sign =ZZ=\nend=", "quoted-printable", chunk); got != "Caf\xe9 cr\xe8me \r\nsoftbreak and = sign =ZZend" {
			t.Errorf("qp/%d: %q", chunk, got)
		}
	}
	if _, err := NewDecoder(strings.NewReader(""), "x-uuencode"); err != ErrUnknownCTE {
		t.Fatalf("uuencode: %v", err)
	}
	if n, _ := DecodedSize(strings.NewReader("AAAA"), "base64"); n != 3 {
		t.Fatalf("size %d", n)
	}
}

// TestQuotedPrintable covers RFC 2045 §6.7: soft line breaks (also with
// transport padding between "=" and the line break), padding before hard
// line breaks and at the end deleted, hard line breaks as CRLF, malformed
// escapes as sent; at every way of cutting the input into reads.
func TestQuotedPrintable(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"escapes", "a=3Db=3dc=E9", "a=b=c\xe9"},
		{"soft break", "ab=\r\ncd", "abcd"},
		{"soft break, LF", "ab=\ncd", "abcd"},
		{"soft break with padding", "ab= \t \r\ncd", "abcd"},
		{"soft break with padding, LF", "ab=\t\ncd", "abcd"},
		{"white space before the soft break is data", "foo =\r\n=62", "foo b"},
		{"white space before padded soft break is data", "foo = \t\r\nbar", "foo bar"},
		{"padding before a hard break", "hello  \r\nbar\t\r\n", "hello\r\nbar\r\n"},
		{"padding before a bare LF", "a \nb", "a\r\nb"},
		{"padding at the end", "xx \t ", "xx"},
		{"final = is a soft break", "xx=", "xx"},
		{"final = with padding", "xx= \t", "xx"},
		{"inner white space is data", "a \t b", "a \t b"},
		{"encoded white space is data", "a=20\r\nb=09", "a \r\nb\t"},
		{"empty lines", "a\r\n\r\n\nb", "a\r\n\r\n\r\nb"},
		{"malformed: = then data", "a=zzb", "a=zzb"},
		{"malformed: = then one hex digit", "a=4", "a=4"},
		{"malformed: = then one hex digit and CRLF", "a=4\r\nb", "a=4\r\nb"},
		{"malformed: = then white space then data", "a= \tb", "a= \tb"},
		{"malformed: = then white space then padding", "a= x \r\n", "a= x\r\n"},
		{"bare CR is data", "a\rb\r\r\nc", "a\rb\r\r\nc"},
		{"white space before a bare CR is data", "a \rb", "a \rb"},
		{"final CR", "a \r", "a \r"},
		{"= then CR then data", "a=\rb", "a=\rb"},
		{"= padding CR then data", "a= \rb", "a= \rb"},
		{"only a soft break", "=\r\n", ""},
		{"padding longer than a line is data", strings.Repeat(" ", 2000) + "\r\n", strings.Repeat(" ", 2000-2000%maxPad) + "\r\n"},
		// The message of RFC 2045 §6.7 style transport padding, line by line.
		{"mixed", "hello  \r\nbar=\r\n\r\nfoo\t=\r\nbar\r\nfoo\t \t= \r\n=62\r\nfoo = \t\r\nbar\r\nfoo =\r\n=62\r\nfoo  \r\nbar=\r\n\r\nfoo_bar\r\n",
			"hello\r\nbar\r\nfoo\tbar\r\nfoo\t \tb\r\nfoo bar\r\nfoo b\r\nfoo\r\nbar\r\nfoo_bar\r\n"},
	}
	for _, tt := range tests {
		for _, chunk := range []int{1, 2, 3, 5, 4096} {
			if got := decodeAll(t, tt.in, "quoted-printable", chunk); got != tt.want {
				t.Errorf("%s/%d: got %q want %q", tt.name, chunk, got, tt.want)
			}
		}
		if n, err := DecodedSize(strings.NewReader(tt.in), "QUOTED-PRINTABLE"); err != nil || n != int64(len(tt.want)) {
			t.Errorf("%s: size %d, %v; want %d", tt.name, n, err, len(tt.want))
		}
	}
}

func TestPreview(t *testing.T) {
	msg, root := load(t, "03-alternative.eml")
	got, err := Preview(bytes.NewReader(msg), root)
	if err != nil || got != "Grüße, this is soft broken text." {
		t.Fatalf("preview %q %v", got, err)
	}
	html := "Content-Type: text/html\r\n\r\n<html><head><title>T</title><style>p{}</style></head><body><p>Hi &amp; bye&#33;</p><script>x</script>" + strings.Repeat(" word", 200) + "</body></html>"
	got, _ = Preview(strings.NewReader(html), anatomy.ParseBytes([]byte(html)))
	if !strings.HasPrefix(got, "Hi & bye! word word") || len([]rune(got)) > PreviewMax {
		t.Fatalf("html preview %q", got)
	}
}

func FuzzSection(f *testing.F) {
	f.Add([]byte("Subject: a\r\n b\r\nX: y\r\n\r\nbody"), "subject", uint8(1), uint8(0))
	f.Add([]byte("Content-Type: multipart/mixed; boundary=q\r\n\r\n--q\r\nContent-Transfer-Encoding: base64\r\n\r\nQUJD\r\n--q--"), "x", uint8(1), uint8(1))
	f.Fuzz(func(t *testing.T, msg []byte, field string, part, mode uint8) {
		root := anatomy.ParseBytes(msg)
		s := Section{Part: []int{int(part%4) + 1}}
		switch mode % 4 {
		case 1:
			s.Specifier = "MIME"
		case 2:
			s.Specifier, s.Fields = "HEADER.FIELDS", []string{field}
		case 3:
			s.Specifier, s.Fields = "HEADER.FIELDS.NOT", []string{field}
		}
		c := Resolve(root, s)
		if c.Off < 0 || c.Len < 0 || c.Off+c.Len > int64(len(msg)) {
			t.Fatalf("range [%d,+%d) of %d", c.Off, c.Len, len(msg))
		}
		h, err := FilterHeader(bytes.NewReader(msg[c.Off:c.Off+c.Len]), c.Fields, c.Not)
		if err != nil || len(h) > 0 && !bytes.HasSuffix(h, []byte("\r\n")) {
			t.Fatalf("filter: %q %v", h, err)
		}
		if c.Fields != nil {
			if h2, err := FilterHeaderAt(bytes.NewReader(msg), c.Off, c.Len, c.Fields, c.Not); err != nil || !bytes.Equal(h, h2) {
				t.Fatalf("FilterHeaderAt %q, %v; FilterHeader %q", h2, err, h)
			}
		}
		if c.Part != nil {
			for _, enc := range []string{"base64", "quoted-printable"} {
				d, _ := NewDecoder(bytes.NewReader(msg[c.Off:c.Off+c.Len]), enc)
				b, _ := io.ReadAll(d)
				// Quoted-printable writes a bare LF as CRLF.
				if len(b) > 2*int(c.Len) {
					t.Fatalf("%s decoded %d > 2*%d", enc, len(b), c.Len)
				}
			}
		}
		_, _ = Preview(bytes.NewReader(msg), root)
	})
}

// FuzzDecode: decoding does not depend on how reads cut the input (sizes
// and partial ranges rely on it) and grows at most twice (a bare LF
// becomes CRLF in quoted-printable).
func FuzzDecode(f *testing.F) {
	f.Add("hello  \r\nbar=\r\n\r\nfoo\t \t= \r\n=62\r\nfoo = \t\r\nbar", true, uint8(3))
	f.Add("a=\r= \r\n=4\n=zz \t\n  =", true, uint8(1))
	f.Add("SGVs\r\nbG8g d29y\tbGQ=\r\nignored", false, uint8(2))
	f.Fuzz(func(t *testing.T, in string, qp bool, chunk uint8) {
		enc := "base64"
		if qp {
			enc = "quoted-printable"
		}
		d, err := NewDecoder(strings.NewReader(in), enc)
		if err != nil {
			t.Fatal(err)
		}
		whole, err := io.ReadAll(d)
		if err != nil {
			t.Fatal(err)
		}
		if got := decodeAll(t, in, enc, int(chunk%16)+1); got != string(whole) {
			t.Fatalf("chunked %q, whole %q", got, whole)
		}
		if len(whole) > 2*len(in) {
			t.Fatalf("decoded %d bytes of %d", len(whole), len(in))
		}
	})
}

// TestFilterHeaderAt checks that the in-place filter returns what the
// streaming one does: folded and long lines, a field name longer than the
// streaming filter's buffer, 8-bit names, a last line without a break,
// headers with and without the blank line, and a block too large to be
// filtered in place.
func TestFilterHeaderAt(t *testing.T) {
	long := "X-Long: " + strings.Repeat("v", 9000) + "\r\n"
	longName := strings.Repeat("N", 5000) + ": v\r\n"
	big := strings.Repeat("X-Pad: "+strings.Repeat("p", 70)+"\r\n", 1000) + "Subject: big\r\n\r\n"
	headers := []string{
		"",
		"\r\n",
		"Subject: a\r\n b\r\nFrom: x\r\n\r\n",
		"subject : spaced\r\nX-A: 1\r\n\tcont\r\nTo: y",
		" leading continuation\r\nSubject: s\r\n\n",
		"no colon line\r\nSubject: s\nFrom: bare lf\n\n",
		long + "Subject: after long\r\n\r\n",
		longName + "Subject: s\r\n",
		"Sübject: 8-bit\r\nSUBJECT: upper\r\n\r\n",
		"\u212aelvin: sign\r\nKelvin: k\r\n\r\n",
		big,
	}
	fieldSets := [][]string{{"subject"}, {"SUBJECT", "from"}, {"x-long", "to"}, {"kelvin"}, {"sübject"}, {strings.Repeat("n", 5000)}, {}}
	for _, h := range headers {
		msg := "Prefix-Bytes\r\n" + h
		off := int64(len("Prefix-Bytes\r\n"))
		for _, fields := range fieldSets {
			for _, not := range []bool{false, true} {
				want, err := FilterHeader(strings.NewReader(h), fields, not)
				if err != nil {
					t.Fatal(err)
				}
				got, err := FilterHeaderAt(strings.NewReader(msg), off, int64(len(h)), fields, not)
				if err != nil || !bytes.Equal(got, want) {
					t.Errorf("header %.40q fields %.20q not %v:\n got %.80q, %v\nwant %.80q", h, fields, not, got, err, want)
				}
			}
		}
	}
	if _, err := FilterHeaderAt(strings.NewReader("Subject: x\r\n"), 0, 100, []string{"subject"}, false); err == nil {
		t.Error("a block beyond the content: no error")
	}
}

// BenchmarkFilterHeader filters the five fields a mail client lists
// messages by from a typical 1.5 KB header, streaming and in place.
func BenchmarkFilterHeader(b *testing.B) {
	var h strings.Builder
	for i := range 12 {
		fmt.Fprintf(&h, "Received: from relay%d.example.net by mx.example.org with ESMTPS id %08x;\r\n\tWed, 2 Dec 2026 10:%02d:00 +0000\r\n", i, i*7919, i)
	}
	h.WriteString("From: Ann <ann@example.org>\r\nTo: bob@example.net\r\nSubject: quarterly report\r\nDate: Wed, 2 Dec 2026 10:00:00 +0000\r\nMessage-ID: <x@example.org>\r\nContent-Type: text/plain\r\n\r\n")
	msg := []byte(h.String() + "body\r\n")
	n := int64(h.Len())
	fields := []string{"FROM", "TO", "SUBJECT", "DATE", "MESSAGE-ID"}
	b.Run("stream", func(b *testing.B) {
		for range b.N {
			if _, err := FilterHeader(io.NewSectionReader(bytes.NewReader(msg), 0, n), fields, false); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("in-place", func(b *testing.B) {
		for range b.N {
			if _, err := FilterHeaderAt(bytes.NewReader(msg), 0, n, fields, false); err != nil {
				b.Fatal(err)
			}
		}
	})
}
