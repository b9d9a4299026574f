package auth

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"

	"rookery/internal/store"
)

func TestVerifiedCache(t *testing.T) {
	a, _, fs := newTestAuth(t)
	ctx := context.Background()
	now := time.Unix(1_800_000_000, 0)
	a.now = func() time.Time { return now }
	login := func(pw string, wantOK bool, wantHashes int64) {
		t.Helper()
		_, err := a.Login(ctx, "alice", pw, remote)
		if (err == nil) != wantOK {
			t.Fatalf("login with %q: err %v, want ok=%v", pw, err, wantOK)
		}
		if got := a.hashes.done.Load(); got != wantHashes {
			t.Fatalf("login with %q: %d hashes so far, want %d", pw, got, wantHashes)
		}
	}
	login("s3cret", true, 1)
	login("s3cret", true, 1) // remembered: no hash
	login("S3cret", false, 2)
	login("S3cret", false, 3) // failures are never remembered
	login("s3cret", true, 3)

	// A password change (another process writes a new hash) makes the
	// old entry miss at once.
	h, err := HashPassword("n3w")
	if err != nil {
		t.Fatal(err)
	}
	acct := fs.accounts["alice"]
	acct.PasswordHash = h
	fs.accounts["alice"] = acct
	login("s3cret", false, 4)
	login("n3w", true, 5)
	login("n3w", true, 5)

	// Entries expire.
	now = now.Add(verifiedTTL + time.Second)
	login("n3w", true, 6)
	login("n3w", true, 6)

	// Another user with the same password is not a hit.
	fs.accounts["carol"] = store.Account{ID: 9, Name: "carol", PasswordHash: h}
	if _, err := a.Login(ctx, "carol", "n3w", remote); err != nil {
		t.Fatal(err)
	}
	if got := a.hashes.done.Load(); got != 7 {
		t.Fatalf("%d hashes, want 7", got)
	}
}

func TestVerifiedCacheBounded(t *testing.T) {
	c := newVerifiedCache()
	now := time.Unix(1_800_000_000, 0)
	for i := range verifiedMax + 100 {
		c.add(c.digest("u", string(rune(i)), "h"), now)
	}
	if n := len(c.entries); n > verifiedMax {
		t.Fatalf("%d entries, bound %d", n, verifiedMax)
	}
}

func TestHashConcurrencyBounded(t *testing.T) {
	a, _, _ := newTestAuth(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	for range 8 * runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = a.Login(ctx, "nobody", "x", remote) // unknown users hash too
		}()
	}
	wg.Wait()
	if p := a.hashes.peak.Load(); p > int64(runtime.GOMAXPROCS(0)) || p < 1 {
		t.Fatalf("peak of %d concurrent hashes, bound %d", p, runtime.GOMAXPROCS(0))
	}

	// A login waiting for a slot gives up with its context.
	for range cap(a.hashes.slots) {
		a.hashes.slots <- struct{}{}
	}
	cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	_, err := a.Login(cctx, "alice", "s3cret", remote)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("login while every slot is taken: %v, want the context's error", err)
	}
	for range cap(a.hashes.slots) {
		<-a.hashes.slots
	}
}

// TestHashBurstRelease: once a burst of hashes is over, the release
// (debug.FreeOSMemory in the server) runs once; not after a hash or two,
// not while logins still hash or wait for a slot, not more often than
// burstEvery.
func TestHashBurstRelease(t *testing.T) {
	var released int
	a, _, _ := newTestAuth(t)
	WithAfterHashBurst(func() { released++ })(a)
	now := time.Unix(1_800_000_000, 0)
	type timer struct {
		d time.Duration
		f func()
	}
	var timers []timer
	a.hashes.now = func() time.Time { return now }
	a.hashes.afterFunc = func(d time.Duration, f func()) { timers = append(timers, timer{d, f}) }
	ctx := context.Background()
	login := func(user string) {
		t.Helper()
		if _, err := a.Login(ctx, user, "wrong", remote); !errors.Is(err, ErrInvalidCredentials) {
			t.Fatal(err)
		}
	}
	for i := range burstHashes - 1 {
		login([]string{"alice", "nobody"}[i%2]) // unknown users hash too
	}
	if len(timers) != 0 {
		t.Fatalf("release scheduled after %d hashes", burstHashes-1)
	}
	login("alice")
	if len(timers) != 1 || timers[0].d != burstIdle {
		t.Fatalf("timers %v, want one after %v", timers, burstIdle)
	}
	// A login is waiting for a slot when the timer fires: no release.
	for range cap(a.hashes.slots) {
		a.hashes.slots <- struct{}{}
	}
	done := make(chan struct{})
	go func() { defer close(done); login("nobody") }()
	for {
		a.hashes.mu.Lock()
		n := a.hashes.inUse
		a.hashes.mu.Unlock()
		if n == 1 {
			break
		}
		runtime.Gosched()
	}
	timers[0].f()
	if released != 0 {
		t.Fatal("released while a login waits to hash")
	}
	for range cap(a.hashes.slots) {
		<-a.hashes.slots
	}
	<-done
	// Its end schedules the release again; this time it runs.
	if len(timers) != 2 {
		t.Fatalf("%d timers, want 2", len(timers))
	}
	timers[1].f()
	if released != 1 {
		t.Fatalf("released %d times, want 1", released)
	}
	// The next burst right after waits for burstEvery since the last.
	now = now.Add(2 * time.Second)
	for range burstHashes {
		login("alice")
	}
	if len(timers) != 3 || timers[2].d != burstEvery-2*time.Second {
		t.Fatalf("third timer after %v, want %v", timers[len(timers)-1].d, burstEvery-2*time.Second)
	}
}

// TestHashLimiterCancelled: a login whose client has gone computes no
// hash, even when a slot is free.
func TestHashLimiterCancelled(t *testing.T) {
	l := newHashLimiter()
	h, err := HashPassword("s3cret")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if ok, err := l.verify(ctx, h, "s3cret"); ok || !errors.Is(err, context.Canceled) {
		t.Fatalf("verify with a cancelled context = %v, %v", ok, err)
	}
	if n := l.done.Load(); n != 0 {
		t.Fatalf("%d hashes computed", n)
	}
}
