package imapserver_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"rookery/internal/imaptest"
	"rookery/internal/ingest"
	"rookery/internal/store"
)

// benchConn is a minimal raw IMAP client for benchmarks: it counts
// response lines instead of keeping them.
type benchConn struct {
	nc  net.Conn
	br  *bufio.Reader
	tag int
}

func benchDial(b *testing.B, addr, user string) *benchConn {
	b.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	c := &benchConn{nc: nc, br: bufio.NewReaderSize(nc, 64<<10)}
	_ = nc.SetDeadline(time.Now().Add(10 * time.Minute))
	if _, err := c.br.ReadString('\n'); err != nil {
		b.Fatal(err)
	}
	c.cmd(b, "LOGIN "+user+" "+imaptest.Users[user])
	return c
}

// cmd sends a command and reads up to its tagged response, which must be OK;
// it returns the number of untagged lines.
func (c *benchConn) cmd(b *testing.B, line string) int {
	c.tag++
	tag := fmt.Sprintf("b%d", c.tag)
	if _, err := fmt.Fprintf(c.nc, "%s %s\r\n", tag, line); err != nil {
		b.Fatal(err)
	}
	return c.wait(b, tag)
}

func (c *benchConn) wait(b *testing.B, tag string) int {
	n := 0
	prefix := []byte(tag + " ")
	for {
		l, err := c.br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			b.Fatal(err)
		}
		if bytes.HasPrefix(l, prefix) {
			if !bytes.HasPrefix(l[len(prefix):], []byte("OK")) {
				b.Fatalf("%s: %s", tag, l)
			}
			return n
		}
		n++
	}
}

// message makes a distinct message of about size bytes.
func message(i, size int) []byte {
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "From: bench@example.org\r\nTo: alice@example.org\r\nSubject: benchmark %d\r\nMessage-ID: <%d@bench>\r\n\r\n", i, i)
	line := strings.Repeat("lorem ipsum dolor sit amet ", 2) + "\r\n"
	for buf.Len() < size {
		buf.WriteString(line)
	}
	return buf.Bytes()
}

// BenchmarkAppendDurable measures durable APPENDs of ~5 KB messages from 8
// concurrent clients (non-synchronizing literals, each OK after fsync).
func BenchmarkAppendDurable(b *testing.B) {
	srv := imaptest.StartServer(b)
	const clients = 8
	conns := make([]*benchConn, clients)
	for i := range conns {
		conns[i] = benchDial(b, srv.Addr, "alice")
	}
	var next atomic.Int64
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Add(1)
		go func(c *benchConn) {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					return
				}
				msg := message(int(i), 5000)
				c.tag++
				tag := fmt.Sprintf("a%d", c.tag)
				if _, err := fmt.Fprintf(c.nc, "%s APPEND INBOX {%d+}\r\n%s\r\n", tag, len(msg), msg); err != nil {
					b.Error(err)
					return
				}
				c.wait(b, tag)
			}
		}(c)
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}

// BenchmarkAppendDurableFlat appends 100,000 ~5 KB messages to one
// mailbox from 8 clients, as BenchmarkAppendDurable does, and reports the
// rate over the first and the last 10,000: durable APPEND must not slow
// down as the mailbox grows. Run it alone: -bench AppendDurableFlat
// -benchtime 1x (one run is 100,000 messages).
func BenchmarkAppendDurableFlat(b *testing.B) {
	const total, block = 100_000, 10_000
	for range b.N {
		srv := imaptest.StartServer(b)
		const clients = 8
		conns := make([]*benchConn, clients)
		for i := range conns {
			conns[i] = benchDial(b, srv.Addr, "alice")
		}
		var next, done atomic.Int64
		var mu sync.Mutex
		marks := map[int64]time.Time{0: time.Now()}
		var wg sync.WaitGroup
		for _, c := range conns {
			wg.Add(1)
			go func(c *benchConn) {
				defer wg.Done()
				for {
					i := next.Add(1)
					if i > total {
						return
					}
					msg := message(int(i), 5000)
					c.tag++
					tag := fmt.Sprintf("a%d", c.tag)
					if _, err := fmt.Fprintf(c.nc, "%s APPEND INBOX {%d+}\r\n%s\r\n", tag, len(msg), msg); err != nil {
						b.Error(err)
						return
					}
					c.wait(b, tag)
					if n := done.Add(1); n%block == 0 {
						mu.Lock()
						marks[n] = time.Now()
						mu.Unlock()
					}
				}
			}(c)
		}
		wg.Wait()
		rate := func(from int64) float64 { return block / marks[from+block].Sub(marks[from]).Seconds() }
		b.ReportMetric(rate(0), "first10k-msgs/s")
		b.ReportMetric(rate(total-block), "last10k-msgs/s")
		b.ReportMetric(total/marks[total].Sub(marks[0]).Seconds(), "msgs/s")
	}
}

