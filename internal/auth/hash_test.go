package auth

import (
	"errors"
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"
)

func TestHashPasswordFormat(t *testing.T) {
	h, err := HashPassword("secret")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("unexpected prefix: %s", h)
	}
	h2, err := HashPassword("secret")
	if err != nil {
		t.Fatal(err)
	}
	if h == h2 {
		t.Fatal("two hashes of the same password are equal: salt not random")
	}
}

func TestVerifyPassword(t *testing.T) {
	good, err := HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	// A hash with other (cheaper) parameters must verify with those.
	cheap := params{memory: 64, time: 1, threads: 2}.encode([]byte("0123456789abcdef"),
		argon2IDKey("pw", "0123456789abcdef", 64, 1, 2))
	tests := []struct {
		name    string
		encoded string
		pw      string
		want    bool
		wantErr bool
	}{
		{"match", good, "correct horse", true, false},
		{"wrong", good, "correct horsE", false, false},
		{"empty password", good, "", false, false},
		{"other params match", cheap, "pw", true, false},
		{"other params wrong", cheap, "pw2", false, false},
		{"empty", "", "x", false, true},
		{"bcrypt", "$2a$10$abcdefghijklmnopqrstuu", "x", false, true},
		{"wrong algorithm", strings.Replace(good, "argon2id", "argon2i", 1), "correct horse", false, true},
		{"wrong version", strings.Replace(good, "v=19", "v=16", 1), "correct horse", false, true},
		{"missing param", "$argon2id$v=19$m=64,t=1$MDEyMzQ1Njc4OWFiY2RlZg$" + strings.Repeat("A", 43), "x", false, true},
		{"duplicate param", "$argon2id$v=19$m=64,m=64,t=1$MDEyMzQ1Njc4OWFiY2RlZg$" + strings.Repeat("A", 43), "x", false, true},
		{"unknown param", "$argon2id$v=19$m=64,t=1,p=1,x=1$MDEyMzQ1Njc4OWFiY2RlZg$" + strings.Repeat("A", 43), "x", false, true},
		{"huge memory", "$argon2id$v=19$m=4294967295,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$" + strings.Repeat("A", 43), "x", false, true},
		{"zero time", "$argon2id$v=19$m=64,t=0,p=1$MDEyMzQ1Njc4OWFiY2RlZg$" + strings.Repeat("A", 43), "x", false, true},
		{"bad salt", "$argon2id$v=19$m=64,t=1,p=1$!!!$" + strings.Repeat("A", 43), "x", false, true},
		{"short hash", "$argon2id$v=19$m=64,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$AAAA", "x", false, true},
		{"trailing field", good + "$", "correct horse", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := VerifyPassword(tt.encoded, tt.pw)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil && !errors.Is(err, ErrMalformedHash) {
				t.Fatalf("err = %v, want ErrMalformedHash", err)
			}
			if got != tt.want {
				t.Fatalf("match = %v, want %v", got, tt.want)
			}
		})
	}
}

func FuzzVerifyPassword(f *testing.F) {
	f.Add("$argon2id$v=19$m=64,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$AAAAAAAAAAAAAAAAAAAAAA", "x")
	f.Add("$argon2id$v=19$m=8,t=1,p=1$$", "")
	f.Fuzz(func(t *testing.T, encoded, pw string) {
		p, _, _, err := decodeHash(encoded)
		if err != nil {
			return
		}
		if p.memory > 4096 || p.time > 2 {
			return // keep the fuzzer fast; bounds are checked by decodeHash
		}
		if _, err := VerifyPassword(encoded, pw); err != nil {
			t.Fatalf("decodeHash accepted %q but VerifyPassword failed: %v", encoded, err)
		}
	})
}

func argon2IDKey(pw, salt string, m, t uint32, p uint8) []byte {
	return argon2.IDKey([]byte(pw), []byte(salt), t, m, p, 32)
}
