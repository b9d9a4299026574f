package anatomy

import (
	"bytes"
	"encoding/base64"
	"io"
	"strings"
	"testing"
)

// encodeBinary runs EncodeBinaryParts over msg read chunk bytes at a time.
func encodeBinary(t testing.TB, msg []byte, chunk int) []byte {
	t.Helper()
	out, err := io.ReadAll(EncodeBinaryParts(&byteChunks{b: msg, n: chunk}))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

type byteChunks struct {
	b []byte
	n int
}

func (c *byteChunks) Read(p []byte) (int, error) {
	if len(c.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), c.n)], c.b)
	c.b = c.b[n:]
	return n, nil
}

// checkEncoded checks what EncodeBinaryParts made of msg: the same at
// every chunking, the same parts, and in every part the same content:
// bytes as they were, or a converted binary part's body decoding to the
// original body. It returns the output.
func checkEncoded(t testing.TB, msg []byte) []byte {
	t.Helper()
	out := encodeBinary(t, msg, len(msg)+1)
	for _, chunk := range []int{1, 2, 3, 7, 600} {
		if got := encodeBinary(t, msg, chunk); !bytes.Equal(got, out) {
			t.Fatalf("chunks of %d:\n%q\nwhole:\n%q", chunk, got, out)
		}
	}
	orig, conv := ParseBytes(msg), ParseBytes(out)
	checkInvariants(t, out, conv, 0, int64(len(out)), 0)
	var walk func(a, b *Part)
	walk = func(a, b *Part) {
		if a.Type != b.Type || a.Subtype != b.Subtype || len(a.Parts) != len(b.Parts) {
			t.Fatalf("part %s/%s (%d parts) became %s/%s (%d parts)", a.Type, a.Subtype, len(a.Parts), b.Type, b.Subtype, len(b.Parts))
		}
		body := msg[a.BodyOffset : a.BodyOffset+a.BodySize]
		got := out[b.BodyOffset : b.BodyOffset+b.BodySize]
		converted := a.Encoding == "binary" && b.Encoding == "base64"
		// A container's body holds its children, compared one by one.
		leaf := len(a.Parts) == 0
		switch {
		case converted:
			dec, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(string(got), "\r\n", ""))
			if err != nil || !bytes.Equal(dec, body) {
				t.Fatalf("converted body %q decodes to %q, %v; was %q", got, dec, err, body)
			}
		case leaf && !bytes.Equal(got, body):
			t.Fatalf("body %q became %q", body, got)
		case !bytes.Equal(msg[a.HeaderOffset:a.BodyOffset], out[b.HeaderOffset:b.BodyOffset]):
			t.Fatalf("header %q became %q", msg[a.HeaderOffset:a.BodyOffset], out[b.HeaderOffset:b.BodyOffset])
		}
		if a.Encoding != b.Encoding && !converted {
			t.Fatalf("encoding %q became %q", a.Encoding, b.Encoding)
		}
		for i := range a.Parts {
			walk(a.Parts[i], b.Parts[i])
		}
	}
	walk(orig, conv)
	return out
}

