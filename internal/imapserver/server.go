// Package imapserver serves IMAP4rev2 and IMAP4rev1 over plaintext (with
// STARTTLS) and implicit-TLS listeners. It owns the connection loop, the
// declarative command table with its state gate, one handler file per
// command (cmd_<name>.go), and the single place where errors become
// responses. It reaches storage only through store.Store.
package imapserver

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"time"

	"rookery/internal/auth"
)

// Server is an IMAP server. Create it with New.
type Server struct {
	opts Options
	log  *slog.Logger

	mu        sync.Mutex
	listeners map[net.Listener]struct{} // guarded by mu
	conns     map[*conn]struct{}        // guarded by mu
	open      int                       // guarded by mu: connections counted by admit
	unauth    int                       // guarded by mu: of which not logged in
	perIP     map[netip.Prefix]*ipConns // guarded by mu; by auth.AddressKey
	perUser   map[string]int            // guarded by mu
	closing   bool                      // guarded by mu
	wg        sync.WaitGroup

	// refusals logs refused connections and accept failures, one line
	// per kind and interval.
	refusals *rateLog

	// readers and writers hold the I/O buffers that idling connections
	// give back (cmd_idle.go), so that an IDLE costs no 32 KiB of buffers.
	readers, writers sync.Pool

	sortCache *sortCache // SORT fields of recently sorted mailboxes
	blobCache *blobCache // anatomies and small contents of recently fetched messages
}

// sortCacheBytes bounds the memory of the SORT and THREAD fields the
// server keeps (about 100 bytes per message for SORT, a few hundred for
// THREAD).
const sortCacheBytes = 128 << 20

// New returns a server with opts; zero options take their defaults.
func New(opts Options) *Server {
	if opts.MaxLine <= 0 {
		opts.MaxLine = 64 << 10
	}
	if opts.AppendLimit <= 0 {
		opts.AppendLimit = 64 << 20
	}
	if opts.MaxConns == 0 {
		opts.MaxConns = 10000
	}
	if opts.MaxUnauthConns == 0 {
		opts.MaxUnauthConns = 1000
	}
	if opts.MaxUnauthConnsPerIP == 0 {
		opts.MaxUnauthConnsPerIP = 50
	}
	if opts.MaxConnsPerUser == 0 {
		opts.MaxConnsPerUser = 50
	}
	if opts.MaxConnsPerIP == 0 {
		opts.MaxConnsPerIP = 200
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = 30 * time.Minute
	}
	if opts.PreAuthTimeout <= 0 {
		opts.PreAuthTimeout = 60 * time.Second
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{
		opts:      opts,
		log:       log,
		listeners: make(map[net.Listener]struct{}),
		conns:     make(map[*conn]struct{}),
		perIP:     make(map[netip.Prefix]*ipConns),
		perUser:   make(map[string]int),
		refusals:  newRateLog(log, refusalLogEvery),
		sortCache: newSortCache(sortCacheBytes),
		blobCache: newBlobCache(blobCacheBytes),
	}
}

// ErrServerClosed is returned by Serve and ServeTLS after Shutdown.
var ErrServerClosed = errors.New("imapserver: server closed")

// Serve accepts plaintext connections (with STARTTLS when TLS is configured)
// on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error { return s.serve(ln, false) }

// ServeTLS accepts implicit-TLS connections on ln until Shutdown.
func (s *Server) ServeTLS(ln net.Listener) error {
	if s.opts.TLS == nil {
		return errors.New("imapserver: ServeTLS without a TLS configuration")
	}
	return s.serve(ln, true)
}

func (s *Server) serve(ln net.Listener, implicitTLS bool) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return ErrServerClosed
	}
	s.listeners[ln] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, ln)
		s.mu.Unlock()
	}()
	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			closing := s.closing
			s.mu.Unlock()
			if closing {
				return ErrServerClosed
			}
			if temporaryAcceptError(err) {
				// Out of file descriptors or buffers: the server
				// must not stop for that; wait and try again.
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				s.refusals.warn("accept failed; retrying", "err", err)
				time.Sleep(delay)
				continue
			}
			return fmt.Errorf("imapserver: accept: %w", err)
		}
		delay = 0
		ip := remoteIP(nc.RemoteAddr())
		key := auth.AddressKey(ip)
		if r := s.admit(key); r != nil {
			s.opts.Hooks.connRefused(r.limit)
			s.refuse(nc, implicitTLS, r.text)
			continue
		}
		if implicitTLS {
			nc = tls.Server(nc, s.opts.TLS)
		}
		c := newConn(s, nc, implicitTLS, ip)
		s.mu.Lock()
		if s.closing {
			s.mu.Unlock()
			_ = nc.Close()
			s.release(key, true)
			continue
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			s.opts.Hooks.connOpened()
			c.serve()
			s.opts.Hooks.connClosed()
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
		}()
	}
}

