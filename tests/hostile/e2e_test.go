package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"rookery/internal/imaptest"
)

// TestAgainstRookery attacks an in-process Rookery (alice well-behaved,
// bob hostile) for a few seconds: every hostile action must have run
// (one worker per action, and worker i starts with the i-th, so each
// runs however slow the machine), the well-behaved client must have been
// answered every time (within the generous -timeout; no latency bound
// beyond that), and the server must still answer afterwards. The RSS sampled is this test process's own,
// which holds the server (and the generator, at the Go runtime's default
// GC percent, not serve's): it must stay within e2eMaxRSS.
func TestAgainstRookery(t *testing.T) {
	srv := imaptest.StartServer(t)
	var out, errOut strings.Builder
	args := []string{"-addr", srv.Addr, "-good-user", "alice", "-hostile-user", "bob", "-pass", "pass",
		"-conns", strconv.Itoa(len(actions)), "-slowloris", "2", "-duration", "4s", "-hold", "300ms", "-timeout", "30s",
		"-max-p99", "30s", "-server-pid", strconv.Itoa(os.Getpid()), "-max-rss", e2eMaxRSS, "-json"}
	code := run(context.Background(), args, &out, &errOut)
	t.Logf("report:\n%s", errOut.String())
	var rep report
	if err := json.Unmarshal([]byte(out.String()), &rep); err != nil {
		t.Fatalf("exit %d, report %q: %v", code, out.String(), err)
	}
	if code != 0 || len(rep.Verdict) > 0 {
		t.Errorf("exit %d, verdict %q", code, rep.Verdict)
	}
	if rep.GoodLost != 0 || rep.GoodFail != 0 {
		t.Errorf("well-behaved client: %d unanswered, %d failures: %q", rep.GoodLost, rep.GoodFail, rep.GoodErrs)
	}
	byName := map[string]latencyRow{}
	for _, r := range rep.Good {
		byName[r.Name] = r
	}
	for _, name := range []string{"login", "select", "fetch", "noop"} {
		if byName[name].Count == 0 {
			t.Errorf("well-behaved %s never answered", name)
		}
	}
	for _, a := range actions {
		if rep.Actions[a.name].Count == 0 {
			t.Errorf("action %s never ran", a.name)
		}
	}
	if rep.Actions["slowloris"].Count == 0 {
		t.Error("no slowloris connection")
	}
	// Rookery never asks for a literal it cannot take.
	if n := rep.Responses["huge+"]; n != 0 {
		t.Errorf("%d unexpected continuation requests", n)
	}
	if rep.PeakRSS <= 0 {
		t.Error("no RSS sampled")
	}
}

// TestSilentServer runs against a server that greets and then never
// answers: the run must end on time and fail.
func TestSilentServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.WriteString(c, "* OK silent\r\n")
				r := bufio.NewReader(c)
				for {
					if _, err := r.ReadString('\n'); err != nil {
						return
					}
				}
			}()
		}
	}()
	var out strings.Builder
	t0 := time.Now()
	code := run(context.Background(), []string{"-addr", ln.Addr().String(), "-conns", "2", "-slowloris", "1",
		"-duration", "500ms", "-timeout", "300ms", "-hold", "100ms"}, &out, io.Discard)
	// The prefill fails at its first command.
	if code == 0 {
		t.Errorf("exit 0 against a silent server:\n%s", out.String())
	}
	if el := time.Since(t0); el > 10*time.Second {
		t.Errorf("run took %s", el)
	}
}

// TestParseSize reads the -max-rss values.
func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true},
		{"1234", 1234, true},
		{"512MiB", 512 << 20, true},
		{"2G", 2 << 30, true},
		{"64k", 64 << 10, true},
		{"10MB", 10 << 20, true},
		{"", 0, false},
		{"-1", 0, false},
		{"1T", 0, false},
		{"99999999999G", 0, false},
	} {
		got, err := parseSize(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

// TestLiteralLen finds the literals of response lines.
func TestLiteralLen(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"* 1 FETCH (BODY[] {12}\r\n", 12, true},
		{"* 1 FETCH (BINARY[1] ~{0}\r\n", 0, true},
		{"* OK done\r\n", 0, false},
		{"* OK {x}\r\n", 0, false},
		{"* OK {-1}\r\n", 0, false},
	} {
		got, ok := literalLen([]byte(tc.in))
		if ok != tc.ok || got != tc.want {
			t.Errorf("literalLen(%q) = %d, %v", tc.in, got, ok)
		}
	}
}
