package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"

	"github.com/emersion/go-sasl"

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
}

// New returns an Authenticator backed by st. A nil logger discards logs.
func New(st store.Store, logger *slog.Logger) *Authenticator {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	a := &Authenticator{st: st, logger: logger}
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
	acct, err := a.st.Account(ctx, username)
	if errors.Is(err, store.ErrNoSuchAccount) {
		_, _ = VerifyPassword(a.dummyHash, password) // equalise timing
		a.fail(ctx, username, remote, "unknown user")
		return store.Account{}, ErrInvalidCredentials
	}
	if err != nil {
		return store.Account{}, fmt.Errorf("login %q: %w", username, err)
	}
	ok, err := VerifyPassword(acct.PasswordHash, password)
	if err != nil {
		// A corrupt stored hash must not let anyone in, nor look
		// different to the client; the operator sees it in the log.
		a.logger.ErrorContext(ctx, "stored password hash unusable",
			"user", username, "remote", addrString(remote), "err", err)
		return store.Account{}, ErrInvalidCredentials
	}
	if !ok {
		a.fail(ctx, username, remote, "wrong password")
		return store.Account{}, ErrInvalidCredentials
	}
	return acct, nil
}

func (a *Authenticator) fail(ctx context.Context, username string, remote net.Addr, reason string) {
	a.logger.WarnContext(ctx, "authentication failed",
		"user", username, "remote", addrString(remote), "reason", reason)
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
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if identity != "" && identity != username {
			a.fail(ctx, username, remote, "authorization identity "+identity)
			return ErrAuthorizationFailed
		}
		acct, err := a.Login(ctx, username, password, remote)
		if err != nil {
			return err
		}
		done(acct)
		return nil
	})
}
