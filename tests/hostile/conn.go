package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"
)

// kind is how the server answered one hostile command.
type kind int

const (
	kindOK      kind = iota // tagged OK
	kindNO                  // tagged NO
	kindBAD                 // tagged BAD (or untagged BAD for a line without a usable tag)
	kindBYE                 // untagged BYE, then the connection ends
	kindClosed              // connection closed or reset by the server without BYE
	kindTimeout             // nothing conclusive within -timeout
	kindCont                // a continuation request (where the command may get one)
	kindHuge                // a continuation request for a literal no server should take
	kindLeft                // the generator left on purpose (cut literal, IDLE without DONE)
	numKinds
)

var kindNames = [numKinds]string{"OK", "NO", "BAD", "BYE", "closed", "timeout", "+", "huge+", "left"}

func (k kind) String() string { return kindNames[k] }

// registry closes every connection still open at the hard stop, so that
// no goroutine outlives the run.
type registry struct {
	hard time.Time
	mu   sync.Mutex
	open map[net.Conn]struct{} // guarded by mu
	shut bool                  // guarded by mu
}

func newRegistry(hard time.Time) *registry {
	return &registry{hard: hard, open: map[net.Conn]struct{}{}}
}

func (r *registry) add(nc net.Conn) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.shut {
		return false
	}
	r.open[nc] = struct{}{}
	return true
}

func (r *registry) remove(nc net.Conn) {
	r.mu.Lock()
	delete(r.open, nc)
	r.mu.Unlock()
}

// closeAll closes every registered connection and refuses new ones; it
// returns how many were still open.
func (r *registry) closeAll() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.shut = true
	n := len(r.open)
	for nc := range r.open {
		_ = nc.Close()
	}
	clear(r.open)
	return n
}

// rawConn is one connection spoken to line by line.
type rawConn struct {
	nc      net.Conn
	r       *bufio.Reader
	reg     *registry
	timeout time.Duration
	tag     int
}

// dialRaw connects from src (empty: any local address), with implicit TLS
// if asked, and reads the greeting.
func dialRaw(ctx context.Context, cfg *config, reg *registry, src string) (*rawConn, string, error) {
	d := net.Dialer{Timeout: cfg.timeout}
	if src != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(src)}
	}
	nc, err := d.DialContext(ctx, "tcp", cfg.addr)
	if err != nil {
		return nil, "", fmt.Errorf("dial: %w", err)
	}
	if cfg.tls {
		tc := tls.Client(nc, &tls.Config{InsecureSkipVerify: true})
		_ = tc.SetDeadline(time.Now().Add(cfg.timeout))
		if err := tc.HandshakeContext(ctx); err != nil {
			_ = nc.Close()
			return nil, "", fmt.Errorf("tls: %w", err)
		}
		nc = tc
	}
	if !reg.add(nc) {
		_ = nc.Close()
		return nil, "", errors.New("stopped")
	}
	c := &rawConn{nc: nc, r: bufio.NewReaderSize(nc, 16<<10), reg: reg, timeout: cfg.timeout}
	line, err := c.readLine(c.deadline())
	if err != nil {
		c.close()
		return nil, "", fmt.Errorf("greeting: %w", err)
	}
	if !strings.HasPrefix(line, "* OK") && !strings.HasPrefix(line, "* PREAUTH") {
		c.close()
		return nil, line, fmt.Errorf("greeting %q", line)
	}
	return c, line, nil
}

func (c *rawConn) close() {
	c.reg.remove(c.nc)
	_ = c.nc.Close()
}

// deadline is -timeout from now, never after the hard stop.
func (c *rawConn) deadline() time.Time {
	return earliest(time.Now().Add(c.timeout), c.reg.hard)
}

// nextTag returns a fresh tag.
func (c *rawConn) nextTag() string {
	c.tag++
	return "h" + strconv.Itoa(c.tag)
}

// send writes b in pieces of at most 64 KiB, each under the deadline, so
// that a server that stops reading ends the write instead of blocking it.
func (c *rawConn) send(b []byte) error {
	for len(b) > 0 {
		n := min(len(b), 64<<10)
		_ = c.nc.SetWriteDeadline(c.deadline())
		if _, err := c.nc.Write(b[:n]); err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

// readLine reads one response line without CRLF; literals the line
// announces are read and discarded, replaced by "{n}" in the result.
// Lines are cut at 4 KiB in the result.
func (c *rawConn) readLine(dl time.Time) (string, error) {
	_ = c.nc.SetReadDeadline(dl)
	var sb strings.Builder
	for {
		part, err := c.r.ReadSlice('\n')
		if sb.Len() < 4096 {
			sb.Write(part[:min(len(part), 4096-sb.Len())])
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil {
			return sb.String(), err
		}
		// A literal at the end of the line: {n}CRLF.
		if n, ok := literalLen(part); ok {
			if _, err := io.CopyN(io.Discard, c.r, n); err != nil {
				return sb.String(), err
			}
			continue
		}
		return strings.TrimRight(sb.String(), "\r\n"), nil
	}
}

// literalLen reports the n of a line ending in {n}CRLF or ~{n}CRLF.
func literalLen(line []byte) (int64, bool) {
	s := strings.TrimRight(string(line), "\r\n")
	if !strings.HasSuffix(s, "}") {
		return 0, false
	}
	i := strings.LastIndexByte(s, '{')
	if i < 0 {
		return 0, false
	}
	n, err := strconv.ParseInt(s[i+1:len(s)-1], 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

// await reads responses until the tagged response for tag (any tag when
// tag is ""), a BYE, a continuation request (when cont is true), the end
// of the connection or the deadline, and says which. line is the last
// line read.
func (c *rawConn) await(tag string, cont bool) (k kind, line string) {
	dl := c.deadline()
	for {
		line, err := c.readLine(dl)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return kindTimeout, line
			}
			return kindClosed, line
		}
		if strings.HasPrefix(line, "+") {
			if cont {
				return kindCont, line
			}
			continue
		}
		word, rest, _ := strings.Cut(line, " ")
		status, _, _ := strings.Cut(rest, " ")
		status = strings.ToUpper(status)
		if word == "*" {
			switch status {
			case "BYE":
				return kindBYE, line
			case "BAD":
				if tag == "" {
					return kindBAD, line
				}
			}
			continue
		}
		if tag != "" && word != tag {
			continue
		}
		switch status {
		case "OK":
			return kindOK, line
		case "NO":
			return kindNO, line
		case "BAD":
			return kindBAD, line
		}
	}
}

// command sends "tag line" and awaits its tagged response.
func (c *rawConn) command(line string) (kind, string) {
	tag := c.nextTag()
	if err := c.send([]byte(tag + " " + line + "\r\n")); err != nil {
		return kindClosed, err.Error()
	}
	return c.await(tag, false)
}

// login logs in with LOGIN; false if the server did not say OK.
func (c *rawConn) login(user, pass string) bool {
	k, _ := c.command("LOGIN " + quote(user) + " " + quote(pass))
	return k == kindOK
}

// quote makes s an IMAP quoted string (s holds no CR, LF or NUL).
func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// earliest returns the earlier of two times.
func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
