package migrate

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
)

// Security is how a connection to the source is protected.
type Security int

// Securities of a Source.
const (
	// TLS is implicit TLS from the first byte (imaps://).
	TLS Security = iota
	// StartTLS is a plaintext connection upgraded with STARTTLS before
	// logging in (imap://); a server without STARTTLS is refused.
	StartTLS
	// Plaintext sends everything, the password included, in clear
	// (imap:// with Source.AllowPlaintext): for a test server or a
	// trusted network only.
	Plaintext
)

// Source is the IMAP server and account a migration copies from.
type Source struct {
	// Addr is host:port.
	Addr     string
	Security Security
	// Login and Password authenticate to the server (LOGIN).
	Login, Password string
	// CAFile is a PEM file of certificates to trust instead of the
	// system's (a private CA or a self-signed test server).
	CAFile string
	// InsecureSkipVerify accepts any certificate: for a self-signed
	// test server when no CA file is at hand.
	InsecureSkipVerify bool
	// DialTimeout bounds connecting and logging in; IdleTimeout bounds
	// the wait for any byte from the server once connected (a silent
	// server is a dropped connection).
	DialTimeout, IdleTimeout time.Duration
}

// ParseURL parses a source URL: imaps://HOST[:PORT] (port 993 by
// default) or imap://HOST[:PORT] (143). imap:// is upgraded with
// STARTTLS unless allowPlaintext, which leaves it in clear. A URL may
// carry nothing else (no user, path or query: the login and password
// are given apart, the password never on a command line).
func ParseURL(raw string, allowPlaintext bool) (Source, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Source{}, fmt.Errorf("source URL: %w", err)
	}
	var s Source
	port := ""
	switch strings.ToLower(u.Scheme) {
	case "imaps":
		s.Security, port = TLS, "993"
	case "imap":
		s.Security, port = StartTLS, "143"
		if allowPlaintext {
			s.Security = Plaintext
		}
	default:
		return Source{}, fmt.Errorf("source URL %q: want imaps://HOST:PORT or imap://HOST:PORT", raw)
	}
	if u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return Source{}, fmt.Errorf("source URL %q: only a scheme, host and port are allowed (give the login with --login and the password in a file)", u.Redacted())
	}
	host := u.Hostname()
	if host == "" {
		return Source{}, fmt.Errorf("source URL %q: no host", raw)
	}
	if p := u.Port(); p != "" {
		port = p
	}
	s.Addr = net.JoinHostPort(host, port)
	return s, nil
}

// ReadPasswordFile reads a password from the first line of a file,
// without its line ending.
func ReadPasswordFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("password file: %w", err)
	}
	pw, _, _ := strings.Cut(string(b), "\n")
	pw = strings.TrimSuffix(pw, "\r")
	if pw == "" {
		return "", fmt.Errorf("password file %s: empty first line", path)
	}
	return pw, nil
}

// String names the source for messages (no password).
func (s Source) String() string {
	switch s.Security {
	case TLS:
		return "imaps://" + s.Addr
	case Plaintext:
		return "imap://" + s.Addr + " (plaintext)"
	}
	return "imap://" + s.Addr
}

// tlsConfig is the client configuration for the source's certificate.
func (s Source) tlsConfig() (*tls.Config, error) {
	host, _, err := net.SplitHostPort(s.Addr)
	if err != nil {
		return nil, err
	}
	cfg := &tls.Config{ServerName: host, InsecureSkipVerify: s.InsecureSkipVerify, MinVersion: tls.VersionTLS12}
	if s.CAFile != "" {
		pem, err := os.ReadFile(s.CAFile)
		if err != nil {
			return nil, fmt.Errorf("CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA file %s: no PEM certificate in it", s.CAFile)
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

// errAuth marks a login the server refused: trying again does not help.
var errAuth = errors.New("login refused")

// dial connects to the source and logs in. The connection is closed
// when ctx ends (which ends every command in progress).
func (s Source) dial(ctx context.Context) (*imapclient.Client, error) {
	tcfg, err := s.tlsConfig()
	if err != nil {
		return nil, err
	}
	dialTimeout, idle := s.DialTimeout, s.IdleTimeout
	if dialTimeout <= 0 {
		dialTimeout = 30 * time.Second
	}
	if idle <= 0 {
		idle = 5 * time.Minute
	}
	d := net.Dialer{Timeout: dialTimeout}
	raw, err := d.DialContext(ctx, "tcp", s.Addr)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", s.Addr, err)
	}
	conn := net.Conn(&idleConn{Conn: raw, idle: idle})
	opts := &imapclient.Options{TLSConfig: tcfg}
	var c *imapclient.Client
	switch s.Security {
	case TLS:
		tc := tls.Client(conn, tcfg)
		hctx, cancel := context.WithTimeout(ctx, dialTimeout)
		err = tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			raw.Close()
			return nil, fmt.Errorf("TLS with %s: %w", s.Addr, err)
		}
		c = imapclient.New(tc, opts)
	case StartTLS:
		if c, err = imapclient.NewStartTLS(conn, opts); err != nil {
			raw.Close()
			return nil, fmt.Errorf("STARTTLS with %s: %w", s.Addr, err)
		}
	default:
		c = imapclient.New(conn, opts)
	}
	stop := context.AfterFunc(ctx, func() { c.Close() })
	go func() {
		<-c.Closed()
		stop()
	}()
	if err := c.WaitGreeting(); err != nil {
		c.Close()
		return nil, fmt.Errorf("greeting of %s: %w", s.Addr, err)
	}
	if err := c.Login(s.Login, s.Password).Wait(); err != nil {
		c.Close()
		if isIMAPError(err) {
			return nil, fmt.Errorf("log in to %s as %s: %w: %v", s.Addr, s.Login, errAuth, err)
		}
		return nil, fmt.Errorf("log in to %s as %s: %w", s.Addr, s.Login, err)
	}
	return c, nil
}

// idleConn fails a read that waits longer than idle for a byte, so that
// a server gone silent counts as a dropped connection.
type idleConn struct {
	net.Conn
	idle time.Duration
}

func (c *idleConn) Read(p []byte) (int, error) {
	if err := c.Conn.SetReadDeadline(time.Now().Add(c.idle)); err != nil {
		return 0, err
	}
	return c.Conn.Read(p)
}
