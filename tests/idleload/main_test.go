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

// TestIdlePush: with -push, every idling session of the pushed user
// sees each APPEND, and the latencies are reported.
func TestIdlePush(t *testing.T) {
	srv := imaptest.StartServer(t)
	var out strings.Builder
	code := run([]string{"-addr", srv.Addr + "," + srv.Addr, "-n", "12", "-c", "4", "-users", "2", "-user-format", "alice",
		"-hold", "10ms", "-timeout", "20s", "-push", "4"}, &out)
	if code != 0 || !strings.Contains(out.String(), "push latency, same server: 48 deliveries") {
		t.Fatalf("exit %d:\n%s", code, out.String())
	}
}
