package tlsconf

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestSelfSignedGeneratesOnceAndReuses(t *testing.T) {
	dir := t.TempDir()
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))

	certFile, keyFile, err := SelfSigned(dir, logger)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "tls"); filepath.Dir(certFile) != want || filepath.Dir(keyFile) != want {
		t.Fatalf("files %s, %s not in %s", certFile, keyFile, want)
	}
	if !strings.Contains(logs.String(), "generated self-signed") {
		t.Fatalf("generation not logged: %s", logs.String())
	}
	if runtime.GOOS != "windows" {
		fi, err := os.Stat(keyFile)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Fatalf("key mode %v, want 0600", fi.Mode().Perm())
		}
	}
	first, _ := os.ReadFile(certFile)

	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	leaf := cert.Leaf
	for _, host := range []string{"localhost", "127.0.0.1", "::1"} {
		if err := leaf.VerifyHostname(host); err != nil {
			t.Errorf("certificate not valid for %s: %v", host, err)
		}
	}
	if life := leaf.NotAfter.Sub(leaf.NotBefore); life < 364*24*time.Hour || life > 367*24*time.Hour {
		t.Errorf("lifetime %v, want about a year", life)
	}

	logs.Reset()
	c2, k2, err := SelfSigned(dir, logger)
	if err != nil {
		t.Fatal(err)
	}
	second, _ := os.ReadFile(c2)
	if c2 != certFile || k2 != keyFile || !bytes.Equal(first, second) {
		t.Fatal("second call did not reuse the certificate")
	}
	if !strings.Contains(logs.String(), "using self-signed") {
		t.Fatalf("reuse not logged: %s", logs.String())
	}
}

func TestSelfSignedReplacesExpired(t *testing.T) {
	dir := t.TempDir()
	certPEM, keyPEM, err := generate(time.Now().Add(-2 * selfSignedLife))
	if err != nil {
		t.Fatal(err)
	}
	tlsDir := filepath.Join(dir, "tls")
	if err := os.MkdirAll(tlsDir, 0o700); err != nil {
		t.Fatal(err)
	}
	certFile := filepath.Join(tlsDir, selfSignedCert)
	if err := os.WriteFile(certFile, certPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tlsDir, selfSignedKey), keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := SelfSigned(dir, nil); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(certFile)
	if bytes.Equal(got, certPEM) {
		t.Fatal("expired certificate kept")
	}
}

// handshake connects a client trusting roots to a server using cfg and
// returns the certificate the server presented.
func handshake(t *testing.T, cfg *tls.Config, roots *x509.CertPool) (*x509.Certificate, error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		s, err := ln.Accept()
		if err != nil {
			return
		}
		srv := tls.Server(s, cfg)
		_ = srv.SetDeadline(time.Now().Add(10 * time.Second))
		_ = srv.Handshake()
		srv.Close()
	}()
	c, err := net.DialTimeout("tcp", ln.Addr().String(), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	cl := tls.Client(c, &tls.Config{RootCAs: roots, ServerName: "localhost", MinVersion: tls.VersionTLS12})
	if err := cl.Handshake(); err != nil {
		return nil, err
	}
	return cl.ConnectionState().PeerCertificates[0], nil
}

func poolOf(t *testing.T, certFile string) *x509.CertPool {
	t.Helper()
	pemBytes, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(pemBytes) {
		t.Fatal("bad PEM")
	}
	return p
}

func TestReloader(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, err := SelfSigned(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Load(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	cfg := r.Config()
	if cfg.MinVersion != tls.VersionTLS12 {
		t.Fatalf("MinVersion = %x", cfg.MinVersion)
	}
	firstPool := poolOf(t, certFile)
	got1, err := handshake(t, cfg, firstPool)
	if err != nil {
		t.Fatal(err)
	}

	// Replace the files and reload: the same Config now serves the new one.
	certPEM, keyPEM, err := generate(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, certPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := r.Reload(); err != nil {
		t.Fatal(err)
	}
	got2, err := handshake(t, cfg, poolOf(t, certFile))
	if err != nil {
		t.Fatal(err)
	}
	if got1.SerialNumber.Cmp(got2.SerialNumber) == 0 {
		t.Fatal("reload did not change the served certificate")
	}
	if _, err := handshake(t, cfg, firstPool); err == nil {
		t.Fatal("old root still verifies the new certificate")
	}

	// A failed reload keeps the current certificate.
	if err := os.WriteFile(keyFile, []byte("junk"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := r.Reload(); err == nil {
		t.Fatal("reload of a broken key succeeded")
	}
	got3, err := handshake(t, cfg, poolOf(t, certFile))
	if err != nil {
		t.Fatal(err)
	}
	if got3.SerialNumber.Cmp(got2.SerialNumber) != 0 {
		t.Fatal("failed reload changed the certificate")
	}
}

func TestLoadMissing(t *testing.T) {
	if _, err := Load(filepath.Join(t.TempDir(), "nope.pem"), "nope.key"); err == nil {
		t.Fatal("Load of missing files succeeded")
	}
}
