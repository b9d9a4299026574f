// Command idleload measures how fast an IMAP server (Rookery, Dovecot, any)
// takes many clients from connecting to idling: N connections, at most C
// setting up at once, each LOGIN (users user1..userM), SELECT INBOX and
// IDLE. It reports the time until all N are idling, per-connection setup
// latency percentiles and failures, holds them idle for a while, then ends
// each with DONE and LOGOUT. Run it in its own process, apart from the
// server (each connection is a file descriptor).
//
// With several -addr servers (nodes of one installation) connection i
// goes to the i-th modulo their number. With -push K, once all are
// idling, a client on -push-addr (default: the first server) APPENDs K
// messages, one at a time and to the users in turn, and the tool
// measures how long each takes to reach every idling session of its
// user as an EXISTS (push latency), reported separately for sessions on
// the pushing server and on the others (cross-node).
//
//	go run ./tests/idleload -addr 127.0.0.1:1143 -n 1000 -c 50 -users 20
//	go run ./tests/idleload -addr 127.0.0.1:1143,127.0.0.1:2143 -n 1000 -push 40
package main

import (
	"bufio"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout)) }

// run is main with its arguments and output; it returns the exit code.
func run(args []string, out io.Writer) int {
	fs := flag.NewFlagSet("idleload", flag.ContinueOnError)
	addrList := fs.String("addr", "127.0.0.1:1143", "IMAP server host:port, or several separated by commas (connection i goes to the i-th modulo their number)")
	push := fs.Int("push", 0, "APPENDs to measure the push latency with, once all connections idle (0: none)")
	pushAddr := fs.String("push-addr", "", "server the APPENDs go to (default: the first -addr)")
	useTLS := fs.Bool("tls", false, "implicit TLS (certificate not verified)")
	n := fs.Int("n", 1000, "connections")
	conc := fs.Int("c", 50, "connections setting up at once")
	users := fs.Int("users", 20, "users user1..userN")
	format := fs.String("user-format", "user%d", "user name format (fmt, with the user number; without a verb: one user)")
	pass := fs.String("pass", "pass", "password of every user")
	hold := fs.Duration("hold", 3*time.Second, "how long all connections stay idle")
	timeout := fs.Duration("timeout", 60*time.Second, "time allowed for one connection's setup")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var addrs []string
	for a := range strings.SplitSeq(*addrList, ",") {
		if a = strings.TrimSpace(a); a != "" {
			addrs = append(addrs, a)
		}
	}
	if len(addrs) == 0 || *push < 0 {
		fmt.Fprintln(out, "idleload: -addr names no server, or -push < 0")
		return 2
	}
	if *pushAddr == "" {
		*pushAddr = addrs[0]
	}

	var (
		mu      sync.Mutex
		lat     []time.Duration
		errs    []string
		failed  atomic.Int64
		idle    = make([]*client, *n)
		next    atomic.Int64
		started = time.Now()
	)
	var wg sync.WaitGroup
	for range *conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= *n {
					return
				}
				t0 := time.Now()
				user := *format
				if strings.Contains(user, "%") {
					user = fmt.Sprintf(user, 1+i%*users)
				}
				c, err := setup(addrs[i%len(addrs)], *useTLS, user, *pass, *timeout)
				d := time.Since(t0)
				mu.Lock()
				if err != nil {
					failed.Add(1)
					if len(errs) < 5 {
						errs = append(errs, err.Error())
					}
				} else {
					lat = append(lat, d)
					idle[i] = c
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	total := time.Since(started)
	slices.Sort(lat)
	pct := func(p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(p*float64(len(lat))))]
	}
	fmt.Fprintf(out, "%d of %d connections idling after %.2f s (%d at once): %.0f setups/s\n",
		len(lat), *n, total.Seconds(), *conc, float64(len(lat))/total.Seconds())
	fmt.Fprintf(out, "setup latency: p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms; failures %d\n",
		ms(pct(.5)), ms(pct(.9)), ms(pct(.99)), ms(pct(1)), failed.Load())
	for _, e := range errs {
		fmt.Fprintln(out, "  error:", e)
	}
	if *push > 0 {
		if err := measurePush(out, idle, *pushAddr, *useTLS, *pass, *timeout, *push); err != nil {
			fmt.Fprintln(out, "push:", err)
			failed.Add(1)
		}
	}
	time.Sleep(*hold)
	var ended sync.WaitGroup
	for _, c := range idle {
		if c == nil {
			continue
		}
		ended.Add(1)
		go func() {
			defer ended.Done()
			c.end()
		}()
	}
	ended.Wait()
	if failed.Load() > 0 {
		return 1
	}
	return 0
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// client is one connection, idling after setup.
type client struct {
	nc   net.Conn
	r    *bufio.Reader
	addr string
	user string
	// With a push measurement, watch reads the connection: exists gets
	// the arrival time of each EXISTS, and done is closed when the
	// reading ends (end waits for it).
	exists chan time.Time
	done   chan struct{}
}

// watch reads what the server sends an idling client until the
// connection ends or the LOGOUT of end is answered.
func (c *client) watch() {
	defer close(c.done)
	for {
		line, err := c.r.ReadString('\n')
		if err != nil || strings.HasPrefix(line, "d ") {
			return
		}
		if strings.HasPrefix(line, "* ") && strings.HasSuffix(strings.TrimSpace(line), " EXISTS") {
			select {
			case c.exists <- time.Now():
			default:
			}
		}
	}
}

