package cli

import (
	"math"
	"runtime/debug"
	"testing"
)

// TestSetMemoryLimit: limits.memory_limit becomes the runtime's soft
// memory limit, 0 none, and GOMEMLIMIT set in the environment wins.
func TestSetMemoryLimit(t *testing.T) {
	old := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(old) })
	t.Setenv("GOMEMLIMIT", "")
	if got := setMemoryLimit(256 << 20); got != 256<<20 {
		t.Errorf("limit 256 MiB: in effect %d", got)
	}
	if got := setMemoryLimit(0); got != math.MaxInt64 {
		t.Errorf("limit 0: in effect %d, want none", got)
	}
	debug.SetMemoryLimit(300 << 20) // as the runtime would from GOMEMLIMIT=300MiB
	t.Setenv("GOMEMLIMIT", "300MiB")
	if got := setMemoryLimit(256 << 20); got != 300<<20 {
		t.Errorf("with GOMEMLIMIT: in effect %d, want GOMEMLIMIT's", got)
	}
}
