package imapserver_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"

	"rookery/internal/imapserver"
	"rookery/internal/imaptest"
)

// cheapHash is an argon2id PHC string with the smallest parameters, so
// that thousands of benchmark logins do not measure password hashing.
func cheapHash(pw string) string {
	salt := []byte("benchmark-salt-1")
	key := argon2.IDKey([]byte(pw), salt, 1, 8, 1, 32)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=8,t=1,p=1$%s$%s", argon2.Version, b64.EncodeToString(salt), b64.EncodeToString(key))
}

func benchServer(b testing.TB) *imaptest.Server {
	srv := imaptest.StartServer(b, func(o *imapserver.Options) {
		o.MaxConnsPerUser, o.MaxConnsPerIP = -1, -1
		o.MaxConns, o.MaxUnauthConns, o.MaxUnauthConnsPerIP = -1, -1, -1
	})
	if err := srv.Store.SetPasswordHash(context.Background(), "alice", cheapHash(imaptest.Users["alice"])); err != nil {
		b.Fatal(err)
	}
	return srv
}

// idler is a session that selected INBOX and is idling.
type idler struct {
	nc net.Conn
	br *bufio.Reader
}

func startIdler(addr string, qresync bool) (*idler, error) {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	_ = nc.SetDeadline(time.Now().Add(2 * time.Minute))
	c := &idler{nc: nc, br: bufio.NewReaderSize(nc, 4096)}
	script := "a LOGIN alice " + imaptest.Users["alice"] + "\r\nb SELECT INBOX\r\nc IDLE\r\n"
	if qresync {
		script = "a LOGIN alice " + imaptest.Users["alice"] + "\r\nq ENABLE QRESYNC\r\nb SELECT INBOX\r\nc IDLE\r\n"
	}
	if _, err := nc.Write([]byte(script)); err != nil {
		return nil, err
	}
	for {
		l, err := c.br.ReadString('\n')
		if err != nil {
			nc.Close()
			return nil, err
		}
		if strings.HasPrefix(l, "+ ") {
			break
		}
		if strings.HasPrefix(l, "a NO") || strings.HasPrefix(l, "b NO") || strings.Contains(l, " BAD ") {
			nc.Close()
			return nil, fmt.Errorf("setup: %s", l)
		}
	}
	_ = nc.SetDeadline(time.Time{})
	return c, nil
}

// BenchmarkIdlePush measures the time from a STORE in one session to the
// untagged FETCH arriving at each of 100 idling sessions.
func BenchmarkIdlePush(b *testing.B) {
	srv := benchServer(b)
	w := benchDial(b, srv.Addr, "alice")
	w.cmd(b, "APPEND INBOX {3+}\r\nabc")
	w.cmd(b, "SELECT INBOX")
	const n = 100
	idlers := make([]*idler, n)
	for i := range idlers {
		c, err := startIdler(srv.Addr, false)
		if err != nil {
			b.Fatal(err)
		}
		defer c.nc.Close()
		idlers[i] = c
	}
	var lat []time.Duration
	var mu sync.Mutex
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		op := "+FLAGS"
		if i%2 == 1 {
			op = "-FLAGS"
		}
		var wg sync.WaitGroup
		start := time.Now()
		for _, c := range idlers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_ = c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
				for {
					l, err := c.br.ReadString('\n')
					if err != nil {
						b.Error(err)
						return
					}
					if strings.Contains(l, " FETCH ") {
						d := time.Since(start)
						mu.Lock()
						lat = append(lat, d)
						mu.Unlock()
						return
					}
				}
			}()
		}
		w.cmd(b, "STORE 1 "+op+".SILENT (\\Flagged)")
		wg.Wait()
	}
	b.StopTimer()
	slices.Sort(lat)
	if len(lat) > 0 {
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	}
}

// BenchmarkChangedSince100k measures UID FETCH 1:* (FLAGS) (CHANGEDSINCE n)
// on a 100,000-message mailbox where 100 messages changed after n.
func BenchmarkChangedSince100k(b *testing.B) {
	srv := bigServer(b)
	c := benchDial(b, srv.Addr, "alice")
	c.cmd(b, "SELECT INBOX")
	// The mod-sequence before the changes, then 100 spread-out changes.
	since := highestModSeq(b, c)
	for i := 0; i < 100; i++ {
		c.cmd(b, fmt.Sprintf("UID STORE %d +FLAGS.SILENT ($Bench%d)", 1+i*997, since))
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if got := c.cmd(b, fmt.Sprintf("UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d)", since)); got != 100 {
			b.Fatalf("got %d FETCH lines, want 100", got)
		}
	}
}

// highestModSeq asks STATUS for the selected INBOX's HIGHESTMODSEQ.
func highestModSeq(b *testing.B, c *benchConn) uint64 {
	c.tag++
	tag := fmt.Sprintf("h%d", c.tag)
	fmt.Fprintf(c.nc, "%s STATUS INBOX (HIGHESTMODSEQ)\r\n", tag)
	var ms uint64
	for {
		l, err := c.br.ReadString('\n')
		if err != nil {
			b.Fatal(err)
		}
		if i := strings.Index(l, "HIGHESTMODSEQ "); i >= 0 && strings.HasPrefix(l, "* STATUS") {
			f := strings.TrimRight(l[i+len("HIGHESTMODSEQ "):], ")\r\n")
			ms, _ = strconv.ParseUint(f, 10, 64)
		}
		if strings.HasPrefix(l, tag+" ") {
			return ms
		}
	}
}

