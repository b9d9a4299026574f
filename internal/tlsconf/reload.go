package tlsconf

import (
	"crypto/tls"
	"fmt"
	"sync"
)

// Reloader holds a certificate loaded from a pair of PEM files and can load
// it again. It is safe for concurrent use.
type Reloader struct {
	certFile, keyFile string

	mu   sync.RWMutex
	cert *tls.Certificate // guarded by mu
}

// Load reads a PEM certificate chain and key and returns a Reloader serving
// them.
func Load(certFile, keyFile string) (*Reloader, error) {
	r := &Reloader{certFile: certFile, keyFile: keyFile}
	if err := r.Reload(); err != nil {
		return nil, err
	}
	return r, nil
}

// Reload reads the certificate files again. On error the certificate in use
// is kept.
func (r *Reloader) Reload() error {
	cert, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		return fmt.Errorf("load TLS certificate %s / key %s: %w", r.certFile, r.keyFile, err)
	}
	r.mu.Lock()
	r.cert = &cert
	r.mu.Unlock()
	return nil
}

// Certificate returns the certificate in use.
func (r *Reloader) Certificate() *tls.Certificate {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.cert
}

// Config returns a new server configuration (TLS 1.2 minimum) whose
// GetCertificate returns the current certificate at each handshake.
func (r *Reloader) Config() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return r.Certificate(), nil
		},
	}
}
