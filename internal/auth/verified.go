package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Verified-credentials cache: clients that reconnect often (phones,
// webmail, imaptest's default mode) send the same user and password again
// and again, and each argon2id verification costs ~20 ms of CPU and 19 MiB.
// After one successful verification the cache remembers a keyed digest of
// (user, password, stored hash) for verifiedTTL, so a repeated login costs
// one HMAC. The stored hash is part of the digest, so a password change
// (also by another process) makes old entries miss at once. Only successes
// are cached: every failure still pays the full hash and the throttle.
const (
	verifiedTTL = 5 * time.Minute
	// verifiedMax bounds the entries (~64 bytes each).
	verifiedMax = 10000
)

type verifiedCache struct {
	key []byte // random per process: digests are useless elsewhere

	mu      sync.Mutex
	entries map[[sha256.Size]byte]time.Time // digest → expiry; guarded by mu
}

func newVerifiedCache() *verifiedCache {
	c := &verifiedCache{key: make([]byte, 32), entries: make(map[[sha256.Size]byte]time.Time)}
	_, _ = rand.Read(c.key)
	return c
}

// digest is HMAC-SHA256 over the length-prefixed user, password and hash.
func (c *verifiedCache) digest(user, password, hash string) [sha256.Size]byte {
	m := hmac.New(sha256.New, c.key)
	var n [8]byte
	for _, s := range []string{user, password, hash} {
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		m.Write(n[:])
		m.Write([]byte(s))
	}
	var d [sha256.Size]byte
	m.Sum(d[:0])
	return d
}

// hit reports whether d verified less than verifiedTTL before now.
func (c *verifiedCache) hit(d [sha256.Size]byte, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	exp, ok := c.entries[d]
	if ok && now.After(exp) {
		delete(c.entries, d)
		return false
	}
	return ok
}

// add remembers d until now+verifiedTTL. When full, expired entries go
// first, then arbitrary ones: a miss only costs a hash.
func (c *verifiedCache) add(d [sha256.Size]byte, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= verifiedMax {
		for k, exp := range c.entries {
			if now.After(exp) {
				delete(c.entries, k)
			}
		}
		for k := range c.entries {
			if len(c.entries) < verifiedMax {
				break
			}
			delete(c.entries, k)
		}
	}
	c.entries[d] = now.Add(verifiedTTL)
}

// hashLimiter bounds concurrent argon2id verifications to the number of
// CPUs: a login storm queues for a slot instead of allocating 19 MiB per
// waiting login (150 concurrent LOGINs took 2.9 GB before).
//
// Bounded is not returned: the Go heap grows to about twice what the
// running hashes hold and stays that size until the runtime's periodic
// collection and scavenger give it back, minutes later (measured: 17 MB
// before a storm, 139 MB for as long as we watched after it). x/crypto's
// argon2 allocates its memory itself, so it cannot be reused; instead,
// once a burst of at least burstHashes hashes is followed by
// burstIdle without any, release (debug.FreeOSMemory in the server) runs,
// at most once per burstEvery.
type hashLimiter struct {
	slots chan struct{}
	// done counts verifications, peak the most ever run at once.
	done, running, peak atomic.Int64

	release   func()                          // nil: nothing after bursts
	afterFunc func(d time.Duration, f func()) // time.AfterFunc; tests replace it
	now       func() time.Time                // time.Now; tests replace it
	mu        sync.Mutex                      // guards the fields below
	inUse     int                             // verifications running or waiting for a slot
	since     int                             // verifications since the last release
	armed     bool                            // a release is scheduled
	last      time.Time                       // last release
}

const (
	burstHashes = 4
	burstIdle   = time.Second
	burstEvery  = 10 * time.Second
)

func newHashLimiter() *hashLimiter {
	return &hashLimiter{slots: make(chan struct{}, runtime.GOMAXPROCS(0)),
		afterFunc: func(d time.Duration, f func()) { time.AfterFunc(d, f) }, now: time.Now}
}

// verify runs VerifyPassword in a slot; it gives up with ctx's error when
// ctx ends while waiting.
func (l *hashLimiter) verify(ctx context.Context, encoded, password string) (bool, error) {
	if err := ctx.Err(); err != nil {
		// The client left (or the server is stopping): a free slot
		// must not make select pick the hash anyway.
		return false, err
	}
	l.enter()
	defer l.exit()
	select {
	case l.slots <- struct{}{}:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	n := l.running.Add(1)
	for p := l.peak.Load(); n > p && !l.peak.CompareAndSwap(p, n); p = l.peak.Load() {
	}
	defer func() {
		l.running.Add(-1)
		l.done.Add(1)
		<-l.slots
	}()
	return VerifyPassword(encoded, password)
}

func (l *hashLimiter) enter() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.inUse++
}

// exit schedules a release when the last of a burst of verifications ends.
func (l *hashLimiter) exit() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.inUse--
	l.since++
	if l.release == nil || l.inUse > 0 || l.since < burstHashes || l.armed {
		return
	}
	l.armed = true
	l.afterFunc(max(burstIdle, l.last.Add(burstEvery).Sub(l.now())), l.maybeRelease)
}

// maybeRelease runs release unless verifications started again since it
// was scheduled (their end schedules it anew).
func (l *hashLimiter) maybeRelease() {
	l.mu.Lock()
	l.armed = false
	if l.inUse > 0 {
		l.mu.Unlock()
		return
	}
	l.since = 0
	l.last = l.now()
	l.mu.Unlock()
	l.release()
}