// TestIdleMemoryServer is the server process of BenchmarkIdleMemory: it runs
// only when the benchmark starts this test binary again with
// ROOKERY_IDLE_SERVER=1, prints its address and pid, and serves until its
// standard input closes.
func TestIdleMemoryServer(t *testing.T) {
	if os.Getenv("ROOKERY_IDLE_SERVER") != "1" {
		t.Skip("server half of BenchmarkIdleMemory")
	}
	srv := benchServer(t)
	fmt.Printf("ADDR %s\n", srv.Addr)
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		// "stats": report where the memory is; "free" also returns the
		// freed heap to the system first.
		if in.Text() == "free" {
			debug.FreeOSMemory()
		}
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		fmt.Printf("STATS heap-inuse=%dMiB stack-inuse=%dMiB sys=%dMiB goroutines=%d\n",
			ms.HeapInuse>>20, ms.StackInuse>>20, ms.Sys>>20, runtime.NumGoroutine())
	}
}

// BenchmarkIdleMemory opens ROOKERY_IDLE_CONNS (default 10,000) idling
// authenticated connections to a server in another process and reports the
// growth of that process's resident set per connection.
func BenchmarkIdleMemory(b *testing.B) {
	if runtime.GOOS != "linux" {
		b.Skip("reads /proc")
	}
	conns := 10_000
	if v, err := strconv.Atoi(os.Getenv("ROOKERY_IDLE_CONNS")); err == nil && v > 0 {
		conns = v
	}
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^TestIdleMemoryServer$", "-test.v")
	cmd.Env = append(os.Environ(), "ROOKERY_IDLE_SERVER=1")
	stdin, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { stdin.Close(); _ = cmd.Wait() }()
	sc := bufio.NewScanner(out)
	addr := ""
	for sc.Scan() {
		if a, ok := strings.CutPrefix(sc.Text(), "ADDR "); ok {
			addr = a
			break
		}
	}
	if addr == "" {
		b.Fatal("server did not start")
	}
	stats := make(chan string, 1)
	go func() {
		for sc.Scan() {
			if st, ok := strings.CutPrefix(sc.Text(), "STATS "); ok {
				stats <- st
			}
		}
	}()
	rss := func() int64 {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
		if err != nil {
			b.Fatal(err)
		}
		for _, l := range strings.Split(string(data), "\n") {
			if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
				kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
				return kb << 10
			}
		}
		return 0
	}
	// Warm up: a few sessions, so that the baseline holds the store's
	// caches and the runtime's first arenas.
	var idlers []*idler
	for i := 0; i < 50; i++ {
		c, err := startIdler(addr, false)
		if err != nil {
			b.Fatal(err)
		}
		idlers = append(idlers, c)
	}
	time.Sleep(time.Second)
	base := rss()
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	var firstErr error
	for i := 50; i < conns; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c, err := startIdler(addr, i%2 == 0)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if firstErr == nil {
					firstErr = err
				}
				return
			}
			idlers = append(idlers, c)
		}()
	}
	wg.Wait()
	if firstErr != nil {
		b.Fatal(firstErr)
	}
	defer func() {
		for _, c := range idlers {
			c.nc.Close()
		}
	}()
	// Let the server's GC and scavenger settle.
	time.Sleep(10 * time.Second)
	after := rss()
	per := float64(after-base) / float64(conns-50)
	b.ReportMetric(per/1024, "KiB/conn")
	b.ReportMetric(float64(after)/(1<<20), "MiB-rss")
	b.Logf("%d idling connections: RSS %d MiB → %d MiB, %.1f KiB per connection", conns, base>>20, after>>20, per/1024)
	// A long-running server collects at least every two minutes, and each
	// collection halves the stacks that grew during login and SELECT:
	// three collections stand for a few minutes of idling.
	for i := 0; i < 3; i++ {
		fmt.Fprintln(stdin, "stats")
		select {
		case st := <-stats:
			b.Logf("server after GC %d: %s", i+1, st)
		case <-time.After(30 * time.Second):
		}
	}
	time.Sleep(5 * time.Second)
	settled := rss()
	b.ReportMetric(float64(settled-base)/float64(conns-50)/1024, "KiB/conn-after-gc")
	b.Logf("after three collections: RSS %d MiB, %.1f KiB per connection", settled>>20, float64(settled-base)/float64(conns-50)/1024)
	// What the connections hold, without the freed heap the runtime has
	// not yet given back (its scavenger does so over minutes).
	fmt.Fprintln(stdin, "free")
	select {
	case st := <-stats:
		b.Logf("server after FreeOSMemory: %s", st)
	case <-time.After(30 * time.Second):
	}
	held := rss()
	b.ReportMetric(float64(held-base)/float64(conns-50)/1024, "KiB/conn-held")
	b.Logf("after FreeOSMemory: RSS %d MiB, %.1f KiB per connection", held>>20, float64(held-base)/float64(conns-50)/1024)
	for i := 0; i < b.N; i++ {
	}
}