func TestEncodeBinaryParts(t *testing.T) {
	const h = "From: a@example.org\r\nMIME-Version: 1.0\r\n"
	tests := []struct{ name, in, want string }{
		{"one binary part",
			h + "Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n\x00-\xe4\n\r\n\n",
			h + "Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nAC3kCg0KCg=="},
		// Dovecot 2.3.19 stores the same bytes for this APPEND ~{n}.
		{"multipart",
			h + "Content-Type: multipart/mixed; boundary=\"XX\"\r\n\r\npre\r\n--XX\r\nContent-Type: text/plain\r\n\r\nhello\r\n" +
				"--XX\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n\x00\x01\x02\r\n\r\nxyz\r\n" +
				"--XX\r\nContent-Type: text/plain\r\n\r\nbye\r\n--XX--\r\n",
			h + "Content-Type: multipart/mixed; boundary=\"XX\"\r\n\r\npre\r\n--XX\r\nContent-Type: text/plain\r\n\r\nhello\r\n" +
				"--XX\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nAAECDQoNCnh5eg==\r\n" +
				"--XX\r\nContent-Type: text/plain\r\n\r\nbye\r\n--XX--\r\n"},
		{"folded and repeated field, no line break at the end",
			"Content-Transfer-Encoding:\r\n BINARY\r\nX: y\r\ncontent-transfer-encoding : binary\r\n\r\nabc",
			"Content-Transfer-Encoding: base64\r\nX: y\r\nContent-Transfer-Encoding: base64\r\n\r\nYWJj"},
		{"bare LF",
			"Content-Transfer-Encoding: binary\n\n\x00\n\n",
			"Content-Transfer-Encoding: base64\n\nAAoK"},
		{"long lines wrap at 76",
			"Content-Transfer-Encoding: binary\r\n\r\n" + strings.Repeat("\xff", 60),
			"Content-Transfer-Encoding: base64\r\n\r\n" + strings.Repeat("/", 76) + "\r\n" + strings.Repeat("/", 4)},
		{"empty body before a boundary",
			"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Transfer-Encoding: binary\r\n\r\n--b--\r\n",
			"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Transfer-Encoding: base64\r\n\r\n--b--\r\n"},
		{"close delimiter without a line break",
			"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Transfer-Encoding: binary\r\n\r\n\x00\r\n--b--",
			"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Transfer-Encoding: base64\r\n\r\nAA==\r\n--b--"},
		{"a part without a blank line is not converted",
			"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Transfer-Encoding: binary\r\n--b--\r\n",
			"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Transfer-Encoding: binary\r\n--b--\r\n"},
		{"embedded message",
			"Content-Type: message/rfc822\r\nContent-Transfer-Encoding: binary\r\n\r\nSubject: in\r\nContent-Transfer-Encoding: binary\r\n\r\n\x00\x00",
			"Content-Type: message/rfc822\r\nContent-Transfer-Encoding: binary\r\n\r\nSubject: in\r\nContent-Transfer-Encoding: base64\r\n\r\nAAA="},
		{"a multipart claiming binary is not converted",
			"Content-Type: multipart/mixed; boundary=b\r\nContent-Transfer-Encoding: binary\r\n\r\n--b\r\n\r\n\x00\r\n--b--\r\n",
			"Content-Type: multipart/mixed; boundary=b\r\nContent-Transfer-Encoding: binary\r\n\r\n--b\r\n\r\n\x00\r\n--b--\r\n"},
		{"other encodings are left alone",
			"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\xe4\x00\r\n--b\r\nContent-Transfer-Encoding: base64\r\n\r\nAA==\r\n--b--\r\n",
			"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\xe4\x00\r\n--b\r\nContent-Transfer-Encoding: base64\r\n\r\nAA==\r\n--b--\r\n"},
		{"header only", "Content-Transfer-Encoding: binary\r\n", "Content-Transfer-Encoding: binary\r\n"},
		{"empty message", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := checkEncoded(t, []byte(tt.in)); string(got) != tt.want {
				t.Fatalf("got\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

// TestEncodeBinaryPartsLines covers body lines around the length up to
// which a line start is held (maxLineKeep), a line break split between
// reads, and boundary look-alikes.
func TestEncodeBinaryPartsLines(t *testing.T) {
	const head = "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Transfer-Encoding: binary\r\n\r\n"
	for _, n := range []int{0, 1, 2, maxLineKeep - 2, maxLineKeep - 1, maxLineKeep, maxLineKeep + 1, 3 * maxLineKeep} {
		for _, line := range []string{
			strings.Repeat("\x00", n),
			strings.Repeat("x", n) + "\r",
			"--" + strings.Repeat("c", n),
			"--b" + strings.Repeat("\r", n), // a boundary line whatever follows
			"-" + strings.Repeat("\r\n", n),
		} {
			for _, tail := range []string{"\r\n--b--\r\n", "\r\n--b\r\n\r\nx\r\n--b--", "\r\n", "", "\n--b--"} {
				checkEncoded(t, []byte(head+line+"\r\n"+line+tail))
			}
		}
	}
	// Everything after the header limit is copied as it is.
	big := "Content-Transfer-Encoding: binary\r\nX: " + strings.Repeat("y", MaxHeaderSize) + "\r\n\r\n\x00"
	if got := checkEncoded(t, []byte(big)); string(got) != big {
		t.Fatal("a header over MaxHeaderSize was changed")
	}
}

func FuzzEncodeBinaryParts(f *testing.F) {
	for _, msg := range corpus(f) {
		if len(msg) < 20000 {
			f.Add(msg)
		}
	}
	f.Add([]byte("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Transfer-Encoding: binary\r\n\r\n\x00\r\r\n--b\n--b--"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		checkEncoded(t, msg)
	})
}
