package cli

import (
	"math"
	"os"
	"runtime/debug"
)

// setMemoryLimit makes limit (limits.memory_limit, bytes; 0 for none) the
// Go runtime's soft memory limit, unless the GOMEMLIMIT environment
// variable is set, which the runtime applied at start and which decides
// then. It returns the limit in effect (math.MaxInt64 for none).
//
// serve collects at GC percent 200: the heap may grow to three times the
// live data before a collection. The limit caps that headroom when the
// live data spikes (a login storm's password hashes, large commands),
// and makes the runtime return freed memory to the system sooner as its
// memory nears the limit. It is soft: live data is never freed for it,
// and SQLite's page caches (allocated outside the Go heap) are not
// counted (ARCHITECTURE.md, Memory budget).
func setMemoryLimit(limit int64) int64 {
	if os.Getenv("GOMEMLIMIT") == "" {
		if limit <= 0 {
			limit = math.MaxInt64
		}
		debug.SetMemoryLimit(limit)
	}
	return debug.SetMemoryLimit(-1)
}
