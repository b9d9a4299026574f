package imapserver

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"rookery/internal/auth"
)

// TestAdmit: the limits count client addresses as auth.AddressKey does
// (IPv6 by /64), logged-in connections leave the not-logged-in counts,
// and released places are free again.
func TestAdmit(t *testing.T) {
	s := New(Options{MaxConns: 4, MaxConnsPerIP: 2, MaxUnauthConns: 3, MaxUnauthConnsPerIP: 1})
	key := func(ip string) netip.Prefix { return auth.AddressKey(netip.MustParseAddr(ip)) }
	steps := []struct {
		op, ip string
		want   *refusal // admit's refusal; nil admitted
	}{
		{"admit", "2001:db8::1", nil},
		{"admit", "2001:db8::2", refuseUnauthConnsIP}, // same /64
		{"admit", "2001:db8:0:1::1", nil},             // another /64
		{"login", "2001:db8::1", nil},
		{"admit", "2001:db8::3", nil}, // its first is logged in now
		{"admit", "2001:db8::4", refuseConnsPerIP},
		{"admit", "192.0.2.1", nil},
		{"admit", "192.0.2.2", refuseConns}, // 4 open
		{"release", "192.0.2.1", nil},
		{"admit", "::ffff:192.0.2.3", nil},
		{"admit", "192.0.2.4", refuseConns},
		{"release-auth", "2001:db8::1", nil},
		{"admit", "192.0.2.4", refuseUnauthConns}, // 3 not logged in
	}
	for i, st := range steps {
		switch st.op {
		case "admit":
			if got := s.admit(key(st.ip)); got != st.want {
				t.Fatalf("step %d: admit %s: %+v, want %+v", i, st.ip, got, st.want)
			}
		case "login":
			s.authenticated(key(st.ip))
		case "release":
			s.release(key(st.ip), true)
		case "release-auth":
			s.release(key(st.ip), false)
		}
	}
	if s.open != 3 || s.unauth != 3 {
		t.Fatalf("open %d, unauth %d; want 3 and 3", s.open, s.unauth)
	}
}

func TestRateLog(t *testing.T) {
	var buf bytes.Buffer
	noTime := func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey || a.Key == slog.LevelKey {
			return slog.Attr{}
		}
		return a
	}
	r := newRateLog(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{ReplaceAttr: noTime})), 10*time.Second)
	start := time.Unix(1e9, 0)
	for _, sec := range []int{0, 1, 2, 9, 10, 11, 30} {
		r.now = func() time.Time { return start.Add(time.Duration(sec) * time.Second) }
		r.warn("connection refused", "reason", "x")
		r.warn("accept failed; retrying")
	}
	want := strings.Join([]string{
		`msg="connection refused" reason=x`,
		`msg="accept failed; retrying"`,
		`msg="connection refused" reason=x suppressed=3`, // 1, 2, 9
		`msg="accept failed; retrying" suppressed=3`,
		`msg="connection refused" reason=x suppressed=1`, // 11
		`msg="accept failed; retrying" suppressed=1`,
	}, "\n") + "\n"
	if got := buf.String(); got != want {
		t.Fatalf("log:\n%s\nwant:\n%s", got, want)
	}
}

func TestTemporaryAcceptError(t *testing.T) {
	opErr := func(e error) error {
		return &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", e)}
	}
	tests := []struct {
		err  error
		want bool
	}{
		{opErr(syscall.EMFILE), true},
		{opErr(syscall.ENFILE), true},
		{opErr(syscall.ENOBUFS), true},
		{opErr(os.ErrDeadlineExceeded), true},
		{net.ErrClosed, false},
		{io.EOF, false},
		{errors.New("something else"), false},
	}
	for _, tc := range tests {
		if got := temporaryAcceptError(tc.err); got != tc.want {
			t.Errorf("temporaryAcceptError(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
