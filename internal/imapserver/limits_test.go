package imapserver_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"rookery/internal/auth"
	"rookery/internal/imapserver"
	"rookery/internal/imaptest"
	"rookery/internal/imapwire"
)

// logRecorder keeps a server's log lines and signals each session's end,
// so that a test can look at the log once a session is over without
// waiting for a time.
type logRecorder struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	ended chan struct{}
}

func newLogRecorder() *logRecorder { return &logRecorder{ended: make(chan struct{}, 64)} }

func (r *logRecorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.buf.Write(p)
}

func (r *logRecorder) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.buf.String()
}

// logger returns a debug-level logger writing to r.
func (r *logRecorder) logger() *slog.Logger {
	return slog.New(endHandler{slog.NewTextHandler(r, &slog.HandlerOptions{Level: slog.LevelDebug}), r.ended})
}

// waitEnded waits for the end of one session.
func (r *logRecorder) waitEnded(t *testing.T) {
	t.Helper()
	select {
	case <-r.ended:
	case <-t.Context().Done():
		t.Fatal("no session ended")
	}
}

type endHandler struct {
	slog.Handler
	ended chan struct{}
}

func (h endHandler) Handle(ctx context.Context, rec slog.Record) error {
	err := h.Handler.Handle(ctx, rec)
	if rec.Message == "session ended" {
		h.ended <- struct{}{}
	}
	return err
}

func (h endHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return endHandler{h.Handler.WithAttrs(as), h.ended}
}

func (h endHandler) WithGroup(name string) slog.Handler {
	return endHandler{h.Handler.WithGroup(name), h.ended}
}

// TestSASLResponseTooBig: a SASL response longer than the line limit and
// than what the server skips to resynchronise gets BAD [TOOBIG], then BYE
// (never NO [SERVERBUG]), and nothing is logged at ERROR.
func TestSASLResponseTooBig(t *testing.T) {
	const maxLine = 200
	rec := newLogRecorder()
	srv := imaptest.StartServer(t, func(o *imapserver.Options) {
		o.MaxLine = maxLine
		o.Logger = rec.logger()
	})
	c := srv.Dial(t)
	c.ReadLine()
	c.Send("a1 AUTHENTICATE PLAIN")
	c.Expect(t, "+ ")
	// Exactly what the server reads before it gives up (the line limit
	// plus two bytes, then MaxSkip plus one), so that no unread byte
	// turns the server's close into a reset that could eat its answer.
	big := bytes.Repeat([]byte("A"), maxLine+2+imapwire.MaxSkip+1)
	go c.SendRaw(big)
	c.Expect(t, "a1 BAD [TOOBIG] SASL response too long", "* BYE *")
	c.ExpectEOF()
	rec.waitEnded(t)
	if log := rec.String(); strings.Contains(log, "level=ERROR") {
		t.Fatalf("logged at ERROR:\n%s", log)
	}
}

// TestLiteralsPerCommand: the string literals of one command (outside
// APPEND) share imapwire.DefaultMaxLiterals, so that a line of literal
// announcements cannot make the server hold thousands of 64 KiB
// literals; the literal past it gets BAD [TOOBIG] (a synchronizing one
// without a continuation request), the rest of the command is skipped,
// and the session goes on.
func TestLiteralsPerCommand(t *testing.T) {
	srv := imaptest.StartServer(t)
	c := srv.Dial(t)
	c.ReadLine()
	c.Login("alice", "pass")
	c.Send("s SELECT INBOX")
	c.ReadUntilTagged("s")
	needle := strings.Repeat("n", imapwire.DefaultMaxLiteral)
	n := int(imapwire.DefaultMaxLiterals / imapwire.DefaultMaxLiteral)
	// Exactly the budget: answered.
	var b strings.Builder
	b.WriteString("a1 SEARCH")
	for range n {
		fmt.Fprintf(&b, " TEXT {%d+}\r\n%s", len(needle), needle)
	}
	c.Send(b.String())
	c.Expect(t, "* SEARCH", "a1 OK *")
	// One byte more, non-synchronizing: refused, skipped.
	b.Reset()
	b.WriteString("a2 SEARCH")
	for range n {
		fmt.Fprintf(&b, " TEXT {%d+}\r\n%s", len(needle), needle)
	}
	b.WriteString(" TEXT {1+}\r\nx")
	c.Send(b.String())
	c.Expect(t, "a2 BAD [TOOBIG] Literal too big")
	// Synchronizing: no continuation request.
	b.Reset()
	b.WriteString("a3 SEARCH")
	for range n {
		fmt.Fprintf(&b, " TEXT {%d+}\r\n%s", len(needle), needle)
	}
	b.WriteString(" TEXT {1}")
	c.Send(b.String())
	c.Expect(t, "a3 BAD [TOOBIG] Literal too big")
	c.Send("a4 NOOP")
	c.Expect(t, "a4 OK *")
}

