// Command idleload measures how fast an IMAP server (Rookery, Dovecot, any)
// takes many clients from connecting to idling: N connections, at most C
// setting up at once, each LOGIN (users user1..userM), SELECT INBOX and
// IDLE. It reports the time until all N are idling, per-connection setup
// latency percentiles and failures, holds them idle for a while, then ends
// each with DONE and LOGOUT. Run it in its own process, apart from the
// server (each connection is a file descriptor).
//
//	go run ./tests/idleload -addr 127.0.0.1:1143 -n 1000 -c 50 -users 20
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
	addr := fs.String("addr", "127.0.0.1:1143", "IMAP server host:port")
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
				c, err := setup(*addr, *useTLS, user, *pass, *timeout)
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
	nc net.Conn
	r  *bufio.Reader
}

// setup connects, logs in, selects INBOX and starts IDLE.
func setup(addr string, useTLS bool, user, pass string, timeout time.Duration) (*client, error) {
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
	c := &client{nc: nc, r: bufio.NewReader(nc)}
	if line, err := c.r.ReadString('\n'); err != nil || !strings.HasPrefix(line, "* OK") {
		nc.Close()
		return nil, fmt.Errorf("greeting %q: %v", strings.TrimSpace(line), err)
	}
	for _, cmd := range []string{"a LOGIN " + user + " " + pass, "b SELECT INBOX"} {
		if err := c.run(cmd); err != nil {
			nc.Close()
			return nil, err
		}
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
	for {
		line, err := c.r.ReadString('\n')
		if err != nil || strings.HasPrefix(line, "d ") {
			break
		}
	}
	_ = c.nc.Close()
}
