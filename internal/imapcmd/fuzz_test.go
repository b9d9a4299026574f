package imapcmd

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"testing"

	"rookery/internal/imapwire"
)

// fuzzLimits are small so that fuzzing reaches them.
var fuzzLimits = imapwire.Limits{MaxLine: 512, MaxLiteral: 256, MaxDepth: 8}

// readAll reads commands until the input ends, the way a server does:
// APPEND messages are drained, and after a parse error the rest of the
// command is discarded. It fails on a panic (implicitly), an error of an
// unexpected type, or lack of progress.
func readAll(t *testing.T, data string) {
	d := imapwire.NewDecoder(bufio.NewReaderSize(strings.NewReader(data), 16), fuzzLimits)
	opts := Options{AppendLimit: 128}
	for range len(data) + 1 {
		c, err := Read(d, opts, testLookup)
		if err == nil {
			if c.Tag == "" || c.Name == "" {
				t.Fatalf("empty tag or name: %+v", c)
			}
			if a, ok := c.Args.(*Append); ok {
				err = drainAppend(t, a)
			}
		}
		if err == nil {
			continue
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return
		}
		var se *SyntaxError
		var ue *UnknownCommandError
		// A literal's bytes are checked as they are read (a NUL outside
		// a literal8): the wire's syntax error, answered BAD like ours.
		var we *imapwire.SyntaxError
		if !errors.As(err, &se) && !errors.As(err, &ue) && !errors.As(err, &we) {
			t.Fatalf("unexpected error %T: %v", err, err)
		}
		if err := d.DiscardLine(); err != nil {
			return
		}
	}
	t.Fatalf("no progress after %d commands", len(data)+1)
}

func drainAppend(t *testing.T, a *Append) error {
	for range 1000 {
		m, err := a.Next()
		if err != nil || m == nil {
			return err
		}
		n, err := io.Copy(io.Discard, m.Literal)
		if err != nil {
			return err
		}
		if n != m.Literal.Size() || n > 128 {
			t.Fatalf("literal of %d bytes, announced %d", n, m.Literal.Size())
		}
	}
	t.Fatal("APPEND never ended")
	return nil
}

func addSeeds(f *testing.F, tests ...[]readTest) {
	for _, tt := range tests {
		for _, r := range tt {
			f.Add(r.in)
		}
	}
}

// FuzzRead covers every command: the seeds are the table tests plus the
// client transcripts in testdata/fuzz/FuzzRead.
func FuzzRead(f *testing.F) {
	addSeeds(f, readTests, fetchTests)
	f.Add("a APPEND INBOX (\\Seen) {5}\r\nhello (\\Draft) ~{2+}\r\nab\r\nb NOOP\r\n")
	f.Add("a APPEND INBOX UTF8 (~{3}\r\nabc)\r\n")
	f.Add("a APPEND INBOX {500+}\r\n" + strings.Repeat("x", 500) + "\r\nb NOOP\r\n")
	f.Fuzz(func(t *testing.T, data string) { readAll(t, data) })
}

// FuzzFetch fuzzes the FETCH arguments after "a UID FETCH 1:* ".
func FuzzFetch(f *testing.F) {
	for _, tt := range fetchTests {
		rest := tt.in[strings.Index(tt.in, "FETCH ")+len("FETCH "):]
		if j := strings.IndexByte(rest, ' '); j > 0 {
			f.Add(strings.TrimSuffix(rest[j+1:], "\r\n"))
		}
	}
	f.Fuzz(func(t *testing.T, args string) {
		in := "a UID FETCH 1:* " + args + "\r\nz NOOP\r\n"
		d := imapwire.NewDecoder(bufio.NewReaderSize(strings.NewReader(in), 16), fuzzLimits)
		c, err := Read(d, Options{}, testLookup)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("unexpected error %T: %v", err, err)
			}
			return
		}
		f := c.Args.(*Fetch)
		if len(f.Items) == 0 {
			t.Fatal("no items")
		}
		for _, it := range f.Items {
			if it.Name == "" {
				t.Fatal("empty item name")
			}
			if it.Section != nil {
				for _, p := range it.Section.Part {
					if p <= 0 {
						t.Fatalf("part %d", p)
					}
				}
			}
			if it.Partial != nil && it.Partial.Count == 0 {
				t.Fatal("zero partial count")
			}
		}
		if f.Vanished && !f.HasChangedSince {
			t.Fatal("VANISHED without CHANGEDSINCE")
		}
	})
}
