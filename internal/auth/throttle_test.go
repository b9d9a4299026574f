package auth

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"

	"rookery/internal/store"
)

// fakeClock is a clock that moves only when someone sleeps on it; safe
// for concurrent use.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	slept []time.Duration
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(_ context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.slept = append(c.slept, d)
	c.now = c.now.Add(d)
	return nil
}

func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func (c *fakeClock) sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.slept...)
}

func newTestThrottle(clk interface {
	Now() time.Time
	Sleep(context.Context, time.Duration) error
}, o ThrottleOptions) *Throttle {
	o.Now, o.Sleep = clk.Now, clk.Sleep
	return NewThrottle(o)
}

// attempt begins and ends one attempt, failing the test on a Begin error.
func attempt(t *testing.T, th *Throttle, user string, ip netip.Addr, ok bool) {
	t.Helper()
	a, err := th.Begin(context.Background(), user, ip)
	if err != nil {
		t.Fatalf("Begin(%s, %s): %v", user, ip, err)
	}
	if ok {
		a.Succeeded()
	} else {
		a.Failed()
	}
}

func TestThrottleDelays(t *testing.T) {
	clk := &fakeClock{now: time.Unix(1e9, 0)}
	th := newTestThrottle(clk, ThrottleOptions{Base: time.Second, Max: 8 * time.Second, AccountMax: 2 * time.Second, Forget: time.Hour})
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
	// The delay runs from the last failure.
	clk.add(5 * time.Second)
	if d := th.Delay("bob", attacker); d != 3*time.Second {
		t.Fatalf("5s after the failure delay = %v, want 3s", d)
	}
	// A success clears the pair and makes it trusted: it no longer
	// waits for the address's or the account's delays, while other
	// accounts from the address still do.
	th.Failure("carol", user)
	attempt(t, th, "carol", user, true) // waits the address's 1s
	th.Failure("erin", user)
	if d := th.Delay("carol", user); d != 0 {
		t.Fatalf("trusted pair delay = %v, want 0", d)
	}
	if d := th.Delay("dave", user); d != 2*time.Second {
		t.Fatalf("other account from the address: delay %v, want 2s (the address counter stays)", d)
	}
	// Counters are forgotten.
	clk.add(2 * time.Hour)
	if d := th.Delay("alice", attacker); d != 0 {
		t.Fatalf("after Forget delay = %v", d)
	}
}

// TestThrottleSerialisesConcurrentAttempts: N attempts started at once
// from one address take turns; each waits for the delay its
// predecessors' failures earned, as if they had come one after the
// other. (Before, they all waited the same delay and were verified side
// by side: 100 connections made 6.6 guesses a second at the 16 s cap.)
func TestThrottleSerialisesConcurrentAttempts(t *testing.T) {
	const n = 40
	ip := netip.MustParseAddr("203.0.113.9")
	tests := []struct {
		name string
		user func(i int) string
	}{
		{"one account", func(int) string { return "alice" }},
		{"password spraying", func(i int) string { return fmt.Sprintf("user%d", i) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Concurrent sleepers each move the fake clock by their
			// whole sleep, so it runs ahead: only lower bounds are
			// checked, and nothing is forgotten meanwhile.
			clk := &fakeClock{now: time.Unix(1e9, 0)}
			th := newTestThrottle(clk, ThrottleOptions{Base: time.Second, Max: 16 * time.Second, AccountMax: 16 * time.Second, Forget: 1e6 * time.Hour, Queue: n})
			var (
				mu       sync.Mutex
				inFlight int
				peak     int
				starts   []time.Time
				wg       sync.WaitGroup
			)
			for i := range n {
				wg.Go(func() {
					a, err := th.Begin(context.Background(), tc.user(i), ip)
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					inFlight++
					peak = max(peak, inFlight)
					starts = append(starts, clk.Now())
					mu.Unlock()
					runtime.Gosched() // verifying: let the others try to start
					mu.Lock()
					inFlight--
					mu.Unlock()
					a.Failed()
				})
			}
			wg.Wait()
			if peak != 1 {
				t.Errorf("%d attempts verified at once, want 1", peak)
			}
			if len(starts) != n {
				t.Fatalf("%d attempts admitted, want %d", len(starts), n)
			}
			for k := 1; k < n; k++ {
				want := min(time.Second<<(k-1), 16*time.Second)
				if gap := starts[k].Sub(starts[k-1]); gap < want {
					t.Fatalf("attempt %d started %v after the previous failure, want at least %v", k+1, gap, want)
				}
			}
		})
	}
}

