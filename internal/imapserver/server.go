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
	"time"
)

// Server is an IMAP server. Create it with New.
type Server struct {
	opts Options
	log  *slog.Logger

	mu        sync.Mutex
	listeners map[net.Listener]struct{} // guarded by mu
	conns     map[*conn]struct{}        // guarded by mu
	perIP     map[netip.Addr]int        // guarded by mu
	perUser   map[string]int            // guarded by mu
	closing   bool                      // guarded by mu
	wg        sync.WaitGroup

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
		perIP:     make(map[netip.Addr]int),
		perUser:   make(map[string]int),
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
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			return fmt.Errorf("imapserver: accept: %w", err)
		}
		delay = 0
		ip := remoteIP(nc.RemoteAddr())
		if !s.admitIP(ip) {
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				_ = nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
				_, _ = nc.Write([]byte("* BYE [UNAVAILABLE] Too many connections from your address\r\n"))
				_ = nc.Close()
			}()
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
			s.releaseIP(ip)
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
			s.releaseIP(ip)
		}()
	}
}

func remoteIP(a net.Addr) netip.Addr {
	if ta, ok := a.(*net.TCPAddr); ok {
		ip, _ := netip.AddrFromSlice(ta.IP)
		return ip.Unmap()
	}
	return netip.Addr{}
}

func (s *Server) admitIP(ip netip.Addr) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.opts.MaxConnsPerIP > 0 && s.perIP[ip] >= s.opts.MaxConnsPerIP {
		return false
	}
	s.perIP[ip]++
	return true
}

func (s *Server) releaseIP(ip netip.Addr) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.perIP[ip]--; s.perIP[ip] <= 0 {
		delete(s.perIP, ip)
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
