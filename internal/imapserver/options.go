package imapserver

import (
	"crypto/tls"
	"log/slog"
	"time"

	"rookery/internal/auth"
	"rookery/internal/events"
	"rookery/internal/store"
)

// PlaintextAuth says where LOGIN and AUTHENTICATE are allowed without TLS.
type PlaintextAuth int

// Plaintext authentication policies.
const (
	PlaintextLoopback PlaintextAuth = iota // only from loopback addresses (default)
	PlaintextAlways
	PlaintextNever
)

// Options configures a Server. Zero values take the defaults noted.
type Options struct {
	Store store.Store
	Bus   events.Bus
	Auth  *auth.Authenticator
	// TLS is used for implicit TLS listeners and STARTTLS; nil disables both.
	// GetCertificate may be set for reloads.
	TLS    *tls.Config
	Logger *slog.Logger

	PlaintextAuth PlaintextAuth
	// MaxLine bounds one command line outside literals (default 64 KiB).
	MaxLine int
	// AppendLimit bounds one APPEND message (default 64 MiB), advertised as APPENDLIMIT.
	AppendLimit int64
	// MaxConns bounds all connections (default 10,000: each holds a
	// file descriptor and a goroutine). MaxConnsPerUser and MaxConnsPerIP
	// bound those of one logged-in user and of one client address
	// (defaults 50 and 200). MaxUnauthConns and MaxUnauthConnsPerIP bound
	// the connections not logged in yet, in all and per client address
	// (defaults 1,000 and 50). A client address is an IPv4 address or an
	// IPv6 /64 (auth.AddressKey). Negative means unlimited. A connection
	// over a limit is told BYE [UNAVAILABLE] and closed.
	MaxConns            int
	MaxConnsPerUser     int
	MaxConnsPerIP       int
	MaxUnauthConns      int
	MaxUnauthConnsPerIP int
	// IdleTimeout is the auto-logout timer after login (RFC 9051 §5.4:
	// at least 30 minutes; default 30m). PreAuthTimeout is the time from
	// accept to a successful login, whatever the client does meanwhile
	// (default 60s).
	IdleTimeout    time.Duration
	PreAuthTimeout time.Duration
	// MailboxLimits are the limits the store enforces on mailbox names
	// and counts (zero fields: unlimited). The server uses them to bound
	// LIST patterns, to answer APPEND, COPY and MOVE to a name no
	// mailbox may have without TRYCREATE, and for the MAILBOX quota
	// resource (RFC 9208 §5.3).
	MailboxLimits store.MailboxLimits
	// Hooks observe connections and commands (metrics).
	Hooks Hooks
}
