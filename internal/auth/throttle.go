package auth

import (
	"context"
	"net/netip"
	"sync"
	"time"
)

// ThrottleOptions configure a Throttle; zero values take the defaults noted.
type ThrottleOptions struct {
	// Base is the delay after the first failure; each further failure
	// doubles it (default 250ms).
	Base time.Duration
	// Max caps the delay from failures of one client address, and of
	// one (account, address) pair (default 16s).
	Max time.Duration
	// AccountMax caps the delay that failures for an account from any
	// address add for every address (default 2s): a stranger guessing
	// a password slows the real user down this much at most, never
	// locks them out.
	AccountMax time.Duration
	// Forget is how long after its last failure a counter is dropped
	// (default 15m).
	Forget time.Duration
	// Now and Sleep replace the clock in tests (defaults time.Now and a
	// timer that stops when ctx is done).
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
}

// Throttle slows down password guessing: after failures, authentication
// attempts wait an exponentially increasing delay keyed by the client
// address, by the (account, address) pair and — capped — by the account.
// Success clears the pair's counter. It is safe for concurrent use.
type Throttle struct {
	o ThrottleOptions

	mu    sync.Mutex
	ip    map[netip.Addr]*counter // guarded by mu
	pair  map[pairKey]*counter    // guarded by mu
	acct  map[string]*counter     // guarded by mu
	sweep time.Time               // guarded by mu: last removal of old counters
}

type pairKey struct {
	user string
	ip   netip.Addr
}

type counter struct {
	n    int
	last time.Time
}

// NewThrottle returns a Throttle with o.
func NewThrottle(o ThrottleOptions) *Throttle {
	if o.Base <= 0 {
		o.Base = 250 * time.Millisecond
	}
	if o.Max <= 0 {
		o.Max = 16 * time.Second
	}
	if o.AccountMax <= 0 {
		o.AccountMax = 2 * time.Second
	}
	if o.Forget <= 0 {
		o.Forget = 15 * time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Sleep == nil {
		o.Sleep = sleepCtx
	}
	return &Throttle{o: o, ip: map[netip.Addr]*counter{}, pair: map[pairKey]*counter{}, acct: map[string]*counter{}}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Delay is how long an attempt for user from ip must wait now.
func (t *Throttle) Delay(user string, ip netip.Addr) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.o.Now()
	d := t.delay(t.count(t.ip[ip], now), t.o.Max)
	d = max(d, t.delay(t.count(t.pair[pairKey{user, ip}], now), t.o.Max))
	d = max(d, t.delay(t.count(t.acct[user], now), t.o.AccountMax))
	return d
}

// Wait sleeps for Delay (or until ctx is done).
func (t *Throttle) Wait(ctx context.Context, user string, ip netip.Addr) error {
	if d := t.Delay(user, ip); d > 0 {
		return t.o.Sleep(ctx, d)
	}
	return nil
}

// Failure records a failed attempt.
func (t *Throttle) Failure(user string, ip netip.Addr) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.o.Now()
	t.sweepLocked(now)
	bump := func(c *counter) *counter {
		if c == nil || now.Sub(c.last) > t.o.Forget {
			c = &counter{}
		}
		c.n++
		c.last = now
		return c
	}
	t.ip[ip] = bump(t.ip[ip])
	k := pairKey{user, ip}
	t.pair[k] = bump(t.pair[k])
	t.acct[user] = bump(t.acct[user])
}

// Success clears the counter of the (user, ip) pair. The address and
// account counters stay: one valid account must not let an address guess
// others' passwords at full speed.
func (t *Throttle) Success(user string, ip netip.Addr) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.pair, pairKey{user, ip})
}

func (t *Throttle) count(c *counter, now time.Time) int {
	if c == nil || now.Sub(c.last) > t.o.Forget {
		return 0
	}
	return c.n
}

func (t *Throttle) delay(n int, limit time.Duration) time.Duration {
	if n == 0 {
		return 0
	}
	d := t.o.Base
	for i := 1; i < n && d < limit; i++ {
		d *= 2
	}
	return min(d, limit)
}

// sweepLocked drops counters not touched for Forget, at most once a minute.
func (t *Throttle) sweepLocked(now time.Time) {
	if now.Sub(t.sweep) < time.Minute {
		return
	}
	t.sweep = now
	for k, c := range t.ip {
		if now.Sub(c.last) > t.o.Forget {
			delete(t.ip, k)
		}
	}
	for k, c := range t.pair {
		if now.Sub(c.last) > t.o.Forget {
			delete(t.pair, k)
		}
	}
	for k, c := range t.acct {
		if now.Sub(c.last) > t.o.Forget {
			delete(t.acct, k)
		}
	}
}
