package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// statusError is a tagged NO or BAD: the command failed, the connection
// is still usable.
type statusError struct {
	status string // "NO" or "BAD"
	cmd    string // the command line (shortened)
	resp   string // the tagged response
}

func (e *statusError) Error() string { return e.cmd + " → " + e.resp }

// errSkip: the chosen operation does not apply now (no known message, no
// IDLE capability); the client chooses again.
var errSkip = errors.New("skip")

// session is one IMAP connection and what the client knows of it: the
// capabilities and the selected mailbox's sequence number → UID map.
type session struct {
	cfg  *config
	user string
	stop *stopper

	nc   net.Conn
	r    *bufio.Reader
	w    *bufio.Writer
	buf  []byte // the last response read; reused
	tag  int
	caps map[string]bool

	// uids[seq-1] is the UID of message seq of the selected mailbox, 0
	// while unknown. EXISTS extends it, EXPUNGE removes from it, FETCH
	// responses with a UID fill it in.
	uids      []uint32
	selected  bool
	loggedOut bool // LOGOUT sent: a BYE is expected

	greeting string
	addr     string // the server it is connected to
}

// deadline is the time the current command must be done by: -timeout from
// now, and never after the run's hard stop.
func (s *session) deadline(extra time.Duration) time.Time {
	d := time.Now().Add(s.cfg.timeout + extra)
	if hs := s.stop.hard; d.After(hs) {
		d = hs
	}
	return d
}

// dial connects to the n-th of the -addr servers (modulo their number),
// reads the greeting and, with -starttls, starts TLS.
func dial(ctx context.Context, cfg *config, stop *stopper, n int) (*session, error) {
	s := &session{cfg: cfg, stop: stop, caps: map[string]bool{}, addr: cfg.addrs[n%len(cfg.addrs)]}
	d := net.Dialer{Timeout: cfg.timeout}
	nc, err := d.DialContext(ctx, "tcp", s.addr)
	if err != nil {
		return nil, err
	}
	if !stop.register(s, nc) {
		nc.Close()
		return nil, errors.New("stopped")
	}
	s.nc = nc
	if err := nc.SetDeadline(s.deadline(0)); err != nil {
		s.close()
		return nil, err
	}
	if cfg.tls {
		if err := s.startTLS(); err != nil {
			s.close()
			return nil, err
		}
	} else {
		s.r, s.w = bufio.NewReaderSize(nc, 32<<10), bufio.NewWriterSize(nc, 32<<10)
	}
	raw, err := readResponse(s.r, s.buf)
	s.buf = raw
	if err != nil {
		s.close()
		return nil, fmt.Errorf("greeting: %w", err)
	}
	g, err := parseResponse(raw)
	if err != nil {
		s.close()
		return nil, fmt.Errorf("greeting: %w", err)
	}
	if g.kind != '*' || (g.keyword != "OK" && g.keyword != "PREAUTH") {
		s.close()
		return nil, fmt.Errorf("greeting: %s", strings.TrimSpace(string(raw)))
	}
	s.greeting = strings.TrimSpace(string(raw))
	s.codeCaps(g.code)
	if cfg.starttls {
		if _, err := s.exec("STARTTLS", nil); err != nil {
			s.close()
			return nil, err
		}
		if s.r.Buffered() > 0 {
			s.close()
			return nil, protoErr("data after the STARTTLS OK, before TLS")
		}
		if err := s.startTLS(); err != nil {
			s.close()
			return nil, err
		}
		clear(s.caps)
	}
	return s, nil
}

func (s *session) startTLS() error {
	host, _, _ := net.SplitHostPort(s.addr)
	tc := tls.Client(s.nc, &tls.Config{InsecureSkipVerify: true, ServerName: host})
	ctx, cancel := context.WithDeadline(context.Background(), s.deadline(0))
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		return fmt.Errorf("TLS: %w", err)
	}
	s.nc = tc
	s.stop.register(s, tc)
	s.r, s.w = bufio.NewReaderSize(tc, 32<<10), bufio.NewWriterSize(tc, 32<<10)
	return nil
}

func (s *session) close() {
	if s.nc != nil {
		s.nc.Close()
		s.stop.unregister(s)
	}
}

// codeCaps takes the capabilities of a CAPABILITY response code.
func (s *session) codeCaps(code string) {
	if rest, ok := strings.CutPrefix(strings.ToUpper(code), "CAPABILITY "); ok {
		clear(s.caps)
		for c := range strings.FieldsSeq(rest) {
			s.caps[c] = true
		}
	}
}

func (s *session) nextTag() string {
	s.tag++
	return "m" + strconv.Itoa(s.tag)
}

// exec sends one command (a line without literals) and reads responses up
// to its tagged one. Untagged responses update the session (EXISTS,
// EXPUNGE, FETCH, CAPABILITY, BYE); each is also passed to fn when fn is
// not nil. A tagged NO or BAD is a *statusError; any other error leaves the
// connection unusable.
func (s *session) exec(line string, fn func(*response) error) (response, error) {
	tag := s.nextTag()
	if err := s.nc.SetDeadline(s.deadline(0)); err != nil {
		return response{}, err
	}
	s.w.WriteString(tag)
	s.w.WriteByte(' ')
	s.w.WriteString(line)
	s.w.WriteString("\r\n")
	if err := s.w.Flush(); err != nil {
		return response{}, err
	}
	return s.readTagged(tag, line, fn)
}

