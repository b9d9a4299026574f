package delivery

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

// FuzzInput runs the transformation every delivered message goes
// through (bare LF → CRLF, then the blank-message check), reading one
// byte at a time and in large reads: both must give what a plain loop
// gives, and ErrEmpty exactly for a message of blank characters.
func FuzzInput(f *testing.F) {
	for _, s := range []string{"Subject: x\n\nbody\n", "a\r\nb\rc\n\r\n", "\r\n\n \t\r", "", "\n", "\r", "x"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var want []byte
		blank := true
		for i, c := range in {
			if c == '\n' && (i == 0 || in[i-1] != '\r') {
				want = append(want, '\r')
			}
			want = append(want, c)
			if c != '\r' && c != '\n' && c != ' ' && c != '\t' {
				blank = false
			}
		}
		for _, r := range []io.Reader{iotest.OneByteReader(bytes.NewReader(in)), bytes.NewReader(in)} {
			got, err := io.ReadAll(&blankCheck{r: newCRLFReader(r)})
			if !bytes.Equal(got, want) {
				t.Fatalf("%q → %q, want %q", in, got, want)
			}
			if blank != errors.Is(err, ErrEmpty) || (err != nil && !errors.Is(err, ErrEmpty)) {
				t.Fatalf("%q: err %v, blank %v", in, err, blank)
			}
		}
	})
}
