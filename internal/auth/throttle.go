package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
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
	// Queue bounds the attempts waiting for their turn on one key (an
	// address, an account, a pair) that has failures counted; further
	// attempts fail with ErrThrottled (default 8). A key without
	// failures refuses none: the clients of a webmail server or of a
	// NAT, logging in at once from one address, all get their turn.
	Queue int
	// Trust is how long after a successful login its (account, address)
	// pair is trusted: its attempts wait only for the pair's own turn
	// and delay, not for the address's or the account's (default 7
	// days).
	Trust time.Duration
	// Now and Sleep replace the clock in tests (defaults time.Now and a
	// timer that stops when ctx is done).
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
	// Observe, if not nil, is told the outcome of every attempt Begin
	// did not admit at once: ThrottleDelayed, ThrottleRefused or
	// ThrottleCancelled (metrics). It is called without the throttle's
	// lock held and must be safe for concurrent use.
	Observe func(outcome string)
}

// Outcomes of attempts that Begin did not admit at once
// (ThrottleOptions.Observe).
const (
	// ThrottleDelayed: admitted after waiting for the delay of earlier
	// failures or for other attempts of its keys.
	ThrottleDelayed = "delayed"
	// ThrottleRefused: refused with ErrThrottled, too many attempts
	// waiting on one of its keys.
	ThrottleRefused = "refused"
	// ThrottleCancelled: its context ended while it waited (the client
	// left, its login deadline passed, the server is stopping).
	ThrottleCancelled = "cancelled"
)

// ErrThrottled is returned by Throttle.Begin when too many attempts
// already wait for their turn on the same address, account or pair.
var ErrThrottled = errors.New("too many authentication attempts waiting")

// trustedMax bounds the remembered trusted pairs (~100 bytes each).
const trustedMax = 100_000

// Throttle slows down password guessing. Each failure makes a key wait
// an exponentially growing delay before its next attempt: the client
// address, the (account, address) pair and — capped at AccountMax — the
// account. The backoff holds whatever the concurrency: an attempt is
// admitted only when none of its keys has an attempt being verified and
// every key's delay since its last failure has passed, so parallel
// connections from one address take turns instead of guessing side by
// side. A pair that logged in successfully is trusted for a while: its
// attempts skip the address's and the account's turns (a user behind a
// NAT shared with a guesser, or whose account a stranger is guessing,
// keeps logging in) but not the pair's own. It is safe for concurrent
// use.
type Throttle struct {
	o ThrottleOptions

	mu      sync.Mutex
	keys    map[key]*keyState // guarded by mu
	trusted map[key]time.Time // pair keys → end of trust; guarded by mu
	sweep   time.Time         // guarded by mu: last removal of old counters
}

type keyKind uint8

const (
	kindPair keyKind = iota
	kindAccount
	kindAddress
)

// key names what a counter and a turn belong to. The user is a userKey,
// the address an AddressKey; the unused field is zero.
type key struct {
	kind keyKind
	user string
	addr netip.Prefix
}

// keyState is a key's failure counter and turn.
type keyState struct {
	n    int       // failures since the counter was last forgotten
	last time.Time // last failure
	// busy is set while an admitted attempt of this key is verified;
	// free is closed when it ends.
	busy bool
	free chan struct{}
	// waiting counts attempts waiting for their turn.
	waiting int
}

