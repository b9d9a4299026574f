package anatomy

import (
	"errors"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/emersion/go-message/charset"
)

// ErrUnknownCharset reports a charset name that no decoder is known for.
var ErrUnknownCharset = errors.New("anatomy: unknown charset")

// CharsetReader returns a reader of r's text converted from the named
// charset (a MIME/IANA name or alias, case-insensitive: ISO-8859-x,
// windows-125x, KOI8-R, Shift_JIS, EUC-JP, ISO-2022-JP, GB2312, GBK,
// GB18030, Big5, EUC-KR, UTF-16, ...) to UTF-8. Bytes that are invalid in
// the charset become U+FFFD. "", US-ASCII and UTF-8 pass the bytes
// through unchanged (mail labelled US-ASCII often holds UTF-8), as does an
// unknown charset, with ErrUnknownCharset beside the pass-through reader:
// callers that only need best-effort text may ignore the error.
//
// It is the one charset conversion shared by the anatomy (RFC 2231
// parameter values), PREVIEW (RFC 8970) and SEARCH (RFC 9051 §6.4.4
// CHARSET and the text of parts).
func CharsetReader(name string, r io.Reader) (io.Reader, error) {
	if isUTF8Compatible(name) {
		return r, nil
	}
	cr, err := charset.Reader(strings.TrimSpace(name), r)
	if err != nil {
		return r, ErrUnknownCharset
	}
	return cr, nil
}

// ToUTF8 converts b from the named charset (see CharsetReader) to valid
// UTF-8. With an unknown charset it returns b with invalid UTF-8
// sequences replaced by U+FFFD, and ErrUnknownCharset.
func ToUTF8(name string, b []byte) (string, error) {
	if isUTF8Compatible(name) {
		return strings.ToValidUTF8(string(b), "\uFFFD"), nil
	}
	r, err := CharsetReader(name, strings.NewReader(string(b)))
	if err != nil {
		return strings.ToValidUTF8(string(b), "\uFFFD"), err
	}
	out, rerr := io.ReadAll(r)
	if rerr != nil {
		// A decoder error mid-way: keep what was converted.
		return strings.ToValidUTF8(string(out), "\uFFFD"), rerr
	}
	if !utf8.Valid(out) {
		return strings.ToValidUTF8(string(out), "\uFFFD"), nil
	}
	return string(out), nil
}

// isUTF8Compatible reports whether text in charset name is taken as UTF-8
// as it is.
func isUTF8Compatible(name string) bool {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "", "utf-8", "utf8", "us-ascii", "ascii", "ansi_x3.4-1968", "iso646-us", "us", "csascii":
		return true
	}
	return false
}
