package auth

import (
	"context"
	"testing"

	"rookery/internal/store"
)

// FuzzSASL feeds two client responses to each SASL server (PLAIN, LOGIN,
// SCRAM-SHA-256, SCRAM-SHA-256-PLUS). A server must never panic, never
// report success for made-up credentials, and keep its challenges small.
// The servers run under a cancelled context, so that they stop at the
// throttle instead of computing a password hash per input or waiting out
// the delays that the earlier inputs' failures earned.
func FuzzSASL(f *testing.F) {
	secret, err := NewSCRAMSecret("pencil")
	if err != nil {
		f.Fatal(err)
	}
	fs := &fakeStore{accounts: map[string]store.Account{"user": {ID: 1, Name: "user", SCRAMSecret: secret}}}
	a := New(fs, nil)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, s := range [][3]string{
		{"\x00", "\x00user\x00pencil", ""},
		{"\x00", "admin\x00user\x00pencil\x00extra", ""},
		{"\x01", "user", "pencil"},
		{"\x02", "n,,n=user,r=rOprNGfwEbeRWgbNEkqO", "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="},
		{"\x02", "y,a=x,n=us=2Cer,r=abc", "c=eSxhPXgs,r=abc"},
		{"\x03", "p=tls-exporter,,n=user,r=x", "c=cD10bHMtZXhwb3J0ZXIsLA==,r=x,p=AAAA"},
		{"\x02", "n,,n=user,m=ext,r=x", ""},
	} {
		f.Add([]byte(s[0]), []byte(s[1]), []byte(s[2]))
	}
	remote := remote
	f.Fuzz(func(t *testing.T, mech, r1, r2 []byte) {
		var srv interface {
			Next([]byte) ([]byte, bool, error)
		}
		succeeded := false
		done := func(store.Account) { succeeded = true }
		m := byte(0)
		if len(mech) > 0 {
			m = mech[0] % 4
		}
		switch m {
		case 0:
			srv = a.PlainServer(cancelled, remote, done)
		case 1:
			srv = a.LoginServer(cancelled, remote, done)
		case 2:
			srv = a.SCRAMServer(cancelled, remote, nil, done)
		default:
			srv = a.SCRAMPlusServer(cancelled, remote, ChannelBinding{Type: "tls-exporter", Data: []byte("0123456789abcdef0123456789abcdef")}, done)
		}
		for _, r := range [][]byte{nil, r1, r2} {
			chal, fin, err := srv.Next(r)
			if len(chal) > 4096 {
				t.Fatalf("challenge of %d bytes", len(chal))
			}
			if err != nil || fin {
				break
			}
		}
		if succeeded {
			t.Fatalf("mechanism %d accepted %q, %q", m, r1, r2)
		}
	})
}
