package mbox

import (
	"path/filepath"
	"testing"

	"rookery/internal/archive/archivetest"
)

// BenchmarkRead10k reads 10,000 small messages (content included).
func BenchmarkRead10k(b *testing.B) {
	dir := filepath.Join(b.TempDir(), "out")
	w, err := Create(dir)
	if err != nil {
		b.Fatal(err)
	}
	archivetest.WriteSmall(b, w, 10000)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r, err := Open(dir)
		if err != nil {
			b.Fatal(err)
		}
		if n := archivetest.ReadAll(b, r); n != 10000 {
			b.Fatalf("%d messages", n)
		}
		r.Close()
	}
	archivetest.ReportRate(b, 10000)
}

// BenchmarkWrite10k writes 10,000 small messages.
func BenchmarkWrite10k(b *testing.B) {
	for i := 0; i < b.N; i++ {
		w, err := Create(filepath.Join(b.TempDir(), "out"))
		if err != nil {
			b.Fatal(err)
		}
		archivetest.WriteSmall(b, w, 10000)
	}
	archivetest.ReportRate(b, 10000)
}