// temporaryAcceptError reports whether Accept failed for a lack of
// resources (file descriptors, buffers) or a timeout, which pass.
func temporaryAcceptError(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	for _, e := range []error{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM, syscall.ECONNABORTED} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// refusalLogEvery is how often a kind of refusal is logged at most.
const refusalLogEvery = 10 * time.Second

// refuse tells a connection over a limit why (RFC 9051 §7.1:
// UNAVAILABLE) and closes it. The write goes into the new socket's empty
// send buffer, so it does not block the accept loop. On an implicit-TLS
// listener nothing is written: the client expects a handshake, and one
// per refused connection is work an attacker could ask for at will.
func (s *Server) refuse(nc net.Conn, implicitTLS bool, why string) {
	s.refusals.warn("connection refused", "reason", why, "remote", nc.RemoteAddr().String())
	if !implicitTLS {
		_ = nc.SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = nc.Write([]byte("* BYE [UNAVAILABLE] " + why + "\r\n"))
	}
	_ = nc.Close()
}

func remoteIP(a net.Addr) netip.Addr {
	if ta, ok := a.(*net.TCPAddr); ok {
		ip, _ := netip.AddrFromSlice(ta.IP)
		return ip.Unmap()
	}
	return netip.Addr{}
}

// ipConns counts one client address's connections.
type ipConns struct{ all, unauth int }

// over reports whether n has reached a limit (negative: unlimited).
func over(n, limit int) bool { return limit >= 0 && n >= limit }

// refusal is a connection limit that refuses a connection: the limit's
// configuration key (what Hooks.ConnRefused reports) and what the client
// is told.
type refusal struct{ limit, text string }

// The refusals of the connection limits.
var (
	refuseConns         = &refusal{"max_conns", "Too many connections; try again later"}
	refuseConnsPerIP    = &refusal{"max_conns_per_ip", "Too many connections from your address"}
	refuseUnauthConns   = &refusal{"max_unauth_conns", "Too many connections waiting to log in; try again later"}
	refuseUnauthConnsIP = &refusal{"max_unauth_conns_per_ip", "Too many connections waiting to log in from your address"}
	refuseConnsPerUser  = &refusal{"max_conns_per_user", "Too many connections for this user"}
)

// admit counts a new connection from the address key, not logged in, or
// returns the limit that refuses it.
func (s *Server) admit(key netip.Prefix) *refusal {
	s.mu.Lock()
	defer s.mu.Unlock()
	ipc := s.perIP[key]
	if ipc == nil {
		ipc = &ipConns{}
	}
	switch {
	case over(s.open, s.opts.MaxConns):
		return refuseConns
	case over(ipc.all, s.opts.MaxConnsPerIP):
		return refuseConnsPerIP
	case over(s.unauth, s.opts.MaxUnauthConns):
		return refuseUnauthConns
	case over(ipc.unauth, s.opts.MaxUnauthConnsPerIP):
		return refuseUnauthConnsIP
	}
	s.open++
	s.unauth++
	ipc.all++
	ipc.unauth++
	s.perIP[key] = ipc
	return nil
}

// authenticated moves a connection of key out of the not-logged-in counts.
func (s *Server) authenticated(key netip.Prefix) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.unauth--
	s.perIP[key].unauth--
}

// release uncounts a connection of key, not logged in if unauth.
func (s *Server) release(key netip.Prefix, unauth bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.open--
	ipc := s.perIP[key]
	ipc.all--
	if unauth {
		s.unauth--
		ipc.unauth--
	}
	if ipc.all <= 0 {
		delete(s.perIP, key)
	}
}

// admitUser counts a logged-in session of user; false when over the limit.
func (s *Server) admitUser(user string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.opts.MaxConnsPerUser > 0 && s.perUser[user] >= s.opts.MaxConnsPerUser {
		return false
	}
	s.perUser[user]++
	return true
}

func (s *Server) releaseUser(user string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.perUser[user]--; s.perUser[user] <= 0 {
		delete(s.perUser, user)
	}
}

// Shutdown stops accepting, tells every session BYE once its current
// command has finished, and waits for them until ctx is done; then it
// closes the remaining connections.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	for ln := range s.listeners {
		_ = ln.Close()
	}
	for c := range s.conns {
		c.shutdown()
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		for c := range s.conns {
			c.cancel() // a command waiting on the store gives up
			_ = c.nc.Close()
		}
		s.mu.Unlock()
		<-done
		return ctx.Err()
	}
}
