package emldir

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"rookery/internal/archive/archivetest"
)

// BenchmarkRead10k reads 10,000 small .eml files (content included).
func BenchmarkRead10k(b *testing.B) {
	dir := b.TempDir()
	for i := 0; i < 10000; i++ {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%05d.eml", i)), archivetest.SmallMessage(i), 0o600); err != nil {
			b.Fatal(err)
		}
	}
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