// TestAuthenticateClientLeaves: a client that leaves in the middle of
// AUTHENTICATE is not a server error.
func TestAuthenticateClientLeaves(t *testing.T) {
	rec := newLogRecorder()
	srv := imaptest.StartServer(t, func(o *imapserver.Options) { o.Logger = rec.logger() })
	c := srv.Dial(t)
	c.ReadLine()
	c.Send("a1 AUTHENTICATE PLAIN")
	c.Expect(t, "+ ")
	c.Close()
	rec.waitEnded(t)
	if log := rec.String(); strings.Contains(log, "level=ERROR") {
		t.Fatalf("logged at ERROR:\n%s", log)
	}
}

// TestLoginQueueFull: when as many logins as the throttle queues already
// wait for their turn from one address, a further LOGIN is answered
// (after the address's delay) with NO [UNAVAILABLE], without checking
// anything.
func TestLoginQueueFull(t *testing.T) {
	// A fake clock that moves when the throttle sleeps, once the test
	// lets it.
	var mu sync.Mutex
	now := time.Unix(1e9, 0)
	sleeping := make(chan struct{}, 1)
	wake := make(chan struct{})
	throttle := auth.NewThrottle(auth.ThrottleOptions{Queue: 1,
		Now: func() time.Time {
			mu.Lock()
			defer mu.Unlock()
			return now
		},
		Sleep: func(ctx context.Context, d time.Duration) error {
			sleeping <- struct{}{}
			select {
			case <-wake:
			case <-ctx.Done():
				return ctx.Err()
			}
			mu.Lock()
			defer mu.Unlock()
			now = now.Add(d)
			return nil
		}})
	srv := imaptest.StartServer(t, func(o *imapserver.Options) {
		o.Auth = auth.New(o.Store, nil, auth.WithThrottle(throttle))
	})
	a, b, c := srv.Dial(t), srv.Dial(t), srv.Dial(t)
	for _, cl := range []*imaptest.Client{a, b, c} {
		cl.ReadLine()
	}
	a.Send("a1 LOGIN alice wrong")
	a.Expect(t, "a1 NO [AUTHENTICATIONFAILED] Authentication failed")
	b.Send("b1 LOGIN alice pass") // waits out the delay of a1's failure
	<-sleeping
	c.Send("c1 LOGIN bob pass") // refused, after the address's delay
	<-sleeping
	close(wake)
	c.Expect(t, "c1 NO [UNAVAILABLE] Too many login attempts in progress; try again later")
	b.Expect(t, "b1 OK [CAPABILITY *] Logged in")
}

// TestPreAuthDeadline: the time to log in runs from accept; a client that
// keeps busy without logging in (NOOP after NOOP, each well within the
// timeout) is still told BYE and closed when it is over. Before, the
// timeout was an inactivity timer and such a client kept its place for
// ever.
func TestPreAuthDeadline(t *testing.T) {
	const preauth = 300 * time.Millisecond
	srv := imaptest.StartServer(t, func(o *imapserver.Options) { o.PreAuthTimeout = preauth })
	in := srv.Dial(t)
	in.ReadLine()
	in.Login("alice", "pass")
	c := srv.Dial(t)
	c.ReadLine()
	start := time.Now()
	for i := 0; ; i++ {
		c.Sendf("n%d NOOP", i)
		line := c.ReadLine()
		if strings.HasPrefix(line, "* BYE ") {
			if line != "* BYE Autologout; no login within the time allowed" {
				t.Fatalf("got %q", line)
			}
			break
		}
		if !strings.HasPrefix(line, fmt.Sprintf("n%d OK", i)) {
			t.Fatalf("got %q", line)
		}
		// A bound for the failure only: without the deadline the
		// NOOPs go on for ever.
		if time.Since(start) > 30*preauth {
			t.Fatalf("still served after %d NOOPs", i+1)
		}
	}
	c.ExpectEOF()
	// A session that logged in in time is not concerned.
	in.Send("a1 NOOP")
	in.Expect(t, "a1 OK NOOP completed")
}

