package msgcheck

import (
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	tests := []struct {
		head string
		err  error
	}{
		{"Subject: x\r\n", nil},
		{"X-Weird_Name!: y", nil},
		{"From a@b Mon Jan  2 15:04:05 2006\n", nil},
		{"\r\nbody only", nil},
		{"\nbody only", nil},
		{"", ErrEmpty},
		{"Subject: x\x00", ErrBinary},
		{"\x89PNG\r\n", ErrNotHeader},
		{": no name", ErrNotHeader},
		{"no colon at all\n", ErrNotHeader},
		{" Subject: folded first", ErrNotHeader},
		{"Subject", ErrNotHeader},
		{strings.Repeat("X", HeadSize+10), nil},
	}
	for _, tt := range tests {
		if err := Check([]byte(tt.head)); err != tt.err {
			t.Errorf("Check(%q) = %v, want %v", tt.head, err, tt.err)
		}
	}
}