// fillMailbox puts n messages into alice's INBOX through the store.
func fillMailbox(b testing.TB, srv *imaptest.Server, n int) {
	ctx := context.Background()
	acct, err := srv.Store.Account(ctx, "alice")
	if err != nil {
		b.Fatal(err)
	}
	mb, err := srv.Store.Mailbox(ctx, acct.ID, "INBOX")
	if err != nil {
		b.Fatal(err)
	}
	ref, err := ingest.Write(ctx, srv.Store, bytes.NewReader(message(0, 5000)), -1, nil)
	if err != nil {
		b.Fatal(err)
	}
	const batch = 1000
	msgs := make([]store.NewMessage, batch)
	for i := range msgs {
		msgs[i] = store.NewMessage{Blob: ref}
		if i%3 == 0 {
			msgs[i].Flags.Sys = store.FlagSeen
		}
	}
	for done := 0; done < n; done += batch {
		if _, err := srv.Store.Append(ctx, mb.ID, msgs[:min(batch, n-done)]); err != nil {
			b.Fatal(err)
		}
	}
}

var big struct {
	once sync.Once
	srv  *imaptest.Server
}

// benchBackend is the backend of the shared benchmark servers (bigServer,
// searchServer): ROOKERY_BENCH_BACKEND=postgres runs them on PostgreSQL
// (pgtest's server; its database is left behind), for the side-by-side
// comparison of the backends; the embedded store otherwise.
func benchBackend() imaptest.Backend {
	if os.Getenv("ROOKERY_BENCH_BACKEND") == string(imaptest.Postgres) {
		return imaptest.Postgres
	}
	return imaptest.SQLite
}

// bigServer is one server with a 100,000-message INBOX shared by the
// benchmarks that read it.
func bigServer(b *testing.B) *imaptest.Server {
	big.once.Do(func() {
		// The server outlives this benchmark; it is torn down with the
		// process.
		srv := imaptest.StartServerOn(keepDir{nopCleanup{b}}, benchBackend(), imaptest.DefaultMailboxLimits())
		fillMailbox(b, srv, 100_000)
		big.srv = srv
	})
	if big.srv == nil {
		b.Fatal("setup failed")
	}
	return big.srv
}

// nopCleanup keeps a shared server alive past the benchmark that built it.
type nopCleanup struct{ *testing.B }

func (nopCleanup) Cleanup(func()) {}

// BenchmarkSelect100k measures SELECT of a 100,000-message mailbox.
func BenchmarkSelect100k(b *testing.B) {
	srv := bigServer(b)
	c := benchDial(b, srv.Addr, "alice")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.cmd(b, "SELECT INBOX")
	}
}

// BenchmarkFetchFlags100k measures FETCH 1:* (UID FLAGS) of a
// 100,000-message mailbox.
func BenchmarkFetchFlags100k(b *testing.B) {
	srv := bigServer(b)
	c := benchDial(b, srv.Addr, "alice")
	c.cmd(b, "EXAMINE INBOX")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if n := c.cmd(b, "FETCH 1:* (UID FLAGS)"); n != 100_000 {
			b.Fatalf("got %d FETCH lines", n)
		}
	}
}
