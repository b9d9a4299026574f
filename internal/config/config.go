package config

import (
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Plaintext authentication policies (IMAP.PlaintextAuth).
const (
	PlaintextLoopback = "loopback"
	PlaintextAlways   = "always"
	PlaintextNever    = "never"
)

// MinIdleTimeout is the shortest auto-logout timer allowed after login:
// RFC 9051 §5.4 requires at least 30 minutes.
const MinIdleTimeout = 30 * time.Minute

//go:embed rookery.example.toml
var example string

// Example returns the commented example configuration file.
func Example() string { return example }

// Config is the whole server configuration.
type Config struct {
	// DataDir holds rookery.db, the message blobs and the self-signed
	// certificate. Relative paths are relative to the working directory.
	DataDir string `toml:"data_dir"`
	// Store chooses where mail is kept: the embedded store in DataDir
	// or a PostgreSQL database.
	Store  Store  `toml:"store"`
	IMAP   IMAP   `toml:"imap"`
	TLS    TLS    `toml:"tls"`
	Limits Limits `toml:"limits"`
	Log    Log    `toml:"log"`
	LMTP   LMTP   `toml:"lmtp"`
	// Quota is the default quota of accounts without their own limits
	// (set with `rookery user quota`).
	Quota   Quota   `toml:"quota"`
	Metrics Metrics `toml:"metrics"`
}

// Store backends (Store.Backend).
const (
	BackendSQLite   = "sqlite"
	BackendPostgres = "postgres"
)

// DefaultPoolSize is store.pool_size's default.
const DefaultPoolSize = 16

// maxPoolSize bounds store.pool_size: PostgreSQL's own default
// max_connections is 100, shared by every node.
const maxPoolSize = 1000

// Store chooses the storage backend.
type Store struct {
	// Backend is "sqlite" (the embedded store in DataDir, the default)
	// or "postgres" (a PostgreSQL database shared by any number of
	// nodes; DataDir then keeps only the self-signed certificate).
	Backend string `toml:"backend"`
	// DSN is the PostgreSQL connection string, a URL
	// ("postgres://user@host:5432/rookery") or key=value pairs. A
	// password may also come from PGPASSWORD or ~/.pgpass instead.
	DSN string `toml:"dsn"`
	// PoolSize bounds this node's connections to PostgreSQL.
	PoolSize int `toml:"pool_size"`
}

// Over-quota replies of LMTP (LMTP.OverQuota).
const (
	OverQuotaPermanent = "permanent"
	OverQuotaTemporary = "temporary"
)

// LMTP configures mail delivery over LMTP (RFC 2033).
type LMTP struct {
	// Listen is "host:port" (TCP), "unix:/path" or "/path" (Unix socket);
	// "" disables LMTP.
	Listen string `toml:"listen"`
	// Hostname is announced in the LMTP greeting ("" = the OS host name).
	Hostname string `toml:"hostname"`
	// Domains are the mail domains served; empty accepts any domain.
	Domains []string `toml:"domains"`
	// RecipientDelimiter separates name and detail in name+detail@domain.
	RecipientDelimiter string `toml:"recipient_delimiter"`
	// MaxMessageSize bounds one incoming message.
	MaxMessageSize Size `toml:"max_message_size"`
	// OverQuota is "permanent" (552, the sender gets a bounce) or
	// "temporary" (452, the MTA retries).
	OverQuota string `toml:"over_quota"`
}

// Quota is a default quota; 0 means unlimited.
type Quota struct {
	Storage  Size  `toml:"storage"`
	Messages int64 `toml:"messages"`
}

// Metrics configures the Prometheus endpoint.
type Metrics struct {
	// Listen is the HTTP address serving /metrics; "" disables it.
	Listen string `toml:"listen"`
}

// IMAP configures the IMAP listeners.
type IMAP struct {
	// Listen is the plaintext (STARTTLS) listener address; "" disables it.
	Listen string `toml:"listen"`
	// ListenTLS is the implicit-TLS (IMAPS) listener address; "" disables it.
	ListenTLS string `toml:"listen_tls"`
	// PlaintextAuth says where LOGIN/AUTHENTICATE are allowed without TLS:
	// "loopback", "always" or "never".
	PlaintextAuth string `toml:"plaintext_auth"`
}

// TLS names the certificate files. Both empty means a self-signed
// certificate generated in DataDir/tls.
type TLS struct {
	CertFile string `toml:"cert_file"`
	KeyFile  string `toml:"key_file"`
}

// Limits bounds what clients may use.
type Limits struct {
	MaxLine     Size `toml:"max_line"`
	AppendLimit Size `toml:"append_limit"`
	// MemoryLimit is the server's soft memory limit (runtime/debug
	// SetMemoryLimit): the Go runtime collects more often as its memory
	// nears it, instead of letting the heap grow to three times the live
	// data (GC percent 200). 0 means none; GOMEMLIMIT, when set, decides.
	MemoryLimit Size `toml:"memory_limit"`
	// MaxConns bounds all concurrent connections; MaxConnsPerUser and
	// MaxConnsPerIP those of one logged-in user and of one client
	// address (an IPv4 address or an IPv6 /64); MaxUnauthConns and
	// MaxUnauthConnsPerIP those not logged in yet, in all and per client
	// address. 0 means unlimited.
	MaxConns            int `toml:"max_conns"`
	MaxConnsPerUser     int `toml:"max_conns_per_user"`
	MaxConnsPerIP       int `toml:"max_conns_per_ip"`
	MaxUnauthConns      int `toml:"max_unauth_conns"`
	MaxUnauthConnsPerIP int `toml:"max_unauth_conns_per_ip"`
	// IdleTimeout is the auto-logout timer after login; PreAuthTimeout
	// the time from connecting to a successful login.
	IdleTimeout    Duration `toml:"idle_timeout"`
	PreAuthTimeout Duration `toml:"preauth_timeout"`

	// Mailbox limits, per account. MaxMailboxName bounds a mailbox name
	// in bytes of UTF-8, MaxMailboxDepth its number of levels;
	// MaxMailboxes bounds an account's mailboxes (and, separately, its
	// subscriptions), 0 meaning unlimited.
	MaxMailboxName  int `toml:"max_mailbox_name"`
	MaxMailboxDepth int `toml:"max_mailbox_depth"`
	MaxMailboxes    int `toml:"max_mailboxes"`
	// Keyword limits, per mailbox. MaxKeywordsPerMailbox bounds the
	// distinct keywords of a mailbox (its FLAGS list), 0 meaning
	// unlimited; MaxKeywordLength a keyword new to a mailbox, in bytes.
	MaxKeywordsPerMailbox int `toml:"max_keywords_per_mailbox"`
	MaxKeywordLength      int `toml:"max_keyword_length"`
}

// Log configures logging.
type Log struct {
	// Level is "debug", "info", "warn" or "error".
	Level string `toml:"level"`
	// Format is "text" or "json".
	Format string `toml:"format"`
}

// Defaults returns the default configuration.
func Defaults() Config {
	return Config{
		DataDir: "./rookery-data",
		Store:   Store{Backend: BackendSQLite, PoolSize: DefaultPoolSize},
		IMAP: IMAP{
			Listen:        "127.0.0.1:1143",
			ListenTLS:     "127.0.0.1:1993",
			PlaintextAuth: PlaintextLoopback,
		},
		Limits: Limits{
			MaxLine:               64 << 10,
			AppendLimit:           64 << 20,
			MemoryLimit:           DefaultMemoryLimit,
			MaxConns:              10000,
			MaxConnsPerUser:       50,
			MaxConnsPerIP:         200,
			MaxUnauthConns:        1000,
			MaxUnauthConnsPerIP:   50,
			IdleTimeout:           Duration(MinIdleTimeout),
			PreAuthTimeout:        Duration(60 * time.Second),
			MaxMailboxName:        1024,
			MaxMailboxDepth:       64,
			MaxMailboxes:          10000,
			MaxKeywordsPerMailbox: 256,
			MaxKeywordLength:      128,
		},
		Log: Log{Level: "info", Format: "text"},
		LMTP: LMTP{
			Domains:            []string{},
			RecipientDelimiter: "+",
			MaxMessageSize:     64 << 20,
			OverQuota:          OverQuotaPermanent,
		},
	}
}

// Load reads the TOML file at path over Defaults. Unknown keys are an error.
// The result is not validated: see Validate.
func Load(path string) (Config, error) {
	cfg := Defaults()
	md, err := toml.DecodeFile(path, &cfg)
	if err != nil {
		return Config{}, fmt.Errorf("load config %s: %w", path, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		return Config{}, fmt.Errorf("load config %s: unknown keys: %s", path, strings.Join(keys, ", "))
	}
	return cfg, nil
}

// DefaultMemoryLimit is limits.memory_limit's default: what the server
// needs with the default limits and a normal load, with room (ARCHITECTURE.md,
// Memory budget).
const DefaultMemoryLimit = 512 << 20

// minMemoryLimit bounds limits.memory_limit from below: under 64 MiB a
// soft limit is below what the server holds at rest with a few logins
// (each password hash takes 19 MiB), and the collector would run
// without end.
const minMemoryLimit = 64 << 20

// Bounds checked by Validate.
const (
	minMaxLine = 1 << 10
	maxMaxLine = 16 << 20
	maxPreAuth = time.Hour
	// A name bound below 64 bytes would refuse ordinary names; above
	// 16 KiB a name no longer fits the smallest command line by far,
	// and LIST's work grows with it.
	minMailboxName  = 64
	maxMailboxName  = 16 << 10
	maxMailboxDepth = 1024
	// A keyword bound below 16 bytes would refuse keywords clients use
	// ("$MailFlagBit0", "$Forwarded"); above 1 KiB the FLAGS and
	// PERMANENTFLAGS lists of a full mailbox grow past what SELECT
	// should send.
	minKeywordLength = 16
	maxKeywordLength = 1024
)

// Validate reports every invalid setting, joined into one error.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if strings.TrimSpace(c.DataDir) == "" {
		bad("data_dir must not be empty")
	}
	switch c.Store.Backend {
	case BackendSQLite:
	case BackendPostgres:
		if strings.TrimSpace(c.Store.DSN) == "" {
			bad("store.dsn must be set with backend %q", BackendPostgres)
		}
	default:
		bad("store.backend %q: want %q or %q", c.Store.Backend, BackendSQLite, BackendPostgres)
	}
	if c.Store.PoolSize < 1 || c.Store.PoolSize > maxPoolSize {
		bad("store.pool_size %d: want 1 to %d", c.Store.PoolSize, maxPoolSize)
	}
	if c.IMAP.Listen == "" && c.IMAP.ListenTLS == "" {
		bad("imap: listen and listen_tls are both empty: no listener")
	}
	for _, a := range []struct{ key, addr string }{{"listen", c.IMAP.Listen}, {"listen_tls", c.IMAP.ListenTLS}} {
		if a.addr == "" {
			continue
		}
		if err := checkAddr(a.addr); err != nil {
			bad("imap.%s %q: %v", a.key, a.addr, err)
		}
	}
	if c.IMAP.Listen != "" && c.IMAP.Listen == c.IMAP.ListenTLS && !strings.HasSuffix(c.IMAP.Listen, ":0") {
		bad("imap: listen and listen_tls are the same address %q", c.IMAP.Listen)
	}
	switch c.IMAP.PlaintextAuth {
	case PlaintextLoopback, PlaintextAlways, PlaintextNever:
	default:
		bad("imap.plaintext_auth %q: want %q, %q or %q", c.IMAP.PlaintextAuth, PlaintextLoopback, PlaintextAlways, PlaintextNever)
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		bad("tls: cert_file and key_file must be set together")
	}
	l := c.Limits
	if l.MaxLine < minMaxLine || l.MaxLine > maxMaxLine {
		bad("limits.max_line %d: want %d to %d bytes", l.MaxLine, minMaxLine, maxMaxLine)
	}
	if l.AppendLimit <= 0 {
		bad("limits.append_limit %d: must be positive", l.AppendLimit)
	}
	if l.MemoryLimit != 0 && l.MemoryLimit < minMemoryLimit {
		bad("limits.memory_limit %d: want 0 (none) or at least %d bytes", l.MemoryLimit, minMemoryLimit)
	}
	if l.AppendLimit > 1<<32-1 {
		// APPENDLIMIT and literal sizes are number (32-bit) in IMAP4rev1.
		bad("limits.append_limit %d: at most 4 GiB - 1", l.AppendLimit)
	}
	for _, n := range []struct {
		key string
		v   int
	}{
		{"max_conns", l.MaxConns},
		{"max_conns_per_user", l.MaxConnsPerUser},
		{"max_conns_per_ip", l.MaxConnsPerIP},
		{"max_unauth_conns", l.MaxUnauthConns},
		{"max_unauth_conns_per_ip", l.MaxUnauthConnsPerIP},
	} {
		if n.v < 0 {
			bad("limits.%s %d: must be >= 0 (0 = unlimited)", n.key, n.v)
		}
	}
	if time.Duration(l.IdleTimeout) < MinIdleTimeout {
		bad("limits.idle_timeout %s: must be at least %s (RFC 9051 section 5.4)", l.IdleTimeout, MinIdleTimeout)
	}
	if l.PreAuthTimeout <= 0 || time.Duration(l.PreAuthTimeout) > maxPreAuth {
		bad("limits.preauth_timeout %s: want more than 0 and at most %s", l.PreAuthTimeout, maxPreAuth)
	}
	if l.MaxMailboxName < minMailboxName || l.MaxMailboxName > maxMailboxName {
		bad("limits.max_mailbox_name %d: want %d to %d bytes", l.MaxMailboxName, minMailboxName, maxMailboxName)
	}
	if l.MaxMailboxDepth < 1 || l.MaxMailboxDepth > maxMailboxDepth {
		bad("limits.max_mailbox_depth %d: want 1 to %d levels", l.MaxMailboxDepth, maxMailboxDepth)
	}
	if l.MaxMailboxes < 0 {
		bad("limits.max_mailboxes %d: must be >= 0 (0 = unlimited)", l.MaxMailboxes)
	}
	if l.MaxKeywordsPerMailbox < 0 {
		bad("limits.max_keywords_per_mailbox %d: must be >= 0 (0 = unlimited)", l.MaxKeywordsPerMailbox)
	}
	if l.MaxKeywordLength < minKeywordLength || l.MaxKeywordLength > maxKeywordLength {
		bad("limits.max_keyword_length %d: want %d to %d bytes", l.MaxKeywordLength, minKeywordLength, maxKeywordLength)
	}
	if a := c.LMTP.Listen; a != "" {
		path, isUnix := strings.CutPrefix(a, "unix:")
		if !isUnix && strings.HasPrefix(a, "/") {
			path, isUnix = a, true
		}
		if isUnix && !strings.HasPrefix(path, "/") {
			bad("lmtp.listen %q: a Unix socket path must be absolute", a)
		} else if !isUnix {
			if err := checkAddr(a); err != nil {
				bad("lmtp.listen %q: %v", a, err)
			}
		}
	}
	if c.LMTP.RecipientDelimiter == "" {
		bad("lmtp.recipient_delimiter must not be empty")
	}
	for _, d := range c.LMTP.Domains {
		if d == "" || strings.ContainsAny(d, "@ \t") {
			bad("lmtp.domains: bad domain %q", d)
		}
	}
	if c.LMTP.MaxMessageSize <= 0 {
		bad("lmtp.max_message_size %d: must be positive", c.LMTP.MaxMessageSize)
	}
	switch c.LMTP.OverQuota {
	case OverQuotaPermanent, OverQuotaTemporary:
	default:
		bad("lmtp.over_quota %q: want %q or %q", c.LMTP.OverQuota, OverQuotaPermanent, OverQuotaTemporary)
	}
	if c.Quota.Messages < 0 {
		bad("quota.messages %d: must be >= 0 (0 = unlimited)", c.Quota.Messages)
	}
	if a := c.Metrics.Listen; a != "" {
		if err := checkAddr(a); err != nil {
			bad("metrics.listen %q: %v", a, err)
		}
	}
	if _, err := c.Log.SlogLevel(); err != nil {
		errs = append(errs, err)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		bad("log.format %q: want \"text\" or \"json\"", c.Log.Format)
	}
	if len(errs) > 0 {
		return fmt.Errorf("invalid configuration: %w", errors.Join(errs...))
	}
	return nil
}

// SlogLevel returns the slog level named by Level.
func (l Log) SlogLevel() (slog.Level, error) {
	switch strings.ToLower(l.Level) {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("log.level %q: want debug, info, warn or error", l.Level)
}

// checkAddr checks a listen address of the form host:port, [ipv6]:port or
// :port, with a numeric port (0 picks a free one). The package opens no
// sockets, so it does not use package net.
func checkAddr(addr string) error {
	i := strings.LastIndexByte(addr, ':')
	if i < 0 {
		return errors.New("missing port")
	}
	host, port := addr[:i], addr[i+1:]
	if strings.HasPrefix(host, "[") || strings.HasSuffix(host, "]") {
		if len(host) < 2 || host[0] != '[' || host[len(host)-1] != ']' {
			return errors.New("unbalanced brackets")
		}
	} else if strings.Contains(host, ":") {
		return errors.New("an IPv6 address must be in brackets, as in [::1]:1143")
	}
	if port == "" {
		return errors.New("missing port")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("port %q: want a number from 0 to 65535", port)
	}
	return nil
}
