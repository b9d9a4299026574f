package imapserver_test

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"runtime/pprof"
	"testing"
	"time"

	"rookery/internal/imapserver"
	"rookery/internal/imaptest"
)

// idleSessionMemory opens n sessions to srv that log in as alice, select
// INBOX and idle, and returns the growth of the process's live heap and of
// its goroutine stacks per session, measured after a collection. The
// client side is a bare TCP connection per session (a few hundred bytes of
// the heap figure); the sessions are opened one after the other, so no
// client goroutine is counted.
func idleSessionMemory(tb testing.TB, srv *imaptest.Server, n int) (heap, stack float64) {
	tb.Helper()
	return sessionMemory(tb, srv, n, "a LOGIN alice "+imaptest.Users["alice"]+"\r\nb SELECT INBOX\r\nc IDLE\r\n", "\r\n+ idling\r\n")
}

// sessionMemory is idleSessionMemory for sessions that the client sets up
// by sending setup and that are ready once it received ready.
func sessionMemory(tb testing.TB, srv *imaptest.Server, n int, setup, ready string) (heap, stack float64) {
	tb.Helper()
	buf := make([]byte, 64<<10)
	open := func() net.Conn {
		nc, err := net.Dial("tcp", srv.Addr)
		if err != nil {
			tb.Fatal(err)
		}
		_ = nc.SetDeadline(time.Now().Add(time.Minute))
		if _, err := io.WriteString(nc, setup); err != nil {
			tb.Fatal(err)
		}
		var acc []byte
		for !bytes.Contains(acc, []byte(ready)) {
			k, err := nc.Read(buf)
			if err != nil {
				tb.Fatalf("session setup: %v after %q", err, acc)
			}
			acc = append(acc, buf[:k]...)
			if bytes.Contains(acc, []byte(" NO ")) || bytes.Contains(acc, []byte(" BAD ")) {
				tb.Fatalf("session setup: %q", acc)
			}
			if len(acc) > 4096 {
				acc = acc[len(acc)-64:]
			}
		}
		_ = nc.SetDeadline(time.Time{})
		return nc
	}
	// Warm up: the first sessions fill the store's and the server's
	// caches and pools, which every later session shares.
	var conns []net.Conn
	defer func() {
		for _, nc := range conns {
			nc.Close()
		}
	}()
	for range 10 {
		conns = append(conns, open())
	}
	measure := func() (heap, stack uint64) {
		var ms runtime.MemStats
		runtime.GC()
		runtime.GC()
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc, ms.StackInuse
	}
	// Sessions waiting for a command give their buffers back after
	// the grace period (conn.waitInput); idling ones at once.
	settle := func() { time.Sleep(imapserver.BufferGrace + 200*time.Millisecond) }
	settle()
	h0, s0 := measure()
	for range n {
		conns = append(conns, open())
	}
	settle()
	h1, s1 := measure()
	if path := os.Getenv("ROOKERY_SESSION_HEAPPROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			tb.Fatal(err)
		}
		if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
			tb.Fatal(err)
		}
		f.Close()
	}
	return (float64(h1) - float64(h0)) / float64(n), (float64(s1) - float64(s0)) / float64(n)
}

// TestIdleSessionMemory checks what an idle session holds with a selected
// 10,000-message mailbox: the design's target is 20 KB per idle session,
// goroutine stack included. The heap part is bounded at 12 KiB (the stack
// of the session goroutine is 8 KiB): a view holding a UID and a
// mod-sequence per message (12 bytes each, 120 KB here) fails it.
func TestIdleSessionMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("fills a 10,000-message mailbox")
	}
	srv := benchServer(t)
	fillMailbox(t, srv, 10_000)
	heap, stack := idleSessionMemory(t, srv, 100)
	t.Logf("per idle session, 10,000 messages selected: heap %.0f B, stacks %.0f B", heap, stack)
	if heap > 12<<10 {
		t.Errorf("heap per idle session = %.0f B, want ≤ %d", heap, 12<<10)
	}
}

// TestWaitingSessionMemory checks what a session holds while it waits
// for its client's next command, before login and after it with INBOX
// selected: it gives its read and write buffers (16 KiB each) back once
// it has waited for imapserver.BufferGrace, as in IDLE, so its heap stays
// within the 12 KiB of an idle session (before: 34 and 35 KiB).
func TestWaitingSessionMemory(t *testing.T) {
	srv := benchServer(t)
	fillMailbox(t, srv, 10)
	for _, tc := range []struct{ name, setup, ready string }{
		{"before login", "", "Rookery ready\r\n"},
		{"selected", "a LOGIN alice " + imaptest.Users["alice"] + "\r\nb SELECT INBOX\r\n", "\r\nb OK"},
	} {
		heap, stack := sessionMemory(t, srv, 100, tc.setup, tc.ready)
		t.Logf("per session waiting for a command, %s: heap %.0f B, stacks %.0f B", tc.name, heap, stack)
		if heap > 12<<10 {
			t.Errorf("%s: heap per waiting session = %.0f B, want ≤ %d", tc.name, heap, 12<<10)
		}
	}
}

// BenchmarkIdleSessionMemory reports the heap and stack growth per idle
// session (logged in, INBOX selected, in IDLE) with an empty INBOX and a
// 10,000-message one.
func BenchmarkIdleSessionMemory(b *testing.B) {
	for _, msgs := range []int{0, 10_000} {
		b.Run(fmt.Sprintf("msgs=%d", msgs), func(b *testing.B) {
			srv := benchServer(b)
			fillMailbox(b, srv, msgs)
			var heap, stack float64
			for range b.N {
				heap, stack = idleSessionMemory(b, srv, 200)
			}
			b.ReportMetric(heap, "heap-B/session")
			b.ReportMetric(stack, "stack-B/session")
			b.ReportMetric(heap+stack, "B/session")
		})
	}
}
