package crlf

import (
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestReader(t *testing.T) {
	tests := []struct{ in, out string }{
		{"", ""},
		{"a\nb\n", "a\r\nb\r\n"},
		{"a\r\nb\r\n", "a\r\nb\r\n"},
		{"\n\n", "\r\n\r\n"},
		{"a\r\r\nb\rc\n", "a\r\r\nb\rc\r\n"},
		{"no end", "no end"},
	}
	for _, tt := range tests {
		b, err := io.ReadAll(iotest.OneByteReader(NewReader(strings.NewReader(tt.in))))
		if err != nil || string(b) != tt.out {
			t.Errorf("Reader(%q) = %q, %v, want %q", tt.in, b, err, tt.out)
		}
		if n, err := Size(strings.NewReader(tt.in)); err != nil || n != int64(len(tt.out)) {
			t.Errorf("Size(%q) = %d, %v, want %d", tt.in, n, err, len(tt.out))
		}
	}
	for _, tt := range []struct {
		head        string
		bare, known bool
	}{{"a\nb", true, true}, {"a\r\n", false, true}, {"\n", true, true}, {"abc", false, false}} {
		if b, k := FirstLineBare([]byte(tt.head)); b != tt.bare || k != tt.known {
			t.Errorf("FirstLineBare(%q) = %v %v", tt.head, b, k)
		}
	}
}
