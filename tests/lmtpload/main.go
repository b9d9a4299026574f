// Command lmtpload measures LMTP delivery throughput against any LMTP
// server (Rookery, Dovecot's lmtp): N concurrent senders, each with its own
// connection, deliver messages of a given size to users user1..userK and
// count only 250 replies (durable deliveries).
//
//	go run ./tests/lmtpload -addr 127.0.0.1:2424 -senders 4 -size 10240 -n 4000
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:24", "LMTP server (host:port or unix:/path)")
	senders := flag.Int("senders", 4, "concurrent connections")
	size := flag.Int("size", 10240, "message size in bytes")
	n := flag.Int("n", 4000, "messages in total")
	users := flag.Int("users", 20, "recipients user1..userN")
	domain := flag.String("domain", "example.org", "recipient domain (\"\": bare user names, as Dovecot's passwd-file wants)")
	flag.Parse()

	body := message(*size)
	var next, ok, failed atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	var firstErr error
	start := time.Now()
	var wg sync.WaitGroup
	for s := 0; s < *senders; s++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := dial(*addr)
			if err != nil {
				mu.Lock()
				firstErr = errors.Join(firstErr, err)
				mu.Unlock()
				return
			}
			defer c.Close()
			var mine []time.Duration
			for {
				i := next.Add(1)
				if i > int64(*n) {
					break
				}
				rcpt := fmt.Sprintf("user%d", 1+i%int64(*users))
				if *domain != "" {
					rcpt += "@" + *domain
				}
				t0 := time.Now()
				if err := send(c, rcpt, body); err != nil {
					failed.Add(1)
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					continue
				}
				mine = append(mine, time.Since(t0))
				ok.Add(1)
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	el := time.Since(start)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[int(p*float64(len(lat)-1))]
	}
	fmt.Printf("addr=%s senders=%d size=%d delivered=%d failed=%d elapsed=%s rate=%.0f msg/s (%.1f MB/s) p50=%s p99=%s\n",
		*addr, *senders, *size, ok.Load(), failed.Load(), el.Round(time.Millisecond),
		float64(ok.Load())/el.Seconds(), float64(ok.Load())*float64(*size)/el.Seconds()/1e6,
		pct(0.5).Round(10*time.Microsecond), pct(0.99).Round(10*time.Microsecond))
	if firstErr != nil {
		fmt.Fprintln(os.Stderr, "first error:", firstErr)
		os.Exit(1)
	}
}

func dial(addr string) (*smtp.Client, error) {
	network := "tcp"
	if p, ok := strings.CutPrefix(addr, "unix:"); ok {
		network, addr = "unix", p
	}
	nc, err := net.Dial(network, addr)
	if err != nil {
		return nil, err
	}
	c := smtp.NewClientLMTP(nc)
	if err := c.Hello("lmtpload"); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func send(c *smtp.Client, rcpt string, body []byte) error {
	if err := c.Mail("load@example.net", nil); err != nil {
		return err
	}
	if err := c.Rcpt(rcpt, nil); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(body); err != nil {
		return err
	}
	_, err = w.CloseWithLMTPResponse()
	return err
}

// message returns a message of about size bytes with 76-column lines and
// a unique-enough Message-ID prefix (each send gets the same body; servers
// that deduplicate content still write per-recipient metadata).
func message(size int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: load@example.net\r\nTo: someone@example.org\r\nSubject: load test\r\nMessage-ID: <%d@lmtpload>\r\nDate: %s\r\n\r\n",
		time.Now().UnixNano(), time.Now().Format(time.RFC1123Z))
	line := strings.Repeat("abcdefghij", 7) + "0123\r\n"
	for b.Len() < size {
		b.WriteString(line)
	}
	return b.Bytes()[: size-2 : size-2]
}
