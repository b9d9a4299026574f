package imaptest

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"rookery/internal/auth"
	"rookery/internal/config"
	"rookery/internal/events"
	"rookery/internal/imapnum"
	"rookery/internal/imapserver"
	"rookery/internal/pgtest"
	"rookery/internal/store"
	"rookery/internal/store/pgstore"
	"rookery/internal/store/sqlitestore"
	"rookery/internal/tlsconf"
)

// Users are the accounts StartServer creates, name → password.
var Users = map[string]string{"alice": "pass", "bob": "pass"}

// Magic values that make the test server's store misbehave, to exercise the
// server's handling of unexpected failures without test hooks in
// production code: CreateMailbox of these names and OpenBlob of a message
// whose content is exactly one of them panic or fail with ErrInjected.
const (
	PanicMailbox = "rookery-test-panic" // the store panics
	ErrorMailbox = "rookery-test-error" // the store returns an unexpected error
	// UnavailableMailbox makes CreateMailbox fail with
	// store.ErrUnavailable, as a store whose database is down does.
	UnavailableMailbox = "rookery-test-unavailable"
	// BlockMailbox makes CREATE wait until its context ends; the store
	// call then returns the context's error and Server.Unblocked
	// receives it.
	BlockMailbox = "rookery-test-block"
	// StallMailbox makes Status of a mailbox of this name wait until its
	// context ends and then answer as if nothing had happened (as a store
	// that ignores cancellation would); Server.Stalled receives a value
	// when it starts waiting. LIST RETURN (STATUS ...) meets it in the
	// middle of its walk over the names.
	StallMailbox = "rookery-test-stall"
	// GoneContent is a message content that OpenBlob reports as gone
	// (store.ErrNoSuchMessage), as when another session's expunge
	// deleted its file after the message's row was read.
	GoneContent = "rookery-test-gone"
)

// ErrInjected is the error returned for ErrorMailbox and its blob.
var ErrInjected = errors.New("imaptest: injected store failure")

// Option changes the options a test server is built with.
type Option func(*imapserver.Options)

// Server is a running test server.
type Server struct {
	*imapserver.Server
	Store   store.Store
	Bus     *events.Memory
	Options imapserver.Options
	// Addr is the plaintext listener (STARTTLS offered), TLSAddr the
	// implicit-TLS one ("" when the options have no TLS configuration).
	Addr, TLSAddr string
	// ClientTLS trusts the server's self-signed certificate.
	ClientTLS *tls.Config
	// Unblocked receives the error of each CREATE BlockMailbox when its
	// context ended.
	Unblocked <-chan error
	// Stalled receives a value each time Status of StallMailbox starts
	// waiting.
	Stalled <-chan struct{}
	// DSN names the database of a Postgres server's store ("" on
	// SQLite).
	DSN string
}

// Dial connects a Client to the plaintext listener.
func (s *Server) Dial(t testing.TB) *Client { return Dial(t, s.Addr) }

// DialTLS connects a Client to the implicit-TLS listener.
func (s *Server) DialTLS(t testing.TB) *Client { return DialTLS(t, s.TLSAddr, s.ClientTLS) }

// hashes caches one argon2id hash per password: hashing is deliberately
// slow, and every test server needs the same accounts.
var hashes sync.Map // password → hash

func hashFor(t testing.TB, pw string) string {
	if h, ok := hashes.Load(pw); ok {
		return h.(string)
	}
	h, err := auth.HashPassword(pw)
	if err != nil {
		t.Fatalf("imaptest: hash password: %v", err)
	}
	hashes.Store(pw, h)
	return h
}

// scrams caches one SCRAM-SHA-256 secret per password (PBKDF2 is slow too).
var scrams sync.Map // password → secret

func scramFor(t testing.TB, pw string) string {
	if s, ok := scrams.Load(pw); ok {
		return s.(string)
	}
	s, err := auth.NewSCRAMSecret(pw)
	if err != nil {
		t.Fatalf("imaptest: SCRAM secret: %v", err)
	}
	scrams.Store(pw, s)
	return s
}

