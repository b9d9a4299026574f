package logtext

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestClip(t *testing.T) {
	long := strings.Repeat("a", 60<<10)
	euro := strings.Repeat("a", Max-1) + "€€" // the cut falls inside a rune
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"short", "alice", "alice"},
		{"exactly Max", strings.Repeat("b", Max), strings.Repeat("b", Max)},
		{"one over", strings.Repeat("b", Max+1), strings.Repeat("b", Max) + "…[+1 bytes]"},
		{"60 KB user name", long, strings.Repeat("a", Max) + "…[+61184 bytes]"},
		{"rune boundary", euro, strings.Repeat("a", Max-1) + "…[+6 bytes]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Clip(tc.in)
			if got != tc.want {
				t.Fatalf("Clip = %q (%d bytes), want %q", got, len(got), tc.want)
			}
			if !utf8.ValidString(got) && utf8.ValidString(tc.in) {
				t.Fatalf("Clip cut a rune: %q", got)
			}
		})
	}
}

func TestErr(t *testing.T) {
	if Err(nil) != "" {
		t.Fatal("Err(nil) not empty")
	}
	if got := Err(errors.New("short")); got != "short" {
		t.Fatalf("Err = %q", got)
	}
	got := Err(errors.New(strings.Repeat("x", 10*ErrMax)))
	if !strings.HasPrefix(got, strings.Repeat("x", ErrMax)+"…[+") || len(got) > ErrMax+32 {
		t.Fatalf("Err of a long error: %d bytes", len(got))
	}
}
