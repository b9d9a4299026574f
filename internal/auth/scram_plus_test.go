package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"math/big"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"rookery/internal/store"
)

// cbClient is a SCRAM-SHA-256(-PLUS) client written from RFC 5802 §7 for
// these tests: gs2 is its GS2 header ("n,,", "y,,", "p=tls-exporter,,"),
// cbData the channel binding data it appends in c= (nil for none).
type cbClient struct {
	user, pw string
	gs2      string
	cbData   []byte
	bare     string
	serverV  string // expected server-final-message
}

func (c *cbClient) first() string {
	c.bare = "n=" + c.user + ",r=cnonce-0123456789"
	return c.gs2 + c.bare
}

func (c *cbClient) final(t *testing.T, serverFirst string) string {
	t.Helper()
	attrs := map[string]string{}
	for kv := range strings.SplitSeq(serverFirst, ",") {
		attrs[kv[:1]] = kv[2:]
	}
	salt, err := base64.StdEncoding.DecodeString(attrs["s"])
	if err != nil {
		t.Fatal(err)
	}
	iter, err := strconv.Atoi(attrs["i"])
	if err != nil {
		t.Fatal(err)
	}
	salted, err := pbkdf2.Key(sha256.New, c.pw, salt, iter, sha256.Size)
	if err != nil {
		t.Fatal(err)
	}
	mac := func(k []byte, s string) []byte { h := hmac.New(sha256.New, k); h.Write([]byte(s)); return h.Sum(nil) }
	ck := mac(salted, "Client Key")
	sk := sha256.Sum256(ck)
	cbind := append([]byte(c.gs2), c.cbData...)
	noProof := "c=" + base64.StdEncoding.EncodeToString(cbind) + ",r=" + attrs["r"]
	am := c.bare + "," + serverFirst + "," + noProof
	sig := mac(sk[:], am)
	for i := range ck {
		ck[i] ^= sig[i]
	}
	c.serverV = "v=" + base64.StdEncoding.EncodeToString(mac(mac(salted, "Server Key"), am))
	return noProof + ",p=" + base64.StdEncoding.EncodeToString(ck)
}

// TestSCRAMChannelBinding runs the channel binding rules of RFC 5802 §6
// for both mechanisms: failures carry the RFC's server-error value, wrap
// ErrInvalidCredentials and go through the failure hook like a wrong
// password.
func TestSCRAMChannelBinding(t *testing.T) {
	secret, err := NewSCRAMSecret("pencil")
	if err != nil {
		t.Fatal(err)
	}
	binding := ChannelBinding{Type: TLSExporter, Data: []byte("0123456789abcdef0123456789abcdef")}
	other := []byte("fedcba9876543210fedcba9876543210")
	for _, tc := range []struct {
		name       string
		plus       bool
		offered    bool   // the connection offers -PLUS (binding known)
		gs2        string // client's GS2 header
		cbData     []byte // what the client binds to
		wantE      string // server-error value; "" for success
		failsFirst bool   // refused at the client-first-message
	}{
		{name: "PLUS good binding", plus: true, offered: true, gs2: "p=tls-exporter,,", cbData: binding.Data},
		{name: "PLUS with authzid", plus: true, offered: true, gs2: "p=tls-exporter,a=user,", cbData: binding.Data},
		{name: "PLUS wrong binding", plus: true, offered: true, gs2: "p=tls-exporter,,", cbData: other, wantE: "channel-bindings-dont-match"},
		{name: "PLUS binding data missing", plus: true, offered: true, gs2: "p=tls-exporter,,", wantE: "channel-bindings-dont-match"},
		{name: "PLUS wrong cb type", plus: true, offered: true, gs2: "p=tls-unique,,", cbData: binding.Data, wantE: "unsupported-channel-binding-type", failsFirst: true},
		{name: "PLUS without p flag", plus: true, offered: true, gs2: "n,,", wantE: "other-error", failsFirst: true},
		{name: "PLUS with y flag", plus: true, offered: true, gs2: "y,,", wantE: "other-error", failsFirst: true},
		{name: "y flag downgrade", offered: true, gs2: "y,,", wantE: "server-does-support-channel-binding", failsFirst: true},
		{name: "y flag, PLUS not offered", gs2: "y,,"},
		{name: "n flag, PLUS offered", offered: true, gs2: "n,,"},
		{name: "p flag with non-PLUS", offered: true, gs2: "p=tls-exporter,,", cbData: binding.Data, wantE: "other-error", failsFirst: true},
		{name: "p flag with non-PLUS, not offered", gs2: "p=tls-exporter,,", cbData: binding.Data, wantE: "other-error", failsFirst: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var failures []string
			a := New(&fakeStore{accounts: map[string]store.Account{"user": {ID: 1, Name: "user", SCRAMSecret: secret}}}, nil,
				WithFailureHook(func(m string) { failures = append(failures, m) }))
			var got *store.Account
			done := func(acct store.Account) { got = &acct }
			var s interface {
				Next([]byte) ([]byte, bool, error)
			}
			mech := SCRAMSHA256
			switch {
			case tc.plus:
				s, mech = a.SCRAMPlusServer(context.Background(), remote, binding, done), SCRAMSHA256Plus
			case tc.offered:
				s = a.SCRAMServer(context.Background(), remote, &binding, done)
			default:
				s = a.SCRAMServer(context.Background(), remote, nil, done)
			}
			c := &cbClient{user: "user", pw: "pencil", gs2: tc.gs2, cbData: tc.cbData}
			checkErr := func(err error) {
				t.Helper()
				var se *SCRAMError
				if !errors.As(err, &se) || se.Value != tc.wantE || !errors.Is(err, ErrInvalidCredentials) {
					t.Fatalf("err = %v, want SCRAMError e=%s", err, tc.wantE)
				}
				if len(failures) != 1 || failures[0] != mech {
					t.Fatalf("failure hook calls = %v, want [%s]", failures, mech)
				}
				if got != nil {
					t.Fatal("logged in")
				}
			}
			sf, _, err := s.Next([]byte(c.first()))
			if tc.failsFirst {
				checkErr(err)
				return
			}
			if err != nil {
				t.Fatalf("client-first: %v", err)
			}
			fin, _, err := s.Next([]byte(c.final(t, string(sf))))
			if tc.wantE != "" {
				checkErr(err)
				return
			}
			if err != nil {
				t.Fatalf("client-final: %v", err)
			}
			if string(fin) != c.serverV {
				t.Fatalf("server-final %q, want %q", fin, c.serverV)
			}
			if _, ok, err := s.Next([]byte{}); err != nil || !ok || got == nil || got.Name != "user" {
				t.Fatalf("end: ok=%v err=%v acct=%v", ok, err, got)
			}
			if len(failures) != 0 {
				t.Fatalf("failure hook called: %v", failures)
			}
		})
	}
}

