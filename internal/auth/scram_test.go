package auth

import (
	"context"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"rookery/internal/store"
)

// scramClient is a SCRAM-SHA-256 client written from RFC 5802 §3 and
// RFC 7677, independent of the server code (its own PBKDF2/HMAC use and
// message building), to test the server against.
type scramClient struct {
	user, pw, cnonce string
	clientFirstBare  string
	serverSig        []byte
}

func (c *scramClient) first() string {
	c.clientFirstBare = "n=" + strings.NewReplacer("=", "=3D", ",", "=2C").Replace(c.user) + ",r=" + c.cnonce
	return "n,," + c.clientFirstBare
}

func (c *scramClient) final(t *testing.T, serverFirst string) string {
	t.Helper()
	var nonce, salt string
	var iter int
	for _, kv := range strings.Split(serverFirst, ",") {
		switch kv[:2] {
		case "r=":
			nonce = kv[2:]
		case "s=":
			salt = kv[2:]
		case "i=":
			for _, d := range kv[2:] {
				iter = iter*10 + int(d-'0')
			}
		}
	}
	if !strings.HasPrefix(nonce, c.cnonce) {
		t.Fatalf("server nonce %q does not extend %q", nonce, c.cnonce)
	}
	rawSalt, err := base64.StdEncoding.DecodeString(salt)
	if err != nil {
		t.Fatal(err)
	}
	salted, err := pbkdf2.Key(sha256.New, c.pw, rawSalt, iter, 32)
	if err != nil {
		t.Fatal(err)
	}
	mac := func(k []byte, s string) []byte { h := hmac.New(sha256.New, k); h.Write([]byte(s)); return h.Sum(nil) }
	clientKey := mac(salted, "Client Key")
	storedKey := sha256.Sum256(clientKey)
	withoutProof := "c=biws,r=" + nonce
	authMsg := c.clientFirstBare + "," + serverFirst + "," + withoutProof
	sig := mac(storedKey[:], authMsg)
	proof := make([]byte, len(clientKey))
	for i := range proof {
		proof[i] = clientKey[i] ^ sig[i]
	}
	c.serverSig = mac(mac(salted, "Server Key"), authMsg)
	return withoutProof + ",p=" + base64.StdEncoding.EncodeToString(proof)
}

func scramAuth(t *testing.T, secret string) (*Authenticator, *fakeStore) {
	t.Helper()
	fs := &fakeStore{accounts: map[string]store.Account{
		"user":   {ID: 1, Name: "user", SCRAMSecret: secret},
		"legacy": {ID: 2, Name: "legacy", PasswordHash: "x"},
	}}
	return New(fs, nil), fs
}

// TestSCRAMRFC7677 replays the exchange of RFC 7677 §3.
func TestSCRAMRFC7677(t *testing.T) {
	salt, _ := base64.StdEncoding.DecodeString("W22ZaJ0SNY7soEsUEjb6gQ==")
	sec, err := deriveSCRAM("pencil", salt, 4096)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := scramAuth(t, sec.encode())
	a.scramNonce = func() string { return "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0" }
	var got *store.Account
	s := a.SCRAMServer(context.Background(), remote, nil, func(acct store.Account) { got = &acct })
	ch, done, err := s.Next([]byte("n,,n=user,r=rOprNGfwEbeRWgbNEkqO"))
	if err != nil || done {
		t.Fatal(err, done)
	}
	if want := "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"; string(ch) != want {
		t.Fatalf("server-first = %q, want %q", ch, want)
	}
	ch, done, err = s.Next([]byte("c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="))
	if err != nil || done {
		t.Fatal(err, done)
	}
	if want := "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="; string(ch) != want {
		t.Fatalf("server-final = %q, want %q", ch, want)
	}
	if _, done, err = s.Next(nil); err != nil || !done || got == nil || got.Name != "user" {
		t.Fatalf("end: done=%v err=%v acct=%v", done, err, got)
	}
}

func TestSCRAMClient(t *testing.T) {
	secret, err := NewSCRAMSecret("s3cret, with = signs")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, user, pw string
		wantErr        error
	}{
		{"ok", "user", "s3cret, with = signs", nil},
		{"wrong password", "user", "nope", ErrInvalidCredentials},
		{"unknown user", "nobody", "x", ErrInvalidCredentials},
		{"no SCRAM secret", "legacy", "x", ErrInvalidCredentials},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, _ := scramAuth(t, secret)
			var got *store.Account
			s := a.SCRAMServer(context.Background(), remote, nil, func(acct store.Account) { got = &acct })
			c := &scramClient{user: tc.user, pw: tc.pw, cnonce: "fyko+d2lbbFgONRv9qkxdawL"}
			// No initial response: the server asks with an empty challenge.
			if ch, _, err := s.Next(nil); err != nil || len(ch) != 0 {
				t.Fatalf("start: %q %v", ch, err)
			}
			sf, _, err := s.Next([]byte(c.first()))
			if err != nil {
				t.Fatal(err)
			}
			fin, _, err := s.Next([]byte(c.final(t, string(sf))))
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(fin) != "v="+base64.StdEncoding.EncodeToString(c.serverSig) {
				t.Fatalf("server signature %q does not verify", fin)
			}
			if _, done, err := s.Next([]byte{}); err != nil || !done || got == nil {
				t.Fatalf("end: %v %v %v", done, err, got)
			}
		})
	}
}

func TestSCRAMProtocolErrors(t *testing.T) {
	secret, _ := NewSCRAMSecret("pw")
	for _, tc := range []struct{ first, final string }{
		{"p=tls-unique,,n=user,r=abc", ""},
		{"x,,n=user,r=abc", ""},
		{"n,,r=abc", ""},
		{"n,,n=us=er,r=abc", ""},
		{"n,a=other,n=user,r=abc", ""},
		{"n,,n=user,r=abc", "c=biws,r=WRONG,p=" + base64.StdEncoding.EncodeToString(make([]byte, 32))},
		{"n,,n=user,r=abc", "c=eSws,r=abc%s,p=" + base64.StdEncoding.EncodeToString(make([]byte, 32))},
		{"n,,n=user,r=abc", "c=biws,r=abc%s"},
	} {
		a, _ := scramAuth(t, secret)
		a.scramNonce = func() string { return "SRV" }
		s := a.SCRAMServer(context.Background(), remote, nil, func(store.Account) { t.Fatal("logged in") })
		_, _, err := s.Next([]byte(tc.first))
		if tc.final == "" {
			if err == nil {
				t.Errorf("first %q: no error", tc.first)
			}
			continue
		}
		if err != nil {
			t.Fatalf("first %q: %v", tc.first, err)
		}
		if _, _, err := s.Next([]byte(strings.ReplaceAll(tc.final, "%s", "SRV"))); err == nil {
			t.Errorf("final %q: no error", tc.final)
		}
	}
}

func TestSCRAMSecretEncoding(t *testing.T) {
	enc, err := NewSCRAMSecret("pw")
	if err != nil {
		t.Fatal(err)
	}
	s, err := parseSCRAMSecret(enc)
	if err != nil || s.iter != scramIterations || s.encode() != enc {
		t.Fatalf("round trip %q: %+v %v", enc, s, err)
	}
	for _, bad := range []string{"", "SCRAM-SHA-256$x:AA==$AA==:AA==", "SCRAM-SHA-1$4096:AA==$AA==:AA==", "SCRAM-SHA-256$4096:AA==$AA==:AA=="} {
		if _, err := parseSCRAMSecret(bad); !errors.Is(err, ErrMalformedHash) {
			t.Errorf("parse %q: %v", bad, err)
		}
	}
}