// DefaultMailboxLimits are the mailbox limits of a default configuration
// (config.Defaults), which StartServer's store enforces.
func DefaultMailboxLimits() store.MailboxLimits {
	l := config.Defaults().Limits
	return store.MailboxLimits{MaxNameBytes: l.MaxMailboxName, MaxDepth: l.MaxMailboxDepth, MaxMailboxes: l.MaxMailboxes,
		MaxKeywords: l.MaxKeywordsPerMailbox, MaxKeywordBytes: l.MaxKeywordLength}
}

// StartServer starts a server for t and stops it in t.Cleanup. Its store
// and options have the DefaultMailboxLimits.
func StartServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	return StartServerLimits(t, DefaultMailboxLimits(), opts...)
}

// StartServerLimits is StartServer with the mailbox limits l, given to
// the store (which enforces them) and to the server's options (before
// opts are applied).
func StartServerLimits(t testing.TB, l store.MailboxLimits, opts ...Option) *Server {
	t.Helper()
	return StartServerOn(t, SQLite, l, opts...)
}

// Backend names a store backend a test server runs on.
type Backend string

// The backends.
const (
	SQLite   Backend = "sqlite"   // the embedded store, in a temporary directory
	Postgres Backend = "postgres" // a fresh PostgreSQL database (package pgtest)
)

// Backends are every backend, for tests that run on each.
var Backends = []Backend{SQLite, Postgres}

// StartServerOn is StartServerLimits on the backend b. A test on
// Postgres is skipped when there is no PostgreSQL server (pgtest).
func StartServerOn(t testing.TB, b Backend, l store.MailboxLimits, opts ...Option) *Server {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	bus := events.NewMemory()
	var st store.Store
	var err error
	var dsn string
	switch b {
	case SQLite:
		st, err = sqlitestore.Open(ctx, dir, sqlitestore.Options{Bus: bus, MailboxLimits: l})
	case Postgres:
		dsn = pgtest.NewDatabase(t)
		st, err = pgstore.Open(ctx, dsn, pgstore.Options{Bus: bus, MailboxLimits: l, MaxConns: 4})
	default:
		t.Fatalf("imaptest: unknown backend %q", b)
	}
	if err != nil {
		t.Fatalf("imaptest: open store: %v", err)
	}
	for name, pw := range Users {
		if _, err := st.CreateAccount(ctx, name, hashFor(t, pw)); err != nil {
			_ = st.Close()
			t.Fatalf("imaptest: create account %s: %v", name, err)
		}
		if err := st.SetSCRAMSecret(ctx, name, scramFor(t, pw)); err != nil {
			_ = st.Close()
			t.Fatalf("imaptest: SCRAM secret of %s: %v", name, err)
		}
	}
	certFile, keyFile, err := tlsconf.SelfSigned(dir, nil)
	if err != nil {
		_ = st.Close()
		t.Fatalf("imaptest: certificate: %v", err)
	}
	rl, err := tlsconf.Load(certFile, keyFile)
	if err != nil {
		_ = st.Close()
		t.Fatalf("imaptest: load certificate: %v", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(rl.Certificate().Leaf)

	unblocked := make(chan error, 16)
	stalled := make(chan struct{}, 16)
	fs := faultStore{Store: st, unblocked: unblocked, stalled: stalled}
	so := imapserver.Options{
		Store:         fs,
		Bus:           bus,
		Auth:          auth.New(fs, nil),
		TLS:           rl.Config(),
		MailboxLimits: l,
	}
	for _, o := range opts {
		o(&so)
	}
	srv := imapserver.New(so)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = st.Close()
		t.Fatalf("imaptest: listen: %v", err)
	}
	lns := []net.Listener{ln}
	serving := 1
	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(ln) }()
	tlsAddr := ""
	if so.TLS != nil {
		// Without a TLS configuration (an Option may remove it) there is
		// no implicit-TLS listener.
		tln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			_ = ln.Close()
			_ = st.Close()
			t.Fatalf("imaptest: listen: %v", err)
		}
		tlsAddr = tln.Addr().String()
		lns = append(lns, tln)
		serving++
		go func() { errc <- srv.ServeTLS(tln) }()
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("imaptest: shutdown: %v", err)
		}
		// Serve may have returned before registering its listener.
		for _, l := range lns {
			_ = l.Close()
		}
		for range serving {
			if err := <-errc; !errors.Is(err, imapserver.ErrServerClosed) {
				t.Errorf("imaptest: serve: %v", err)
			}
		}
		if err := st.Close(); err != nil {
			t.Errorf("imaptest: close store: %v", err)
		}
	})
	return &Server{
		Server:    srv,
		Store:     st,
		Bus:       bus,
		Options:   so,
		Addr:      ln.Addr().String(),
		TLSAddr:   tlsAddr,
		ClientTLS: &tls.Config{RootCAs: pool, ServerName: "localhost", MinVersion: tls.VersionTLS12},
		Unblocked: unblocked,
		Stalled:   stalled,
		DSN:       dsn,
	}
}

