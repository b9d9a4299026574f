package anatomy

import (
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"
)

// charsetSamples are texts encoded by hand in their charsets.
var charsetSamples = []struct {
	charset, hex, want string
}{
	{"ISO-8859-1", "6361666500e9", "cafe\x00é"},
	{"iso-8859-2", "a3f364bc", "Łódź"},
	{"ISO-8859-7", "e1e2e3", "αβγ"},
	{"ISO-8859-15", "a4", "€"},
	{"windows-1251", "cff0e8e2e5f2", "Привет"},
	{"Windows-1252", "8020636166e9", "€ café"},
	{"cp1252", "80", "€"},
	{"KOI8-R", "f0d2c9d7c5d4", "Привет"},
	{"Shift_JIS", "93fa967b8cea", "日本語"},
	{"EUC-JP", "c6fccbdcb8ec", "日本語"},
	{"ISO-2022-JP", "1b2442467c4b5c386c1b2842", "日本語"},
	{"GB2312", "d6d0cec4", "中文"},
	{"GBK", "d6d0cec4", "中文"},
	{"Big5", "a4a4a4e5", "中文"},
	{"EUC-KR", "c7d1b1b9beee", "한국어"},
	{"UTF-8", "e282ac", "€"},
	{"us-ascii", "e282ac", "€"}, // 8-bit UTF-8 labelled US-ASCII
	{"", "41", "A"},
}

func TestToUTF8(t *testing.T) {
	for _, s := range charsetSamples {
		b, err := hex.DecodeString(s.hex)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ToUTF8(s.charset, b)
		if err != nil || got != s.want {
			t.Errorf("ToUTF8(%q, %s) = %q, %v; want %q", s.charset, s.hex, got, err, s.want)
		}
		r, err := CharsetReader(s.charset, strings.NewReader(string(b)))
		if err != nil {
			t.Fatalf("CharsetReader(%q): %v", s.charset, err)
		}
		out, err := io.ReadAll(r)
		if err != nil || string(out) != s.want {
			t.Errorf("CharsetReader(%q) read %q, %v; want %q", s.charset, out, err, s.want)
		}
	}
	got, err := ToUTF8("x-no-such-charset", []byte("ok\xff"))
	if !errors.Is(err, ErrUnknownCharset) || got != "ok\uFFFD" {
		t.Errorf("unknown charset: %q, %v", got, err)
	}
	if got, _ := ToUTF8("utf-8", []byte("a\xffb")); got != "a\uFFFDb" {
		t.Errorf("invalid UTF-8: %q", got)
	}
}

// TestParams2231Charsets checks RFC 2231 values in other charsets than
// UTF-8, single and in sections, after a Marshal/Unmarshal round trip.
func TestParams2231Charsets(t *testing.T) {
	msg := "Content-Type: multipart/mixed; boundary=b\r\n\r\n" +
		"--b\r\n" +
		"Content-Type: application/octet-stream; name*=koi8-r''%F0%D2%C9%D7%C5%D4.txt\r\n" +
		"Content-Disposition: attachment;\r\n" +
		" filename*0*=Shift_JIS'ja'%93%FA%96%7B;\r\n" +
		" filename*1*=%8C%EA;\r\n" +
		" filename*2=.pdf\r\n\r\n" +
		"x\r\n" +
		"--b\r\n" +
		"Content-Type: text/plain; title*=iso-2022-jp''%1B%24BF%7CK%5C%1B%28B\r\n" +
		"Content-Disposition: inline; filename*=windows-1251''%CF%F0%E8%E2%E5%F2; x*=gb2312''%D6%D0\r\n\r\n" +
		"y\r\n" +
		"--b--\r\n"
	root, err := Unmarshal(Marshal(ParseBytes([]byte(msg))))
	if err != nil {
		t.Fatal(err)
	}
	a, b := root.Parts[0], root.Parts[1]
	check := func(params []Param, name, want, raw string) {
		t.Helper()
		for _, p := range params {
			if p.Name == name {
				if p.Value != want || p.Raw != raw {
					t.Errorf("%s = %q (raw %q), want %q (raw %q)", name, p.Value, p.Raw, want, raw)
				}
				return
			}
		}
		t.Errorf("no parameter %s in %v", name, params)
	}
	check(a.Params, "name", "Привет.txt", "koi8-r''%F0%D2%C9%D7%C5%D4.txt")
	check(a.DispositionParams, "filename", "日本語.pdf", "Shift_JIS'ja'%93%FA%96%7B%8C%EA.pdf")
	check(b.Params, "title", "日本", "iso-2022-jp''%1B%24BF%7CK%5C%1B%28B")
	check(b.DispositionParams, "filename", "Привет", "windows-1251''%CF%F0%E8%E2%E5%F2")
	check(b.DispositionParams, "x", "中", "gb2312''%D6%D0")
}
