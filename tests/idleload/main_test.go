package main

import (
	"strings"
	"testing"

	"rookery/internal/imaptest"
)

// TestIdleLoad runs the tool against a test server: every connection
// logs in, selects and idles, and the report says so.
func TestIdleLoad(t *testing.T) {
	srv := imaptest.StartServer(t)
	var out strings.Builder
	code := run([]string{"-addr", srv.Addr, "-n", "40", "-c", "8", "-users", "1", "-user-format", "alice",
		"-hold", "100ms", "-timeout", "20s"}, &out)
	if code != 0 || !strings.Contains(out.String(), "40 of 40 connections idling") || !strings.Contains(out.String(), "failures 0") {
		t.Fatalf("exit %d:\n%s", code, out.String())
	}
}
