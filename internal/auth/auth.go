package auth

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"time"

	"github.com/emersion/go-sasl"

	"rookery/internal/logtext"
	"rookery/internal/store"
)

// ErrInvalidCredentials is returned by Login for an unknown user or a wrong
// password; callers must not tell the two apart to the client.
var ErrInvalidCredentials = errors.New("invalid credentials")

// Authenticator checks user names and passwords against a store.
type Authenticator struct {
	st     store.Store
	logger *slog.Logger
	// dummyHash is verified for unknown users so that they cost the same
	// hashing work as known ones. Set once in New, read-only afterwards.
	dummyHash string
	// fakeKey derives fake SCRAM salts for unknown users; set once in New.
	fakeKey []byte
	// scramNonce returns the server part of a SCRAM nonce (tests fix it).
	scramNonce func() string
	throttle   *Throttle              // nil: no throttling
	onFailure  func(mechanism string) // nil: no hook
	verified   *verifiedCache         // recent successful logins (verified.go)
	hashes     *hashLimiter           // bounds concurrent argon2id verifications
	now        func() time.Time       // the clock of the cache (tests move it)
}

// Option configures an Authenticator.
type Option func(*Authenticator)

// WithThrottle delays authentication attempts after failures (see Throttle).
func WithThrottle(t *Throttle) Option { return func(a *Authenticator) { a.throttle = t } }

// WithFailureHook calls f with the SASL mechanism ("LOGIN" for the IMAP
// LOGIN command) after each failed authentication (for metrics).
func WithFailureHook(f func(mechanism string)) Option {
	return func(a *Authenticator) { a.onFailure = f }
}

// WithAfterHashBurst calls release once a burst of password hashing (at
// least a few hashes of 19 MiB each) is followed by a second without
// any, at most every 10 seconds, from its own goroutine. The server passes
// debug.FreeOSMemory, so that the heap a login storm grew goes back to
// the system at once rather than minutes later.
func WithAfterHashBurst(release func()) Option {
	return func(a *Authenticator) { a.hashes.release = release }
}

// New returns an Authenticator backed by st. A nil logger discards logs.
func New(st store.Store, logger *slog.Logger, opts ...Option) *Authenticator {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	a := &Authenticator{st: st, logger: logger, fakeKey: make([]byte, 32), scramNonce: randomNonce,
		verified: newVerifiedCache(), hashes: newHashLimiter(), now: time.Now}
	_, _ = rand.Read(a.fakeKey)
	for _, o := range opts {
		o(a)
	}
	// A fixed, well-formed hash with the current parameters; the key
	// does not matter because its result is discarded.
	a.dummyHash = params{memory: hashMemoryKiB, time: hashTime, threads: hashThreads}.
		encode(make([]byte, hashSaltLen), make([]byte, hashKeyLen))
	return a
}

// Login verifies username and password. It returns ErrInvalidCredentials for
// an unknown user or a wrong password, and a wrapped store error if the
// account could not be read. Failures are logged with the remote address
// (which may be nil).
func (a *Authenticator) Login(ctx context.Context, username, password string, remote net.Addr) (store.Account, error) {
	return a.login(ctx, "LOGIN", username, password, remote)
}

func (a *Authenticator) login(ctx context.Context, mech, username, password string, remote net.Addr) (store.Account, error) {
	// The attempt waits for its turn before anything is checked, the
	// verified-credentials cache included: a hit there proves a password
	// as well as a hash does.
	att, err := a.throttle.Begin(ctx, store.AccountKey(username), remoteIP(remote))
	if err != nil {
		return store.Account{}, fmt.Errorf("login %q: %w", logtext.Clip(username), err)
	}
	defer att.Abandon() // no verdict: a store error, ctx ended
	acct, err := a.st.Account(ctx, username)
	if errors.Is(err, store.ErrNoSuchAccount) {
		if _, err := a.hashes.verify(ctx, a.dummyHash, password); err != nil && ctx.Err() != nil {
			return store.Account{}, fmt.Errorf("login %q: %w", logtext.Clip(username), err)
		} // the hash equalises timing with a known user's failure
		a.fail(ctx, att, username, remote, mech, "unknown user")
		return store.Account{}, ErrInvalidCredentials
	}
	if err != nil {
		return store.Account{}, fmt.Errorf("login %q: %w", logtext.Clip(username), err)
	}
	digest := a.verified.digest(acct.Name, password, acct.PasswordHash)
	if a.verified.hit(digest, a.now()) {
		att.Succeeded()
		return acct, nil
	}
	ok, err := a.hashes.verify(ctx, acct.PasswordHash, password)
	if err != nil && ctx.Err() != nil {
		return store.Account{}, fmt.Errorf("login %q: %w", logtext.Clip(username), err)
	}
	if err != nil {
		// A corrupt stored hash must not let anyone in, nor look
		// different to the client; the operator sees it in the log.
		a.logger.ErrorContext(ctx, "stored password hash unusable",
			"user", logtext.Clip(username), "remote", addrString(remote), "err", err)
		return store.Account{}, ErrInvalidCredentials
	}
	if !ok {
		a.fail(ctx, att, username, remote, mech, "wrong password")
		return store.Account{}, ErrInvalidCredentials
	}
	a.verified.add(digest, a.now())
	att.Succeeded()
	return acct, nil
}