// TestSCRAMGS2Mismatch: c= must repeat the GS2 header the client sent, also
// without channel binding ("y,," sent in c= after "n,," in the first
// message is a tampered header).
func TestSCRAMGS2Mismatch(t *testing.T) {
	secret, _ := NewSCRAMSecret("pencil")
	a, _ := scramAuth(t, secret)
	s := a.SCRAMServer(context.Background(), remote, nil, func(store.Account) { t.Fatal("logged in") })
	c := &cbClient{user: "user", pw: "pencil", gs2: "n,,"}
	sf, _, err := s.Next([]byte(c.first()))
	if err != nil {
		t.Fatal(err)
	}
	c.gs2 = "y,,"
	_, _, err = s.Next([]byte(c.final(t, string(sf))))
	var se *SCRAMError
	if !errors.As(err, &se) || se.Value != "channel-bindings-dont-match" {
		t.Fatalf("err = %v", err)
	}
}

// TestTLSExporterBinding derives the binding on both ends of real TLS 1.3
// and TLS 1.2 connections (Go negotiates the extended master secret): the
// two ends agree, two connections differ, and there is none before the
// handshake.
func TestTLSExporterBinding(t *testing.T) {
	cert := selfSignedCert(t)
	for _, v := range []uint16{tls.VersionTLS13, tls.VersionTLS12} {
		t.Run(tls.VersionName(v), func(t *testing.T) {
			var first []byte
			for range 2 {
				sc, cc := handshake(t, cert, v)
				scb, ok1 := TLSExporterBinding(sc.ConnectionState())
				ccb, ok2 := TLSExporterBinding(cc.ConnectionState())
				if !ok1 || !ok2 || scb.Type != TLSExporter || len(scb.Data) != 32 || string(scb.Data) != string(ccb.Data) {
					t.Fatalf("server %v %x, client %v %x", ok1, scb.Data, ok2, ccb.Data)
				}
				if first != nil && string(first) == string(scb.Data) {
					t.Fatal("two connections share a binding")
				}
				first = scb.Data
			}
		})
	}
	if _, ok := TLSExporterBinding(tls.ConnectionState{}); ok {
		t.Fatal("binding before the handshake")
	}
}

func handshake(t *testing.T, cert tls.Certificate, version uint16) (server, client *tls.Conn) {
	t.Helper()
	a, b := net.Pipe()
	t.Cleanup(func() { _ = a.Close(); _ = b.Close() })
	server = tls.Server(a, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: version, MaxVersion: version})
	client = tls.Client(b, &tls.Config{InsecureSkipVerify: true, MinVersion: version, MaxVersion: version}) //nolint:gosec // test
	errc := make(chan error, 1)
	go func() { errc <- server.Handshake() }()
	if err := client.Handshake(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	return server, client
}

func selfSignedCert(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		DNSNames:     []string{"localhost"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}