// faultStore injects failures for the names PanicMailbox and ErrorMailbox
// and for the blobs with the same content.
type faultStore struct {
	store.Store
	unblocked chan<- error
	stalled   chan<- struct{}
}

// blobID is the content address of s (hex SHA-256, see store.BlobID).
func blobID(s string) store.BlobID {
	sum := sha256.Sum256([]byte(s))
	return store.BlobID(hex.EncodeToString(sum[:]))
}

var (
	panicBlob = blobID(PanicMailbox)
	errorBlob = blobID(ErrorMailbox)
	goneBlob  = blobID(GoneContent)
)

// FetchContent leaves the content of the fault blobs out, so that the
// server opens them (OpenBlob below).
func (f faultStore) FetchContent(ctx context.Context, mbox store.MailboxID, uids imapnum.Set, fn func(store.Message) error) error {
	return f.Store.FetchContent(ctx, mbox, uids, func(m store.Message) error {
		if m.Blob == panicBlob || m.Blob == errorBlob || m.Blob == goneBlob {
			m.Content = nil
		}
		return fn(m)
	})
}

func (f faultStore) OpenBlob(ctx context.Context, id store.BlobID) (store.Blob, error) {
	switch id {
	case panicBlob:
		panic("imaptest: injected panic")
	case errorBlob:
		return nil, ErrInjected
	case goneBlob:
		return nil, fmt.Errorf("imaptest: blob %s: %w", id, store.ErrNoSuchMessage)
	}
	return f.Store.OpenBlob(ctx, id)
}

func (f faultStore) CreateMailbox(ctx context.Context, acct store.AccountID, name, specialUse string) (store.Mailbox, error) {
	switch name {
	case PanicMailbox:
		panic("imaptest: injected panic")
	case ErrorMailbox:
		return store.Mailbox{}, ErrInjected
	case UnavailableMailbox:
		return store.Mailbox{}, fmt.Errorf("imaptest: connection lost: %w", store.ErrUnavailable)
	case BlockMailbox:
		<-ctx.Done()
		select {
		case f.unblocked <- ctx.Err():
		default:
		}
		return store.Mailbox{}, ctx.Err()
	}
	return f.Store.CreateMailbox(ctx, acct, name, specialUse)
}

// Status stalls for StallMailbox until ctx ends, then answers.
func (f faultStore) Status(ctx context.Context, mbox store.MailboxID) (store.MailboxStatus, error) {
	st, err := f.Store.Status(ctx, mbox)
	if err == nil && st.Name == StallMailbox {
		select {
		case f.stalled <- struct{}{}:
		default:
		}
		<-ctx.Done()
	}
	return st, err
}

// SearchCandidates passes the store's search index through
// (store.SearchIndex), so that servers under test use it.
func (f faultStore) SearchCandidates(ctx context.Context, mbox store.MailboxID, idx store.IndexKey) ([]store.UID, error) {
	si, ok := f.Store.(store.SearchIndex)
	if !ok {
		return nil, errors.New("imaptest: the store has no search index")
	}
	return si.SearchCandidates(ctx, mbox, idx)
}

// SortFields passes the store's stored SORT/THREAD fields through.
func (f faultStore) SortFields(ctx context.Context, mbox store.MailboxID, uids imapnum.Set, want store.SortWant, fn func(store.Message, *store.SortFields) error) error {
	si, ok := f.Store.(store.SearchIndex)
	if !ok {
		return errors.New("imaptest: the store has no search index")
	}
	return si.SortFields(ctx, mbox, uids, want, fn)
}