// fail logs, counts and records (for throttling) a failed attempt: att
// when the throttle admitted one, else (nil) a failure before any
// password was checked.
func (a *Authenticator) fail(ctx context.Context, att *Attempt, username string, remote net.Addr, mech, reason string) {
	var delay time.Duration
	if a.throttle != nil {
		// Keyed by the account, not by the spelling of its name: a
		// guesser cannot reset the counters by changing case.
		key := store.AccountKey(username)
		if att != nil {
			att.Failed()
		} else {
			a.throttle.Failure(key, remoteIP(remote))
		}
		delay = a.throttle.Delay(key, remoteIP(remote))
	}
	a.logger.WarnContext(ctx, "authentication failed",
		"user", logtext.Clip(username), "remote", addrString(remote), "mechanism", mech, "reason", logtext.Clip(reason), "next_delay", delay)
	if a.onFailure != nil {
		a.onFailure(mech)
	}
}

func remoteIP(addr net.Addr) netip.Addr {
	switch a := addr.(type) {
	case *net.TCPAddr:
		ip, _ := netip.AddrFromSlice(a.IP)
		return ip.Unmap()
	case nil:
		return netip.Addr{}
	}
	ap, err := netip.ParseAddrPort(addr.String())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

func addrString(addr net.Addr) string {
	if addr == nil {
		return ""
	}
	return addr.String()
}

// ErrAuthorizationFailed is returned by the PLAIN server for an
// authorization identity other than the user itself (Rookery has no proxy
// authorization); IMAP answers it with [AUTHORIZATIONFAILED].
var ErrAuthorizationFailed = errors.New("authorization identity must be empty or equal to the user name")

// PlainServer returns a SASL PLAIN server (RFC 4616) that checks credentials
// with Login and calls done with the account on success. The authorization
// identity must be empty or equal to the authentication identity.
func (a *Authenticator) PlainServer(ctx context.Context, remote net.Addr, done func(store.Account)) sasl.Server {
	return plainServer{sasl.NewPlainServer(func(identity, username, password string) error {
		if identity != "" && store.AccountKey(identity) != store.AccountKey(username) {
			a.fail(ctx, nil, username, remote, sasl.Plain, "authorization identity "+identity)
			return ErrAuthorizationFailed
		}
		acct, err := a.login(ctx, sasl.Plain, username, password, remote)
		if err != nil {
			return err
		}
		done(acct)
		return nil
	})}
}

// ErrMalformedPlain is returned for a PLAIN message that is not
// [authzid] NUL authcid NUL passwd (RFC 4616 §2). The SASL library reports
// it with an error that cannot be told from a store failure.
var ErrMalformedPlain = errors.New("malformed PLAIN message")

// plainServer checks the shape of the PLAIN message before the library
// parses it.
type plainServer struct{ sasl.Server }

func (p plainServer) Next(resp []byte) ([]byte, bool, error) {
	if resp != nil && bytes.Count(resp, []byte{0}) != 2 {
		return nil, false, ErrMalformedPlain
	}
	return p.Server.Next(resp)
}

// LoginMechanism is the name of the (obsolete but common) SASL LOGIN
// mechanism (draft-murchison-sasl-login).
const LoginMechanism = "LOGIN"

// LoginServer returns a SASL LOGIN server: it asks "Username:" and
// "Password:" (an initial response is the user name) and checks them like
// Login.
func (a *Authenticator) LoginServer(ctx context.Context, remote net.Addr, done func(store.Account)) sasl.Server {
	return &loginServer{a: a, ctx: ctx, remote: remote, done: done}
}

type loginServer struct {
	a      *Authenticator
	ctx    context.Context
	remote net.Addr
	done   func(store.Account)

	step     int
	username string
}

func (s *loginServer) Next(resp []byte) ([]byte, bool, error) {
	switch s.step {
	case 0:
		s.step++
		if resp == nil {
			return []byte("Username:"), false, nil
		}
		fallthrough
	case 1:
		s.step = 2
		s.username = string(resp)
		return []byte("Password:"), false, nil
	case 2:
		s.step++
		acct, err := s.a.login(s.ctx, LoginMechanism, s.username, string(resp), s.remote)
		if err != nil {
			return nil, false, err
		}
		s.done(acct)
		return nil, true, nil
	}
	return nil, false, sasl.ErrUnexpectedClientResponse
}