// TestThrottleQueue: at most Queue attempts wait for one key's turn;
// the next one is refused at once, and a waiter whose context ends leaves
// the queue.
func TestThrottleQueue(t *testing.T) {
	clk := &fakeClock{now: time.Unix(1e9, 0)}
	th := newTestThrottle(clk, ThrottleOptions{Queue: 3})
	ip := netip.MustParseAddr("203.0.113.9")
	attempt(t, th, "mallory", ip, false) // the address has failed before
	held, err := th.Begin(context.Background(), "alice", ip)
	if err != nil {
		t.Fatal(err)
	}
	addrKey := key{kind: kindAddress, addr: AddressKey(ip)}
	waiting := func() int {
		th.mu.Lock()
		defer th.mu.Unlock()
		if s := th.keys[addrKey]; s != nil {
			return s.waiting
		}
		return 0
	}
	ctx, cancel := context.WithCancel(context.Background())
	errs := make(chan error, 3)
	for i := range 3 {
		go func() {
			a, err := th.Begin(ctx, fmt.Sprintf("user%d", i), ip)
			a.Abandon()
			errs <- err
		}()
	}
	for waiting() < 3 {
		runtime.Gosched()
	}
	if _, err := th.Begin(context.Background(), "bob", ip); !errors.Is(err, ErrThrottled) {
		t.Fatalf("fourth waiter: %v, want ErrThrottled", err)
	}
	// Another address is not concerned.
	attempt(t, th, "bob", netip.MustParseAddr("198.51.100.1"), true)
	cancel()
	for range 3 {
		if err := <-errs; !errors.Is(err, context.Canceled) {
			t.Fatalf("waiter: %v, want context.Canceled", err)
		}
	}
	if n := waiting(); n != 0 {
		t.Fatalf("%d still waiting", n)
	}
	held.Abandon()
	held.Failed() // after the verdict: nothing
	th.mu.Lock()
	n := len(th.keys)
	th.mu.Unlock()
	if n != 3 {
		t.Fatalf("%d keys left after abandoned attempts, want the 3 of mallory's failure", n)
	}
}

// TestThrottleTrustedPair: a user who logged in from an address keeps
// logging in from it without waiting for the address's turn or delay
// (another user of a shared NAT guessing) or the account's (a stranger
// guessing the user's password elsewhere); the pair's own failures still
// slow it down.
func TestThrottleTrustedPair(t *testing.T) {
	clk := &fakeClock{now: time.Unix(1e9, 0)}
	th := newTestThrottle(clk, ThrottleOptions{Trust: 24 * time.Hour})
	nat := netip.MustParseAddr("198.51.100.1")
	elsewhere := netip.MustParseAddr("203.0.113.9")
	attempt(t, th, "alice", nat, true)
	for i := range 20 {
		th.Failure(fmt.Sprintf("guess%d", i), nat)
		th.Failure("alice", elsewhere)
	}
	if d := th.Delay("bob", nat); d != 16*time.Second {
		t.Fatalf("untrusted account from the NAT: delay %v, want 16s", d)
	}
	// A guess from the NAT is being verified: alice does not wait for it.
	guess, err := th.Begin(context.Background(), "mallory", nat)
	if err != nil {
		t.Fatal(err)
	}
	slept := len(clk.sleeps())
	attempt(t, th, "alice", nat, true)
	if s := clk.sleeps(); len(s) != slept {
		t.Fatalf("trusted pair slept %v", s[slept:])
	}
	guess.Failed()
	// Her own failures count for the pair.
	attempt(t, th, "alice", nat, false)
	if d := th.Delay("alice", nat); d != 250*time.Millisecond {
		t.Fatalf("trusted pair after its failure: delay %v, want 250ms", d)
	}
	// Trust ends.
	clk.add(25 * time.Hour)
	th.Failure("guess", nat)
	if d := th.Delay("alice", nat); d == 0 {
		t.Fatal("pair still trusted after Trust")
	}
}

