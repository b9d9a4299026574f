package imapfetch

import (
	"io"
	"strings"
	"testing"

	"rookery/internal/anatomy"
)

// TestPreviewCharsets checks that PREVIEW converts the text part's
// charset to UTF-8 after the transfer decoding (RFC 8970 §3.1: the
// preview is UTF-8).
func TestPreviewCharsets(t *testing.T) {
	tests := []struct{ name, msg, want string }{
		{"koi8-r quoted-printable",
			"Content-Type: text/plain; charset=KOI8-R\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
				"=F0=D2=C9=D7=C5=D4, =CD=C9=D2!\r\n",
			"Привет, мир!"},
		{"shift_jis base64",
			"Content-Type: text/plain; charset=\"shift_jis\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
				"k/qWe4zq\r\n", // 日本語
			"日本語"},
		{"iso-2022-jp 7bit",
			"Content-Type: text/plain; charset=ISO-2022-JP\r\n\r\n" +
				"\x1b$BF|K\\\x1b(B abc\r\n",
			"日本 abc"},
		{"windows-1252 html in multipart",
			"Content-Type: multipart/alternative; boundary=x\r\n\r\n--x\r\n" +
				"Content-Type: text/html; charset=windows-1252\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" +
				"<p>Price: 5\x80 &amp; caf\xe9</p>\r\n--x--\r\n",
			"Price: 5€ & café"},
		{"big5", "Content-Type: text/plain; charset=big5\r\n\r\n\xa4\xa4\xa4\xe5\r\n", "中文"},
		{"euc-kr", "Content-Type: text/plain; charset=euc-kr\r\n\r\n\xc7\xd1\xb1\xb9\xbe\xee\r\n", "한국어"},
		{"gb2312", "Content-Type: text/plain; charset=gb2312\r\n\r\n\xd6\xd0\xce\xc4\r\n", "中文"},
		{"unknown charset keeps valid UTF-8", "Content-Type: text/plain; charset=x-unknown\r\n\r\nok \xe2\x82\xac\xff\r\n", "ok €"},
	}
	for _, tc := range tests {
		got, err := Preview(strings.NewReader(tc.msg), anatomy.ParseBytes([]byte(tc.msg)))
		if err != nil || got != tc.want {
			t.Errorf("%s: Preview = %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
}

// countingReaderAt counts the bytes read through it.
type countingReaderAt struct {
	r    io.ReaderAt
	read int64
}

func (c *countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(p, off)
	c.read += int64(n)
	return n, err
}

// TestPreviewReadsBounded checks that a preview of a large text part reads
// at most previewRead bytes of it.
func TestPreviewReadsBounded(t *testing.T) {
	msg := "Content-Type: text/plain; charset=iso-8859-2\r\n\r\n" + strings.Repeat("\xa3\xf3d\xbc ", 1<<20)
	r := &countingReaderAt{r: strings.NewReader(msg)}
	got, err := Preview(r, anatomy.ParseBytes([]byte(msg)))
	if err != nil || !strings.HasPrefix(got, "Łódź Łódź") || len([]rune(got)) != PreviewMax {
		t.Errorf("Preview = %q (%d runes), %v", got, len([]rune(got)), err)
	}
	if r.read > previewRead {
		t.Errorf("read %d bytes, at most %d wanted", r.read, previewRead)
	}
}
