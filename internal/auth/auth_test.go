package auth

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"testing"

	"rookery/internal/store"
)

// fakeStore implements only Account; any other method panics (nil embedded
// interface), which a test would notice.
type fakeStore struct {
	store.Store
	accounts map[string]store.Account
	err      error
}

func (f *fakeStore) Account(_ context.Context, name string) (store.Account, error) {
	if f.err != nil {
		return store.Account{}, f.err
	}
	a, ok := f.accounts[name]
	if !ok {
		return store.Account{}, store.ErrNoSuchAccount
	}
	return a, nil
}

func newTestAuth(t *testing.T) (*Authenticator, *bytes.Buffer, *fakeStore) {
	t.Helper()
	h, err := HashPassword("s3cret")
	if err != nil {
		t.Fatal(err)
	}
	fs := &fakeStore{accounts: map[string]store.Account{
		"alice":   {ID: 1, Name: "alice", PasswordHash: h},
		"corrupt": {ID: 2, Name: "corrupt", PasswordHash: "garbage"},
	}}
	var logs bytes.Buffer
	return New(fs, slog.New(slog.NewTextHandler(&logs, nil))), &logs, fs
}

var remote = &net.TCPAddr{IP: net.IPv4(192, 0, 2, 7), Port: 4242}

func TestLogin(t *testing.T) {
	a, logs, _ := newTestAuth(t)
	tests := []struct {
		name, user, pw string
		wantErr        error
		wantID         store.AccountID
		wantLog        string
	}{
		{"ok", "alice", "s3cret", nil, 1, ""},
		{"wrong password", "alice", "S3cret", ErrInvalidCredentials, 0, "wrong password"},
		{"unknown user", "bob", "s3cret", ErrInvalidCredentials, 0, "unknown user"},
		{"empty user", "", "", ErrInvalidCredentials, 0, "unknown user"},
		{"corrupt hash", "corrupt", "x", ErrInvalidCredentials, 0, "unusable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs.Reset()
			acct, err := a.Login(context.Background(), tt.user, tt.pw, remote)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if acct.ID != tt.wantID {
				t.Fatalf("account ID = %d, want %d", acct.ID, tt.wantID)
			}
			if tt.wantLog != "" {
				if !strings.Contains(logs.String(), tt.wantLog) || !strings.Contains(logs.String(), "192.0.2.7:4242") {
					t.Fatalf("log %q lacks %q or the remote address", logs.String(), tt.wantLog)
				}
			} else if logs.Len() != 0 {
				t.Fatalf("unexpected log: %s", logs.String())
			}
		})
	}
}

// TestLoginLogClipped: a client's user name and authorization identity
// reach the log clipped (a 60 KB user name once made a 60 KB log line).
func TestLoginLogClipped(t *testing.T) {
	a, logs, _ := newTestAuth(t)
	long := strings.Repeat("u", 60<<10)
	if _, err := a.Login(context.Background(), long, "pw", remote); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatal(err)
	}
	s := a.PlainServer(context.Background(), remote, func(store.Account) {})
	if _, _, err := s.Next([]byte(long + "\x00alice\x00pw")); !errors.Is(err, ErrAuthorizationFailed) {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		if len(line) > 1024 {
			t.Errorf("log line of %d bytes: %.200s...", len(line), line)
		}
	}
	if n := strings.Count(logs.String(), "\n"); n != 2 {
		t.Fatalf("%d log lines, want 2:\n%s", n, logs.String())
	}
}

func TestLoginStoreError(t *testing.T) {
	a, _, fs := newTestAuth(t)
	boom := errors.New("disk on fire")
	fs.err = boom
	_, err := a.Login(context.Background(), "alice", "s3cret", nil)
	if !errors.Is(err, boom) || errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("err = %v, want wrapped store error", err)
	}
}

func TestPlainServer(t *testing.T) {
	a, _, _ := newTestAuth(t)
	tests := []struct {
		name     string
		response []byte
		wantErr  error // nil: success; errAny: some error
		wantDone bool
	}{
		{"ok", []byte("\x00alice\x00s3cret"), nil, true},
		{"authzid equal", []byte("alice\x00alice\x00s3cret"), nil, true},
		{"authzid other", []byte("bob\x00alice\x00s3cret"), ErrAuthorizationFailed, false},
		{"wrong password", []byte("\x00alice\x00nope"), ErrInvalidCredentials, false},
		{"unknown", []byte("\x00bob\x00s3cret"), ErrInvalidCredentials, false},
		{"malformed", []byte("alice\x00s3cret"), errAny, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got store.Account
			called := false
			s := a.PlainServer(context.Background(), remote, func(acct store.Account) {
				called = true
				got = acct
			})
			// Without an initial response the server sends an empty challenge.
			ch, done, err := s.Next(nil)
			if err != nil || done || len(ch) != 0 {
				t.Fatalf("first Next = %q, %v, %v", ch, done, err)
			}
			_, _, err = s.Next(tt.response)
			switch {
			case tt.wantErr == nil && err != nil:
				t.Fatalf("err = %v", err)
			case tt.wantErr == errAny && err == nil:
				t.Fatal("want an error")
			case tt.wantErr != nil && tt.wantErr != errAny && !errors.Is(err, tt.wantErr):
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if called != tt.wantDone {
				t.Fatalf("done called = %v, want %v", called, tt.wantDone)
			}
			if called && got.Name != "alice" {
				t.Fatalf("account = %+v", got)
			}
		})
	}
}

var errAny = errors.New("any error")