// measurePush APPENDs k messages through a connection per user to
// pushAddr, one at a time, and measures for each how long after it was
// sent every idling session of its user saw an EXISTS.
func measurePush(out io.Writer, idle []*client, pushAddr string, useTLS bool, pass string, timeout time.Duration, k int) error {
	byUser := map[string][]*client{}
	var users []string
	for _, c := range idle {
		if c == nil {
			continue
		}
		if byUser[c.user] == nil {
			users = append(users, c.user)
		}
		byUser[c.user] = append(byUser[c.user], c)
		c.exists, c.done = make(chan time.Time, 64), make(chan struct{})
		go c.watch()
	}
	if len(users) == 0 {
		return errors.New("no idling session")
	}
	pushers := map[string]*client{}
	defer func() {
		for _, p := range pushers {
			p.nc.Close()
		}
	}()
	var same, cross []time.Duration
	missed := 0
	for i := range k {
		user := users[i%len(users)]
		p := pushers[user]
		if p == nil {
			var err error
			if p, err = dialLogin(pushAddr, useTLS, user, pass, timeout); err != nil {
				return err
			}
			pushers[user] = p
		}
		msg := fmt.Sprintf("From: idleload@example.org\r\nSubject: push %d\r\nMessage-ID: <push%d.%d@idleload>\r\n\r\npush %d\r\n", i, i, time.Now().UnixNano(), i)
		for _, c := range byUser[user] {
			drainTimes(c.exists)
		}
		t0 := time.Now()
		_ = p.nc.SetDeadline(time.Now().Add(timeout))
		if err := p.run(fmt.Sprintf("p APPEND INBOX {%d+}\r\n%s", len(msg), msg)); err != nil {
			return fmt.Errorf("APPEND: %w", err)
		}
		deadline := time.After(timeout)
		for _, c := range byUser[user] {
			select {
			case at := <-c.exists:
				if c.addr == pushAddr {
					same = append(same, at.Sub(t0))
				} else {
					cross = append(cross, at.Sub(t0))
				}
			case <-deadline:
				missed++
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	report := func(what string, lat []time.Duration) {
		if len(lat) == 0 {
			return
		}
		slices.Sort(lat)
		p := func(q float64) float64 { return ms(lat[min(len(lat)-1, int(q*float64(len(lat))))]) }
		fmt.Fprintf(out, "push latency, %s: %d deliveries, p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms\n", what, len(lat), p(.5), p(.9), p(.99), p(1))
	}
	fmt.Fprintf(out, "push: %d APPENDs through %s to %d users\n", k, pushAddr, len(users))
	report("same server", same)
	report("other servers (cross-node)", cross)
	if missed > 0 {
		return fmt.Errorf("%d sessions saw no EXISTS within %v", missed, timeout)
	}
	return nil
}

func drainTimes(ch chan time.Time) {
	for {
		select {
		case <-ch:
		default:
			return
		}
	}
}

// dialLogin connects and logs in.
func dialLogin(addr string, useTLS bool, user, pass string, timeout time.Duration) (*client, error) {
	var nc net.Conn
	var err error
	d := net.Dialer{Timeout: timeout}
	if useTLS {
		nc, err = tls.DialWithDialer(&d, "tcp", addr, &tls.Config{InsecureSkipVerify: true})
	} else {
		nc, err = d.Dial("tcp", addr)
	}
	if err != nil {
		return nil, err
	}
	_ = nc.SetDeadline(time.Now().Add(timeout))
	c := &client{nc: nc, r: bufio.NewReader(nc), addr: addr, user: user}
	if line, err := c.r.ReadString('\n'); err != nil || !strings.HasPrefix(line, "* OK") {
		nc.Close()
		return nil, fmt.Errorf("greeting %q: %v", strings.TrimSpace(line), err)
	}
	if err := c.run("a LOGIN " + user + " " + pass); err != nil {
		nc.Close()
		return nil, err
	}
	return c, nil
}

// setup connects, logs in, selects INBOX and starts IDLE.
func setup(addr string, useTLS bool, user, pass string, timeout time.Duration) (*client, error) {
	c, err := dialLogin(addr, useTLS, user, pass, timeout)
	if err != nil {
		return nil, err
	}
	nc := c.nc
	if err := c.run("b SELECT INBOX"); err != nil {
		nc.Close()
		return nil, err
	}
	if _, err := fmt.Fprintf(nc, "c IDLE\r\n"); err != nil {
		nc.Close()
		return nil, err
	}
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			nc.Close()
			return nil, fmt.Errorf("IDLE: %w", err)
		}
		if strings.HasPrefix(line, "+") {
			break
		}
		if strings.HasPrefix(line, "c ") {
			nc.Close()
			return nil, fmt.Errorf("IDLE: %s", strings.TrimSpace(line))
		}
	}
	_ = nc.SetDeadline(time.Time{})
	return c, nil
}

// run sends a tagged command and reads to its tagged response, which
// must be OK.
func (c *client) run(cmd string) error {
	tag, _, _ := strings.Cut(cmd, " ")
	if _, err := fmt.Fprintf(c.nc, "%s\r\n", cmd); err != nil {
		return err
	}
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			return fmt.Errorf("%s: %w", cmd, err)
		}
		if strings.HasPrefix(line, tag+" ") {
			if !strings.HasPrefix(line, tag+" OK") {
				return errors.New(strings.TrimSpace(line))
			}
			return nil
		}
	}
}

// end leaves IDLE and logs out (bounded by a deadline).
func (c *client) end() {
	_ = c.nc.SetDeadline(time.Now().Add(10 * time.Second))
	_, _ = fmt.Fprintf(c.nc, "DONE\r\nd LOGOUT\r\n")
	if c.done != nil { // watch reads
		<-c.done
		_ = c.nc.Close()
		return
	}
	for {
		line, err := c.r.ReadString('\n')
		if err != nil || strings.HasPrefix(line, "d ") {
			break
		}
	}
	_ = c.nc.Close()
}
