package imapserver

import (
	"errors"
	"time"

	"rookery/internal/imap"
)

// Hooks let the caller observe the server (metrics) without this package
// knowing how the observations are kept. Nil funcs are skipped; they are
// called from connection goroutines and must be safe for concurrent use.
type Hooks struct {
	ConnOpened func()
	ConnClosed func()
	// Command is called after each dispatched command with its name
	// ("FETCH", "UID FETCH"), result ("OK", "NO" or "BAD") and the time
	// its handler took.
	Command func(name, result string, d time.Duration)
	// ConnRefused is called for each connection a connection limit
	// refuses, with the limit's configuration key: "max_conns",
	// "max_conns_per_ip", "max_unauth_conns" or
	// "max_unauth_conns_per_ip" at accept (the connection is closed),
	// "max_conns_per_user" at login (the login is refused).
	ConnRefused func(limit string)
}

func (h Hooks) connRefused(limit string) {
	if h.ConnRefused != nil {
		h.ConnRefused(limit)
	}
}

func (h Hooks) connOpened() {
	if h.ConnOpened != nil {
		h.ConnOpened()
	}
}

func (h Hooks) connClosed() {
	if h.ConnClosed != nil {
		h.ConnClosed()
	}
}

// command reports a handler's outcome.
func (h Hooks) command(name string, uid bool, err error, start time.Time) {
	if h.Command == nil {
		return
	}
	result := "OK"
	var ie *imap.Error
	switch {
	case err == nil, errors.Is(err, errSilent):
	case errors.As(err, &ie) && ie.Kind == imap.Bad:
		result = "BAD"
	default:
		result = "NO"
	}
	if uid {
		name = "UID " + name
	}
	h.Command(name, result, time.Since(start))
}
