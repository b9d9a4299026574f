package anatomy

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func corpus(t testing.TB) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob("../../testdata/mime/*.eml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus: %v", err)
	}
	out := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(f)] = b
	}
	return out
}

// checkInvariants verifies offsets and sizes of every part.
func checkInvariants(t testing.TB, msg []byte, p *Part, lo, hi int64, depth int) {
	t.Helper()
	if depth > MaxDepth+1 {
		t.Fatalf("depth %d", depth)
	}
	if p.HeaderOffset < lo || p.HeaderOffset+p.HeaderSize != p.BodyOffset || p.BodyOffset+p.BodySize > hi || p.HeaderSize < 0 || p.BodySize < 0 {
		t.Fatalf("part out of bounds [%d,%d): %+v", lo, hi, p)
	}
	if n := int64(bytes.Count(msg[p.BodyOffset:p.BodyOffset+p.BodySize], []byte{'\n'})); n != p.BodyLines {
		t.Fatalf("body lines %d, counted %d", p.BodyLines, n)
	}
	prev := p.BodyOffset
	for _, c := range p.Parts {
		checkInvariants(t, msg, c, prev, p.BodyOffset+p.BodySize, depth+1)
		prev = c.BodyOffset + c.BodySize
	}
}

func TestCorpus(t *testing.T) {
	for name, msg := range corpus(t) {
		t.Run(name, func(t *testing.T) {
			p := ParseBytes(msg)
			checkInvariants(t, msg, p, 0, int64(len(msg)), 0)
			if p.Size() != int64(len(msg)) {
				t.Fatalf("root size %d of %d", p.Size(), len(msg))
			}
			// Byte-at-a-time feeding gives the same result.
			bp := NewParser()
			for i := range msg {
				bp.Write(msg[i : i+1])
			}
			if q := bp.Close(); !reflect.DeepEqual(p, q) {
				t.Fatalf("byte-at-a-time differs:\n%+v\n%+v", p, q)
			}
			// The encoding round-trips.
			q, err := Unmarshal(Marshal(p))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(p, q) {
				t.Fatalf("round trip differs:\n%+v\n%+v", p, q)
			}
		})
	}
}

func TestStructure(t *testing.T) {
	c := corpus(t)
	p := ParseBytes(c["07-nested-rfc822.eml"])
	if !p.IsMultipart() || len(p.Parts) != 2 || !p.Parts[1].IsMessage() {
		t.Fatalf("07: %+v", p)
	}
	inner := p.Parts[1].Parts[0]
	if inner.Envelope == nil || inner.Envelope.Subject != "inner" || len(inner.Parts) != 2 || inner.Parts[1].Subtype != "html" {
		t.Fatalf("07 inner: %+v", inner)
	}
	p = ParseBytes(c["04-mixed-attach-2231.eml"])
	pdf := p.Parts[1]
	if v, _ := pdf.Param("name"); v != "€ rates.pdf" || pdf.Params[0].Raw != "utf-8''%E2%82%AC%20rates.pdf" {
		t.Fatalf("2231 name: %+v", pdf.Params)
	}
	if pdf.DispositionParams[0].Value != "€ rates.pdf" || pdf.Disposition != "attachment" {
		t.Fatalf("2231 filename: %+v", pdf.DispositionParams)
	}
	if v, _ := p.Parts[2].Param("name"); v != "longname.txt" {
		t.Fatalf("continuation: %q", v)
	}
	if !reflect.DeepEqual(pdf.Language, []string{"en", "de"}) || pdf.MD5 == "" || pdf.Location == "" || pdf.ID != "<att1@example.org>" {
		t.Fatalf("pdf fields: %+v", pdf)
	}
	p = ParseBytes(c["16-digest.eml"])
	if len(p.Parts) != 2 || !p.Parts[0].IsMessage() || !p.Parts[0].DefaultType {
		t.Fatalf("digest: %+v", p.Parts[0])
	}
	p = ParseBytes(c["13-deep.eml"])
	depth := 0
	for q := p; len(q.Parts) > 0; q = q.Parts[0] {
		depth++
	}
	if depth >= MaxDepth {
		t.Fatalf("depth %d not bounded", depth)
	}
	p = ParseBytes(c["15-empty.eml"])
	if p.Size() != 0 || p.Type != "text" || p.Envelope == nil {
		t.Fatalf("empty: %+v", p)
	}
}

func TestParams(t *testing.T) {
	_, _, ps, ok := parseContentType(`Text/Plain; charset="utf-8" (comment); format=flowed; junk; name*0*=iso-8859-1''caf%E9; name*1=.txt`)
	if !ok {
		t.Fatal("not ok")
	}
	want := []Param{{Name: "charset", Value: "utf-8"}, {Name: "format", Value: "flowed"}, {Name: "name", Value: "café.txt", Raw: "iso-8859-1''caf%E9.txt"}}
	if !reflect.DeepEqual(ps, want) {
		t.Fatalf("got %+v", ps)
	}
	if _, _, _, ok := parseContentType("garbage"); ok {
		t.Fatal("garbage accepted")
	}
}

func TestUnmarshalErrors(t *testing.T) {
	if _, err := Unmarshal(nil); err == nil {
		t.Fatal("nil accepted")
	}
	if _, err := Unmarshal([]byte{Version + 1}); err == nil || !strings.Contains(err.Error(), "version") {
		t.Fatalf("version: %v", err)
	}
	b := Marshal(ParseBytes([]byte("Subject: x\r\n\r\nbody\r\n")))
	for i := 1; i < len(b); i++ {
		if _, err := Unmarshal(b[:i]); err == nil {
			t.Fatalf("truncated at %d accepted", i)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, msg := range corpus(f) {
		if len(msg) < 20000 {
			f.Add(msg)
		}
	}
	f.Add([]byte("Content-Type: multipart/mixed; boundary=a\n\n--a\n--a\nContent-Type: message/rfc822\n\n--a--"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		p := ParseBytes(msg)
		checkInvariants(t, msg, p, 0, int64(len(msg)), 0)
		q, err := Unmarshal(Marshal(p))
		if err != nil || !reflect.DeepEqual(p, q) {
			t.Fatalf("round trip: %v", err)
		}
		_, _ = Unmarshal(msg) // never panics on junk
	})
}

func BenchmarkParse(b *testing.B) {
	msg := corpus(b)["07-nested-rfc822.eml"]
	big := bytes.Repeat([]byte("lorem ipsum dolor sit amet lorem ipsum dolor sit amet\r\n"), 20000)
	b.Run("nested", func(b *testing.B) {
		b.SetBytes(int64(len(msg)))
		for b.Loop() {
			ParseBytes(msg)
		}
	})
	b.Run("1MB-body", func(b *testing.B) {
		m := append([]byte("Subject: x\r\n\r\n"), big...)
		b.SetBytes(int64(len(m)))
		for b.Loop() {
			ParseBytes(m)
		}
	})
}
