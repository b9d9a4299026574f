package tlsconf

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// Self-signed certificate file names inside <dataDir>/tls.
const (
	selfSignedDir  = "tls"
	selfSignedCert = "selfsigned-cert.pem"
	selfSignedKey  = "selfsigned-key.pem"
	selfSignedLife = 365 * 24 * time.Hour
)

// SelfSigned returns the paths of a self-signed certificate and key in
// dataDir/tls, generating them (ECDSA P-256, valid one year for localhost,
// 127.0.0.1 and ::1) if they do not exist or no longer load or have
// expired. The key file is created with mode 0600. A nil logger discards logs.
func SelfSigned(dataDir string, logger *slog.Logger) (certFile, keyFile string, err error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	dir := filepath.Join(dataDir, selfSignedDir)
	certFile = filepath.Join(dir, selfSignedCert)
	keyFile = filepath.Join(dir, selfSignedKey)

	switch cert, err := tls.LoadX509KeyPair(certFile, keyFile); {
	case err == nil && time.Now().Before(cert.Leaf.NotAfter):
		logger.Info("using self-signed TLS certificate", "cert", certFile, "expires", cert.Leaf.NotAfter)
		return certFile, keyFile, nil
	case err == nil:
		logger.Warn("self-signed TLS certificate expired; generating a new one", "cert", certFile)
	case !errors.Is(err, fs.ErrNotExist):
		logger.Warn("self-signed TLS certificate unusable; generating a new one", "cert", certFile, "err", err)
	}

	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", "", fmt.Errorf("self-signed certificate: %w", err)
	}
	certPEM, keyPEM, err := generate(time.Now())
	if err != nil {
		return "", "", fmt.Errorf("self-signed certificate: %w", err)
	}
	// Key first: a certificate file without its key is never left behind.
	if err := writeFileAtomic(keyFile, keyPEM, 0o600); err != nil {
		return "", "", fmt.Errorf("self-signed certificate: %w", err)
	}
	if err := writeFileAtomic(certFile, certPEM, 0o644); err != nil {
		return "", "", fmt.Errorf("self-signed certificate: %w", err)
	}
	logger.Info("generated self-signed TLS certificate; clients will not trust it, configure [tls] cert_file and key_file for production",
		"cert", certFile, "key", keyFile)
	return certFile, keyFile, nil
}

// generate returns PEM-encoded certificate and PKCS#8 key.
func generate(now time.Time) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, nil, fmt.Errorf("generate serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{Organization: []string{"Rookery self-signed"}, CommonName: "localhost"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(selfSignedLife),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("create certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("marshal key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), nil
}

// writeFileAtomic writes data to a temporary file with mode perm, syncs it
// and renames it over name.
func writeFileAtomic(name string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(name), ".tmp-"+filepath.Base(name)+"-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after a successful rename
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", name, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := os.Rename(tmp, name); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}
