package auth

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"

	"rookery/internal/store"
)

type fakeClock struct {
	now   time.Time
	slept []time.Duration
}

func (c *fakeClock) Now() time.Time { return c.now }
func (c *fakeClock) Sleep(_ context.Context, d time.Duration) error {
	c.slept = append(c.slept, d)
	c.now = c.now.Add(d)
	return nil
}

func TestThrottleDelays(t *testing.T) {
	clk := &fakeClock{now: time.Unix(1e9, 0)}
	th := NewThrottle(ThrottleOptions{Base: time.Second, Max: 8 * time.Second, AccountMax: 2 * time.Second, Forget: time.Hour, Now: clk.Now, Sleep: clk.Sleep})
	attacker := netip.MustParseAddr("203.0.113.9")
	user := netip.MustParseAddr("198.51.100.1")
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 8 * time.Second}
	for i, w := range want {
		th.Failure("alice", attacker)
		if d := th.Delay("alice", attacker); d != w {
			t.Fatalf("after %d failures delay = %v, want %v", i+1, d, w)
		}
		// The attacker's address is slowed for every account.
		if d := th.Delay("bob", attacker); d != w {
			t.Fatalf("other account from attacker: %v, want %v", d, w)
		}
	}
	// The real user elsewhere is slowed by at most AccountMax.
	if d := th.Delay("alice", user); d != 2*time.Second {
		t.Fatalf("real user delay = %v, want the 2s cap", d)
	}
	if d := th.Delay("bob", user); d != 0 {
		t.Fatalf("unrelated delay = %v", d)
	}
	// Success clears the pair only.
	th.Failure("carol", user)
	th.Success("carol", user)
	if d := th.Delay("carol", user); d != time.Second {
		t.Fatalf("after success delay = %v, want 1s (address and account counters stay)", d)
	}
	// Counters are forgotten.
	clk.now = clk.now.Add(2 * time.Hour)
	if d := th.Delay("alice", attacker); d != 0 {
		t.Fatalf("after Forget delay = %v", d)
	}
}

func TestLoginThrottled(t *testing.T) {
	clk := &fakeClock{now: time.Unix(1e9, 0)}
	th := NewThrottle(ThrottleOptions{Base: time.Second, Now: clk.Now, Sleep: clk.Sleep})
	var failures []string
	h, _ := HashPassword("s3cret")
	fs := &fakeStore{accounts: map[string]store.Account{"alice": {ID: 1, Name: "alice", PasswordHash: h}}}
	a := New(fs, nil, WithThrottle(th), WithFailureHook(func(m string) { failures = append(failures, m) }))
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		if _, err := a.Login(ctx, "alice", "bad", remote); !errors.Is(err, ErrInvalidCredentials) {
			t.Fatal(err)
		}
	}
	if want := []time.Duration{time.Second, 2 * time.Second}; len(clk.slept) != 2 || clk.slept[0] != want[0] || clk.slept[1] != want[1] {
		t.Fatalf("slept %v, want %v", clk.slept, want)
	}
	if _, err := a.Login(ctx, "alice", "s3cret", remote); err != nil {
		t.Fatal(err)
	}
	if len(clk.slept) != 3 || clk.slept[2] != 4*time.Second {
		t.Fatalf("slept %v: the right password also waits", clk.slept)
	}
	// Through the LOGIN SASL mechanism too, counted by the hook.
	s := a.LoginServer(ctx, &net.TCPAddr{IP: net.IPv4(192, 0, 2, 99)}, func(store.Account) {})
	if ch, _, _ := s.Next(nil); string(ch) != "Username:" {
		t.Fatalf("challenge %q", ch)
	}
	if ch, _, _ := s.Next([]byte("alice")); string(ch) != "Password:" {
		t.Fatalf("challenge %q", ch)
	}
	if _, _, err := s.Next([]byte("bad")); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatal(err)
	}
	if len(failures) != 4 || failures[0] != "LOGIN" {
		t.Fatalf("failure hook calls %v", failures)
	}
	var ok bool
	s = a.LoginServer(ctx, remote, func(store.Account) { ok = true })
	if _, _, err := s.Next([]byte("alice")); err != nil { // SASL-IR
		t.Fatal(err)
	}
	if _, done, err := s.Next([]byte("s3cret")); err != nil || !done || !ok {
		t.Fatal(done, err, ok)
	}
	_ = sasl.Plain
}

// TestAccountSpellings checks that what auth keeps or derives per account
// name treats every spelling of one name alike (store.AccountKey):
// changing the case of a name neither resets the throttle nor tells an
// unknown name from a known one by its SCRAM salt, and a PLAIN
// authorization identity may differ from the user in case.
func TestAccountSpellings(t *testing.T) {
	clk := &fakeClock{now: time.Unix(1e9, 0)}
	th := NewThrottle(ThrottleOptions{Base: time.Second, Now: clk.Now, Sleep: clk.Sleep})
	h, _ := HashPassword("s3cret")
	fs := &fakeStore{accounts: map[string]store.Account{"alice": {ID: 1, Name: "alice", PasswordHash: h}}}
	a := New(fs, nil, WithThrottle(th))
	ctx := context.Background()
	// From three addresses, so that only the account's counter is shared.
	for i, user := range []string{"alice", "ALICE", "Alice"} {
		from := &net.TCPAddr{IP: net.IPv4(198, 51, 100, byte(i+1)), Port: 1}
		if _, err := a.Login(ctx, user, "bad", from); !errors.Is(err, ErrInvalidCredentials) {
			t.Fatal(err)
		}
	}
	if want := []time.Duration{time.Second, 2 * time.Second}; len(clk.slept) != 2 || clk.slept[0] != want[0] || clk.slept[1] != want[1] {
		t.Fatalf("slept %v, want %v: one account counter for every spelling", clk.slept, want)
	}

	salt := func(user string) string {
		t.Helper()
		s := a.SCRAMServer(ctx, remote, nil, func(store.Account) {})
		ch, _, err := s.Next([]byte("n,,n=" + user + ",r=abc"))
		if err != nil {
			t.Fatal(err)
		}
		for kv := range strings.SplitSeq(string(ch), ",") {
			if v, ok := strings.CutPrefix(kv, "s="); ok {
				return v
			}
		}
		t.Fatalf("no salt in %q", ch)
		return ""
	}
	if s1, s2 := salt("nobody"), salt("NoBody"); s1 != s2 {
		t.Errorf("fake SCRAM salts of nobody and NoBody differ (%s, %s): a known name would be told apart", s1, s2)
	}

	var got store.Account
	s := a.PlainServer(ctx, &net.TCPAddr{IP: net.IPv4(192, 0, 2, 50)}, func(acct store.Account) { got = acct })
	if _, _, err := s.Next([]byte("ALICE\x00alice\x00s3cret")); err != nil || got.ID != 1 {
		t.Errorf("PLAIN with authzid ALICE for alice: %v, account %+v", err, got)
	}
}
