package anatomy

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// memShapes are messages whose decoded anatomies differ in what they
// hold: few parts, many leaf parts, deep nesting, long parameter lists,
// envelopes with address lists.
func memShapes() map[string][]byte {
	head := "From: Ann <ann@example.org>\r\nTo: b@example.org, \"Carl\" <c@example.net>, group: d@example.com, e@example.com;\r\n" +
		"Date: Mon, 1 Jan 2026 00:00:00 +0000\r\nSubject: shapes\r\nMessage-ID: <m@example.org>\r\n"
	shapes := map[string][]byte{
		"plain": []byte(head + "Content-Type: text/plain\r\n\r\nhello\r\n"),
		"alternative": []byte(head + "MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=z\r\n\r\n" +
			"--z\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nhi\r\n--z\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>hi</p>\r\n--z--\r\n"),
	}
	var sb strings.Builder
	sb.WriteString(head + "Content-Type: multipart/mixed; boundary=p\r\n\r\n")
	for range 20_000 {
		sb.WriteString("--p\r\n\r\nx\r\n")
	}
	sb.WriteString("--p--\r\n")
	shapes["manyparts"] = []byte(sb.String())
	sb.Reset()
	sb.WriteString(head + "MIME-Version: 1.0\r\n")
	for j := range 150 {
		fmt.Fprintf(&sb, "Content-Type: multipart/mixed; boundary=n%d\r\n\r\n--n%d\r\n", j, j)
	}
	sb.WriteString("Content-Type: text/plain\r\n\r\ndeep\r\n")
	shapes["nested"] = []byte(sb.String())
	sb.Reset()
	sb.WriteString(head + "Content-Type: text/plain; ")
	for j := range 3000 {
		fmt.Fprintf(&sb, "title*%d*=utf-8''%%E2%%82; p%d=v%d; ", j, j, j)
	}
	sb.WriteString("\r\n\r\nbody\r\n")
	shapes["params"] = []byte(sb.String())
	sb.Reset()
	sb.WriteString("To: ")
	for j := range 2000 {
		fmt.Fprintf(&sb, "\"User %d\" <u%d@example.org>, ", j, j)
	}
	sb.WriteString("last@example.org\r\nSubject: many addresses\r\n\r\nbody\r\n")
	shapes["addresses"] = []byte(sb.String())
	return shapes
}

// TestMemSize: MemSize is within a quarter of the heap a decoded
// anatomy really takes, for every shape, where the encoded length is 2 to
// 11 times off.
func TestMemSize(t *testing.T) {
	for name, msg := range memShapes() {
		enc := Marshal(ParseBytes(msg))
		const n = 20
		roots := make([]*Part, n)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for i := range roots {
			var err error
			if roots[i], err = Unmarshal(enc); err != nil {
				t.Fatal(err)
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		runtime.KeepAlive(roots)
		heap := float64(after.HeapAlloc-before.HeapAlloc) / n
		est := float64(roots[0].MemSize())
		t.Logf("%-12s encoded %8d, heap %9.0f, MemSize %9.0f (%.2f)", name, len(enc), heap, est, est/heap)
		if est < 0.75*heap || est > 1.25*heap {
			t.Errorf("%s: MemSize %.0f, heap %.0f", name, est, heap)
		}
	}
}