func TestAddressKey(t *testing.T) {
	tests := []struct{ ip, want string }{
		{"192.0.2.7", "192.0.2.7/32"},
		{"::ffff:192.0.2.7", "192.0.2.7/32"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"},
		{"2001:db8:1:3::1", "2001:db8:1:3::/64"},
		{"fe80::1%eth0", "fe80::/64"},
		{"::1", "::/64"},
	}
	for _, tc := range tests {
		if got := AddressKey(netip.MustParseAddr(tc.ip)); got.String() != tc.want {
			t.Errorf("AddressKey(%s) = %s, want %s", tc.ip, got, tc.want)
		}
	}
	if got := AddressKey(netip.Addr{}); got.IsValid() {
		t.Errorf("AddressKey of no address = %s", got)
	}
	// Addresses of one IPv6 /64 share a throttle.
	th := NewThrottle(ThrottleOptions{})
	th.Failure("alice", netip.MustParseAddr("2001:db8::1"))
	if d := th.Delay("bob", netip.MustParseAddr("2001:db8::2")); d == 0 {
		t.Error("another address of the same /64 is not slowed down")
	}
	if d := th.Delay("bob", netip.MustParseAddr("2001:db8:0:1::1")); d != 0 {
		t.Error("another /64 is slowed down")
	}
}

func TestThrottleLongUserNames(t *testing.T) {
	th := NewThrottle(ThrottleOptions{})
	ip := netip.MustParseAddr("192.0.2.7")
	long := strings.Repeat("u", 60<<10)
	th.Failure(long, ip)
	th.mu.Lock()
	for k := range th.keys {
		if len(k.user) > 80 {
			t.Errorf("a key holds a %d-byte user name", len(k.user))
		}
	}
	th.mu.Unlock()
	if d := th.Delay(long, netip.MustParseAddr("198.51.100.1")); d == 0 {
		t.Error("the long name's account counter is not found again")
	}
	if d := th.Delay(long[1:], netip.MustParseAddr("198.51.100.1")); d != 0 {
		t.Error("another long name shares the counter")
	}
}

func TestLoginThrottled(t *testing.T) {
	clk := &fakeClock{now: time.Unix(1e9, 0)}
	th := newTestThrottle(clk, ThrottleOptions{Base: time.Second})
	var failures []string
	h, _ := HashPassword("s3cret")
	fs := &fakeStore{accounts: map[string]store.Account{"alice": {ID: 1, Name: "alice", PasswordHash: h}}}
	a := New(fs, nil, WithThrottle(th), WithFailureHook(func(m string) { failures = append(failures, m) }))
	ctx := context.Background()
	for range 3 {
		if _, err := a.Login(ctx, "alice", "bad", remote); !errors.Is(err, ErrInvalidCredentials) {
			t.Fatal(err)
		}
	}
	if want, got := []time.Duration{time.Second, 2 * time.Second}, clk.sleeps(); len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("slept %v, want %v", got, want)
	}
	if _, err := a.Login(ctx, "alice", "s3cret", remote); err != nil {
		t.Fatal(err)
	}
	if got := clk.sleeps(); len(got) != 3 || got[2] != 4*time.Second {
		t.Fatalf("slept %v: the right password also waits the first time", got)
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

// TestLoginConcurrentGuessesSerialised: parallel wrong LOGINs from one
// address are verified one after the other, each after the delay the
// previous failures earned, whatever the number of connections.
func TestLoginConcurrentGuessesSerialised(t *testing.T) {
	const n = 12
	clk := &fakeClock{now: time.Unix(1e9, 0)}
	th := newTestThrottle(clk, ThrottleOptions{Base: time.Second, Max: 16 * time.Second, Forget: 1e6 * time.Hour, Queue: n})
	h, _ := HashPassword("s3cret")
	fs := &fakeStore{accounts: map[string]store.Account{"alice": {ID: 1, Name: "alice", PasswordHash: h}}}
	a := New(fs, nil, WithThrottle(th))
	start := clk.Now()
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			user := "alice"
			if i%2 == 1 {
				user = fmt.Sprintf("nobody%d", i) // unknown users take turns too
			}
			if _, err := a.Login(context.Background(), user, "guess", remote); !errors.Is(err, ErrInvalidCredentials) {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	// n failures in turn from one address: at least the sum of the
	// delays between them has passed on the (fake) clock.
	var want time.Duration
	for k := 1; k < n; k++ {
		want += min(time.Second<<(k-1), 16*time.Second)
	}
	if got := clk.Now().Sub(start); got < want {
		t.Fatalf("%d concurrent guesses took %v of throttle time, want at least %v", n, got, want)
	}
	if p := a.hashes.peak.Load(); p != 1 {
		t.Fatalf("%d hashes at once, want 1 (one attempt per address at a time)", p)
	}
}

// TestThrottleQueueWithoutFailures: an address without failures refuses
// no attempt however many wait (clients of a webmail server or a NAT
// logging in at once); each gets its turn.
func TestThrottleQueueWithoutFailures(t *testing.T) {
	clk := &fakeClock{now: time.Unix(1e9, 0)}
	th := newTestThrottle(clk, ThrottleOptions{Queue: 3})
	ip := netip.MustParseAddr("203.0.113.10")
	held, err := th.Begin(context.Background(), "alice", ip)
	if err != nil {
		t.Fatal(err)
	}
	const n = 10
	errs := make(chan error, n)
	for i := range n {
		go func() {
			a, err := th.Begin(context.Background(), fmt.Sprintf("user%d", i), ip)
			a.Succeeded()
			errs <- err
		}()
	}
	addrKey := key{kind: kindAddress, addr: AddressKey(ip)}
	for deadline := time.Now().Add(10 * time.Second); ; runtime.Gosched() {
		th.mu.Lock()
		w := 0
		if s := th.keys[addrKey]; s != nil {
			w = s.waiting
		}
		th.mu.Unlock()
		if w == n {
			break
		}
		select {
		case err := <-errs:
			t.Fatalf("a waiter ended before its turn: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d attempts waiting", w, n)
		}
	}
	held.Succeeded()
	for range n {
		if err := <-errs; err != nil {
			t.Fatalf("waiter: %v, want its turn", err)
		}
	}
}

// outcomes counts ThrottleOptions.Observe calls; safe for concurrent use.
type outcomes struct {
	mu sync.Mutex
	n  map[string]int
}

func (o *outcomes) observe(outcome string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.n[outcome]++
}

func (o *outcomes) get() map[string]int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return maps.Clone(o.n)
}

// TestThrottleObserve: every attempt not admitted at once is reported
// once, as delayed (admitted after waiting), refused (ErrThrottled) or
// cancelled (its context ended while it waited); attempts admitted at
// once are not reported.
func TestThrottleObserve(t *testing.T) {
	clk := &fakeClock{now: time.Unix(1e9, 0)}
	seen := &outcomes{n: map[string]int{}}
	th := newTestThrottle(clk, ThrottleOptions{Queue: 1, Observe: seen.observe})
	ip := netip.MustParseAddr("203.0.113.9")
	want := func(w map[string]int) {
		t.Helper()
		if got := seen.get(); !maps.Equal(got, w) {
			t.Fatalf("outcomes = %v, want %v", got, w)
		}
	}
	attempt(t, th, "mallory", ip, false) // admitted at once, fails
	attempt(t, th, "bob", netip.MustParseAddr("198.51.100.1"), true)
	want(map[string]int{})
	held, err := th.Begin(context.Background(), "alice", ip) // waits out mallory's delay
	if err != nil {
		t.Fatal(err)
	}
	want(map[string]int{ThrottleDelayed: 1})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := th.Begin(ctx, "carol", ip) // waits for held's turn
		done <- err
	}()
	addrKey := key{kind: kindAddress, addr: AddressKey(ip)}
	for {
		th.mu.Lock()
		n := th.keys[addrKey].waiting
		th.mu.Unlock()
		if n == 1 {
			break
		}
		runtime.Gosched()
	}
	if _, err := th.Begin(context.Background(), "dave", ip); !errors.Is(err, ErrThrottled) {
		t.Fatalf("second waiter: %v, want ErrThrottled", err)
	}
	want(map[string]int{ThrottleDelayed: 1, ThrottleRefused: 1})
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("waiter: %v, want context.Canceled", err)
	}
	want(map[string]int{ThrottleDelayed: 1, ThrottleRefused: 1, ThrottleCancelled: 1})
	held.Succeeded()
}