func (s *keyState) idle() bool { return !s.busy && s.waiting == 0 }

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
	if o.Queue <= 0 {
		o.Queue = 8
	}
	if o.Trust <= 0 {
		o.Trust = 7 * 24 * time.Hour
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Sleep == nil {
		o.Sleep = sleepCtx
	}
	return &Throttle{o: o, keys: map[key]*keyState{}, trusted: map[key]time.Time{}}
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

// AddressKey is the unit in which client addresses are counted, by the
// throttle and by per-address connection limits: an IPv4 address, or an
// IPv6 /64 (a subscriber's network: a client picks any of its 2^64
// addresses at will). IPv4-mapped IPv6 addresses count as IPv4.
func AddressKey(ip netip.Addr) netip.Prefix {
	ip = ip.Unmap().WithZone("")
	if !ip.IsValid() {
		return netip.Prefix{}
	}
	bits := 32
	if ip.Is6() {
		bits = 64
	}
	p, _ := ip.Prefix(bits)
	return p
}

// maxUserKey is the longest user name kept as a counter key; longer
// names (never an account's) are keyed by their SHA-256, so that a client
// cannot make the throttle hold its 60 KB user names.
const maxUserKey = 64

func userKey(user string) string {
	if len(user) <= maxUserKey {
		return user
	}
	h := sha256.Sum256([]byte(user))
	return "sha256:" + hex.EncodeToString(h[:])
}

// gatesLocked lists the keys whose turn an attempt of (user, addr) takes:
// the pair, and unless the pair is trusted the account and the address.
func (t *Throttle) gatesLocked(user string, addr netip.Prefix, now time.Time) []key {
	pair := key{kind: kindPair, user: user, addr: addr}
	if end, ok := t.trusted[pair]; ok && now.Before(end) {
		return []key{pair}
	}
	return []key{pair, {kind: kindAccount, user: user}, {kind: kindAddress, addr: addr}}
}

// Delay is how long an attempt for user from ip would wait now for the
// delays of earlier failures (not counting attempts in progress).
func (t *Throttle) Delay(user string, ip netip.Addr) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.o.Now()
	var d time.Duration
	for _, k := range t.gatesLocked(userKey(user), AddressKey(ip), now) {
		if s := t.keys[k]; s != nil {
			d = max(d, t.readyLocked(k, s, now).Sub(now))
		}
	}
	return d
}

// Attempt is an authentication attempt admitted by Begin. Exactly one of
// Failed, Succeeded or Abandon ends it; later calls do nothing. A nil
// *Attempt (from a nil *Throttle) does nothing.
type Attempt struct {
	t      *Throttle
	user   string
	addr   netip.Prefix
	keys   []key
	states []*keyState
	done   bool // guarded by t.mu
}

// Begin waits for the turn of an attempt by user from ip: until no other
// attempt of its keys is being verified and the delay earned by each
// key's failures has passed since its last failure. It fails with
// ErrThrottled when Queue attempts already wait on one of the keys and
// that key has failures counted (after the key's current delay, at
// least Base), and with ctx's error
// when ctx ends first. The caller verifies the
// credentials and ends the attempt. A nil *Throttle admits at once.
func (t *Throttle) Begin(ctx context.Context, user string, ip netip.Addr) (*Attempt, error) {
	if t == nil {
		return nil, nil
	}
	a := &Attempt{t: t, user: userKey(user), addr: AddressKey(ip)}
	t.mu.Lock()
	now := t.o.Now()
	t.sweepLocked(now)
	a.keys = t.gatesLocked(a.user, a.addr, now)
	a.states = make([]*keyState, len(a.keys))
	for i, k := range a.keys {
		a.states[i] = t.stateLocked(k)
		if a.states[i].waiting >= t.o.Queue && a.states[i].n > 0 {
			// Refused, after the key's current delay (at least Base):
			// the client would have waited that long anyway, and a
			// guesser does not get refusals at the speed of its link.
			d := max(t.readyLocked(k, a.states[i], now).Sub(now), t.o.Base)
			for j := range a.states[:i+1] {
				t.dropIdleLocked(a.keys[j], a.states[j])
			}
			t.mu.Unlock()
			t.observe(ThrottleRefused)
			if err := t.o.Sleep(ctx, d); err != nil {
				return nil, err
			}
			return nil, ErrThrottled
		}
	}
	for _, s := range a.states {
		s.waiting++
	}
	for waited := false; ; waited = true {
		now = t.o.Now()
		var busy chan struct{}
		var until time.Time
		for i, s := range a.states {
			if s.busy {
				busy = s.free
				break
			}
			if r := t.readyLocked(a.keys[i], s, now); r.After(until) {
				until = r
			}
		}
		if busy == nil && !until.After(now) {
			for _, s := range a.states {
				s.waiting--
				s.busy = true
				s.free = make(chan struct{})
			}
			t.mu.Unlock()
			if waited {
				t.observe(ThrottleDelayed)
			}
			return a, nil
		}
		t.mu.Unlock()
		var err error
		if busy != nil {
			select {
			case <-busy:
			case <-ctx.Done():
				err = ctx.Err()
			}
		} else {
			err = t.o.Sleep(ctx, until.Sub(now))
		}
		t.mu.Lock()
		if err != nil {
			for i, s := range a.states {
				s.waiting--
				t.dropIdleLocked(a.keys[i], s)
			}
			t.mu.Unlock()
			t.observe(ThrottleCancelled)
			return nil, err
		}
	}
}