// readTagged reads up to the response tagged tag. Errors other than a
// tagged NO or BAD name the command.
func (s *session) readTagged(tag, line string, fn func(*response) error) (response, error) {
	r, err := s.readTaggedRaw(tag, line, fn)
	var se *statusError
	if err != nil && !errors.As(err, &se) {
		err = fmt.Errorf("%s: %w", shorten(line), err)
	}
	return r, err
}

func (s *session) readTaggedRaw(tag, line string, fn func(*response) error) (response, error) {
	for {
		r, err := s.read()
		if err != nil {
			return r, err
		}
		switch r.kind {
		case 't':
			if r.tag != tag {
				return r, protoErr("response tagged %q while waiting for %q", r.tag, tag)
			}
			s.codeCaps(r.code)
			if r.keyword != "OK" {
				return r, &statusError{status: r.keyword, cmd: shorten(line), resp: shorten(strings.TrimSpace(string(s.buf)))}
			}
			return r, nil
		case '+':
			return r, protoErr("unexpected continuation request %q to %s", r.text, shorten(line))
		}
		if fn != nil {
			if err := fn(&r); err != nil {
				return r, err
			}
		}
	}
}

// read reads and parses one response and applies an untagged one to the
// session.
func (s *session) read() (response, error) {
	if cap(s.buf) > 1<<20 {
		s.buf = nil // a large body was read: do not keep its buffer
	}
	raw, err := readResponse(s.r, s.buf)
	s.buf = raw
	if err != nil {
		return response{}, err
	}
	r, err := parseResponse(raw)
	if err != nil {
		return r, err
	}
	if r.kind == '*' {
		err = s.untagged(&r)
	}
	return r, err
}

func (s *session) untagged(r *response) error {
	switch r.keyword {
	case "EXISTS":
		if !r.hasNum {
			return protoErr("EXISTS without a number")
		}
		n := int(r.num)
		switch {
		case !s.selected:
			return protoErr("* %d EXISTS outside the selected state", n)
		case n < len(s.uids):
			// Only EXPUNGE makes a mailbox smaller (RFC 9051 §7.4.1).
			return protoErr("* %d EXISTS after %d messages without EXPUNGE", n, len(s.uids))
		case n > 10_000_000:
			return protoErr("* %d EXISTS", n)
		}
		for len(s.uids) < n {
			s.uids = append(s.uids, 0)
		}
	case "EXPUNGE":
		if !r.hasNum || r.num == 0 || int(r.num) > len(s.uids) {
			return protoErr("* %d EXPUNGE with %d messages", r.num, len(s.uids))
		}
		i := int(r.num) - 1
		s.uids = append(s.uids[:i], s.uids[i+1:]...)
	case "FETCH":
		if !r.hasNum || r.num == 0 || int(r.num) > len(s.uids) {
			return protoErr("* %d FETCH with %d messages", r.num, len(s.uids))
		}
		f, err := parseFetch(r.rest)
		if err != nil {
			return err
		}
		if f.uid != 0 {
			i := int(r.num) - 1
			if old := s.uids[i]; old != 0 && old != f.uid {
				return protoErr("* %d FETCH (UID %d): message %d had UID %d", r.num, f.uid, r.num, old)
			}
			s.uids[i] = f.uid
		}
	case "CAPABILITY":
		clear(s.caps)
		for c := range strings.FieldsSeq(strings.ToUpper(string(r.rest))) {
			s.caps[c] = true
		}
	case "BYE":
		if !s.loggedOut {
			return fmt.Errorf("server said BYE: %s", r.text)
		}
	}
	return nil
}

// login logs in and makes sure the capabilities are those after login.
func (s *session) login() error {
	r, err := s.exec("LOGIN "+quote(s.user)+" "+quote(s.cfg.pass), nil)
	if err != nil {
		return err
	}
	if !strings.HasPrefix(strings.ToUpper(r.code), "CAPABILITY ") {
		if _, err := s.exec("CAPABILITY", nil); err != nil {
			return err
		}
	}
	return nil
}

// selectMailbox SELECTs the mailbox and learns the UIDs of its newest
// -window messages with one FETCH (UID FLAGS), as clients that show the
// newest mail first do.
func (s *session) selectMailbox() error {
	s.uids = s.uids[:0]
	s.selected = true
	if _, err := s.exec("SELECT "+quote(s.cfg.mailbox), nil); err != nil {
		s.selected = false
		return err
	}
	if n := len(s.uids); n > 0 {
		lo := max(1, n-s.cfg.window+1)
		if _, err := s.exec(fmt.Sprintf("FETCH %d:* (UID FLAGS)", lo), nil); err != nil {
			return err
		}
	}
	return nil
}

// logout sends LOGOUT, reads to its OK, and closes the connection.
func (s *session) logout() error {
	s.loggedOut = true
	_, err := s.exec("LOGOUT", nil)
	s.close()
	return err
}

func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

func shorten(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}
