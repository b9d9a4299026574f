package mbox

import (
	"testing"

	"rookery/internal/archive/archivetest"
)

// BenchmarkRead10k reads 10,000 small messages (content included).
func BenchmarkRead10k(b *testing.B) {
	archivetest.BenchRead(b, archivetest.Format{Create: Create, Open: Open}, 10000)
}

// BenchmarkWrite10k writes 10,000 small messages.
func BenchmarkWrite10k(b *testing.B) {
	archivetest.BenchWrite(b, archivetest.Format{Create: Create, Open: Open}, 10000)
}