// TestPreAuthDeadlineDuringLogin: a LOGIN still waiting for its turn
// (throttle) when the time to log in is over gives up.
func TestPreAuthDeadlineDuringLogin(t *testing.T) {
	sleeping := make(chan struct{}, 1)
	throttle := auth.NewThrottle(auth.ThrottleOptions{Sleep: func(ctx context.Context, _ time.Duration) error {
		sleeping <- struct{}{}
		<-ctx.Done() // the delay outlasts the login deadline
		return ctx.Err()
	}})
	srv := imaptest.StartServer(t, func(o *imapserver.Options) {
		o.PreAuthTimeout = 300 * time.Millisecond
		o.Auth = auth.New(o.Store, nil, auth.WithThrottle(throttle))
	})
	// A failure counted before the connection, rather than a failed
	// LOGIN on it: under -race on a loaded machine that LOGIN's hash
	// took longer than the 300 ms login time, the connection was closed
	// before the second LOGIN and the test waited for ever.
	throttle.Failure("alice", netip.MustParseAddr("127.0.0.1"))
	c := srv.Dial(t)
	c.ReadLine()
	c.Send("a2 LOGIN alice pass")
	select {
	case <-sleeping:
	case <-time.After(imaptest.ReadTimeout):
		t.Fatalf("the LOGIN did not wait for its turn; the server sent %q", c.Buffered())
	}
	c.Expect(t, "a2 NO [UNAVAILABLE] Timed out", "* BYE Autologout; no login within the time allowed")
	c.ExpectEOF()
}

// TestRefusedTLS: on the implicit-TLS port a connection over a limit is
// closed without a handshake (a plaintext BYE would mean nothing to a TLS
// client).
func TestRefusedTLS(t *testing.T) {
	srv := imaptest.StartServer(t, func(o *imapserver.Options) { o.MaxConns = 1 })
	c := srv.Dial(t)
	c.ReadLine()
	nc, err := net.Dial("tcp", srv.TLSAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.SetReadDeadline(time.Now().Add(imaptest.ReadTimeout))
	if n, err := nc.Read(make([]byte, 64)); n != 0 || !errors.Is(err, io.EOF) {
		t.Fatalf("read %d bytes, %v; want EOF", n, err)
	}
}

// refusalCounter counts Hooks.ConnRefused calls by limit.
type refusalCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (r *refusalCounter) refused(limit string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.n[limit]++
}

func (r *refusalCounter) counts() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.n)
}

// TestConnRefusedHook: every connection limit reports its refusals to
// Hooks.ConnRefused with its configuration key (the label of
// rookery_imap_connections_refused_total), at accept or, for the
// per-user limit, at login; admitted connections report nothing.
func TestConnRefusedHook(t *testing.T) {
	for _, tc := range []struct {
		limit string
		opts  func(o *imapserver.Options)
		login bool // the refused connection logs in (the per-user limit)
	}{
		{"max_conns", func(o *imapserver.Options) { o.MaxConns = 1 }, false},
		{"max_conns_per_ip", func(o *imapserver.Options) { o.MaxConnsPerIP = 1 }, false},
		{"max_unauth_conns", func(o *imapserver.Options) { o.MaxUnauthConns = 1 }, false},
		{"max_unauth_conns_per_ip", func(o *imapserver.Options) { o.MaxUnauthConnsPerIP = 1 }, false},
		{"max_conns_per_user", func(o *imapserver.Options) { o.MaxConnsPerUser = 1 }, true},
	} {
		t.Run(tc.limit, func(t *testing.T) {
			rc := &refusalCounter{n: map[string]int{}}
			srv := imaptest.StartServer(t, tc.opts, func(o *imapserver.Options) { o.Hooks.ConnRefused = rc.refused })
			first := srv.Dial(t)
			first.ReadLine()
			if tc.login {
				first.Login("alice", "pass")
			}
			if got := rc.counts(); len(got) != 0 {
				t.Fatalf("refusals before any limit was reached: %v", got)
			}
			second := srv.Dial(t)
			if tc.login {
				second.ReadLine()
				second.Send("b1 LOGIN alice pass")
				second.Expect(t, "b1 NO [LIMIT] Too many connections for this user")
			} else {
				second.Expect(t, "* BYE [UNAVAILABLE] *")
				second.ExpectEOF()
			}
			if got := rc.counts(); len(got) != 1 || got[tc.limit] != 1 {
				t.Fatalf("refusals = %v, want one of %s", got, tc.limit)
			}
		})
	}
}