// observe reports an outcome to ThrottleOptions.Observe.
func (t *Throttle) observe(outcome string) {
	if t.o.Observe != nil {
		t.o.Observe(outcome)
	}
}

// Failed ends the attempt as a failure: the address, the pair and the
// account each count it.
func (a *Attempt) Failed() {
	a.end(func(now time.Time) { a.t.failureLocked(a.user, a.addr, now) })
}

// Succeeded ends the attempt as a success: the pair's counter is cleared
// and the pair trusted for ThrottleOptions.Trust. The address and account
// counters stay: one valid account must not let an address guess others'
// passwords at full speed.
func (a *Attempt) Succeeded() {
	a.end(func(now time.Time) {
		t := a.t
		pair := key{kind: kindPair, user: a.user, addr: a.addr}
		if s := t.keys[pair]; s != nil {
			s.n = 0
		}
		if len(t.trusted) >= trustedMax {
			t.trimTrustedLocked(now)
		}
		t.trusted[pair] = now.Add(t.o.Trust)
	})
}

// Abandon ends the attempt without a verdict (the account could not be
// read, the client left): nothing is counted.
func (a *Attempt) Abandon() { a.end(nil) }

func (a *Attempt) end(verdict func(now time.Time)) {
	if a == nil {
		return
	}
	t := a.t
	t.mu.Lock()
	defer t.mu.Unlock()
	if a.done {
		return
	}
	a.done = true
	for _, s := range a.states {
		s.busy = false
		close(s.free)
		s.free = nil
	}
	if verdict != nil {
		verdict(t.o.Now())
	}
	for i, s := range a.states {
		t.dropIdleLocked(a.keys[i], s)
	}
}

// Failure records a failed attempt that was not admitted by Begin (one
// refused before any password was checked, such as a foreign
// authorization identity).
func (t *Throttle) Failure(user string, ip netip.Addr) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.o.Now()
	t.sweepLocked(now)
	t.failureLocked(userKey(user), AddressKey(ip), now)
}

func (t *Throttle) failureLocked(user string, addr netip.Prefix, now time.Time) {
	for _, k := range []key{{kind: kindPair, user: user, addr: addr}, {kind: kindAccount, user: user}, {kind: kindAddress, addr: addr}} {
		s := t.stateLocked(k)
		if now.Sub(s.last) > t.o.Forget {
			s.n = 0
		}
		s.n++
		s.last = now
	}
}

// stateLocked returns k's state, created if absent.
func (t *Throttle) stateLocked(k key) *keyState {
	s := t.keys[k]
	if s == nil {
		s = &keyState{}
		t.keys[k] = s
	}
	return s
}

// dropIdleLocked removes k's state when nothing is left in it.
func (t *Throttle) dropIdleLocked(k key, s *keyState) {
	if s.idle() && s.n == 0 && t.keys[k] == s {
		delete(t.keys, k)
	}
}

// readyLocked is when k's next attempt may start: the delay earned by
// its failures after the last one.
func (t *Throttle) readyLocked(k key, s *keyState, now time.Time) time.Time {
	if s.n == 0 || now.Sub(s.last) > t.o.Forget {
		return time.Time{}
	}
	limit := t.o.Max
	if k.kind == kindAccount {
		limit = t.o.AccountMax
	}
	d := t.o.Base
	for i := 1; i < s.n && d < limit; i++ {
		d *= 2
	}
	return s.last.Add(min(d, limit))
}

// sweepLocked drops counters not touched for Forget and ended trusts, at
// most once a minute.
func (t *Throttle) sweepLocked(now time.Time) {
	if now.Sub(t.sweep) < time.Minute {
		return
	}
	t.sweep = now
	for k, s := range t.keys {
		if s.idle() && now.Sub(s.last) > t.o.Forget {
			delete(t.keys, k)
		}
	}
	for k, end := range t.trusted {
		if !now.Before(end) {
			delete(t.trusted, k)
		}
	}
}

// trimTrustedLocked makes room in a full trusted set: ended trusts first,
// then arbitrary ones (such a pair only waits its turn again).
func (t *Throttle) trimTrustedLocked(now time.Time) {
	for k, end := range t.trusted {
		if !now.Before(end) {
			delete(t.trusted, k)
		}
	}
	for k := range t.trusted {
		if len(t.trusted) < trustedMax {
			break
		}
		delete(t.trusted, k)
	}
}
