// Package utf7 implements the modified UTF-7 encoding of IMAP mailbox names
// (RFC 3501 §5.1.3; RFC 9051 §5.1.3 keeps it for IMAP4rev1 clients).
//
// Printable US-ASCII except "&" stands for itself, "&" is written "&-", and
// every other run of characters is UTF-16BE in modified base64 (RFC 3501:
// "," instead of "/", no padding) between "&" and "-". Decode accepts only
// the canonical form that Encode produces, so that every mailbox name has
// exactly one encoding.
package utf7

import (
	"errors"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// ErrInvalid is returned by Decode for a string that is not canonical
// modified UTF-7.
var ErrInvalid = errors.New("utf7: invalid modified UTF-7")

const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,"

// b64val returns the value of a modified base64 character, or -1.
func b64val(c byte) int8 {
	switch {
	case c >= 'A' && c <= 'Z':
		return int8(c - 'A')
	case c >= 'a' && c <= 'z':
		return int8(c-'a') + 26
	case c >= '0' && c <= '9':
		return int8(c-'0') + 52
	case c == '+':
		return 62
	case c == ',':
		return 63
	}
	return -1
}

func isDirect(r rune) bool { return r >= 0x20 && r <= 0x7e }

// Encode returns s in modified UTF-7. Invalid UTF-8 bytes in s are encoded
// as U+FFFD.
func Encode(s string) string {
	// Fast path: nothing to encode.
	plain := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '&' {
			plain = false
			break
		}
	}
	if plain {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	var run []rune
	flush := func() {
		if len(run) == 0 {
			return
		}
		b.WriteByte('&')
		writeBase64(&b, utf16.Encode(run))
		b.WriteByte('-')
		run = run[:0]
	}
	for _, r := range s {
		if isDirect(r) {
			flush()
			if r == '&' {
				b.WriteString("&-")
			} else {
				b.WriteRune(r)
			}
			continue
		}
		run = append(run, r)
	}
	flush()
	return b.String()
}

func writeBase64(b *strings.Builder, units []uint16) {
	var acc uint32
	var bits uint
	for _, u := range units {
		acc = acc<<16 | uint32(u)
		bits += 16
		for bits >= 6 {
			bits -= 6
			b.WriteByte(alphabet[(acc>>bits)&0x3f])
		}
	}
	if bits > 0 {
		b.WriteByte(alphabet[(acc<<(6-bits))&0x3f])
	}
}

// Decode decodes a modified UTF-7 mailbox name. It rejects characters
// outside printable US-ASCII, bad or unterminated base64 runs, runs that
// encode characters which must be written directly, adjacent runs that
// should have been one, non-zero padding bits and unpaired surrogates.
func Decode(s string) (string, error) {
	if !strings.Contains(s, "&") {
		for i := 0; i < len(s); i++ {
			if s[i] < 0x20 || s[i] > 0x7e {
				return "", ErrInvalid
			}
		}
		return s, nil
	}
	var b strings.Builder
	b.Grow(len(s))
	prevRunEnd := -1 // index just after the "-" of the last base64 run
	for i := 0; i < len(s); {
		c := s[i]
		if c < 0x20 || c > 0x7e {
			return "", ErrInvalid
		}
		if c != '&' {
			b.WriteByte(c)
			i++
			continue
		}
		j := strings.IndexByte(s[i+1:], '-')
		if j < 0 {
			return "", ErrInvalid // unterminated
		}
		enc := s[i+1 : i+1+j]
		if enc == "" {
			b.WriteByte('&')
			i += 2
			continue
		}
		if prevRunEnd == i {
			return "", ErrInvalid // "&AAA-&BBB-" must be one run
		}
		if err := decodeRun(&b, enc); err != nil {
			return "", err
		}
		i += j + 2
		prevRunEnd = i
	}
	return b.String(), nil
}

func decodeRun(b *strings.Builder, enc string) error {
	var acc uint32
	var bits uint
	units := make([]uint16, 0, len(enc)*6/16)
	for i := 0; i < len(enc); i++ {
		v := b64val(enc[i])
		if v < 0 {
			return ErrInvalid
		}
		acc = acc<<6 | uint32(v)
		bits += 6
		if bits >= 16 {
			bits -= 16
			units = append(units, uint16(acc>>bits))
			acc &= 1<<bits - 1
		}
	}
	// Leftover bits must be fewer than 6 and all zero (minimal encoding).
	if bits >= 6 || acc != 0 || len(units) == 0 {
		return ErrInvalid
	}
	for i := 0; i < len(units); i++ {
		u := units[i]
		var r rune
		switch {
		case utf16.IsSurrogate(rune(u)):
			if u >= 0xdc00 || i+1 >= len(units) {
				return ErrInvalid
			}
			r = utf16.DecodeRune(rune(u), rune(units[i+1]))
			if r == utf8.RuneError {
				return ErrInvalid
			}
			i++
		default:
			r = rune(u)
		}
		if isDirect(r) {
			return ErrInvalid // must be written directly
		}
		b.WriteRune(r)
	}
	return nil
}
