package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Parameters used for new hashes (OWASP's argon2id recommendation:
// 19 MiB of memory, 2 iterations, 1 lane).
const (
	hashMemoryKiB = 19 * 1024
	hashTime      = 2
	hashThreads   = 1
	hashSaltLen   = 16
	hashKeyLen    = 32
)

// Bounds on parameters read back from a stored hash, so that a corrupt or
// hostile hash string cannot make verification take unbounded memory or time.
const (
	maxMemoryKiB = 1 << 20 // 1 GiB
	maxTime      = 64
	minSaltLen   = 8
	maxSaltLen   = 64
	minKeyLen    = 16
	maxKeyLen    = 128
)

// ErrMalformedHash is returned by VerifyPassword for a string that is not a
// supported argon2id PHC string.
var ErrMalformedHash = errors.New("malformed password hash")

// HashPassword hashes pw with argon2id and a random 16-byte salt, returning a
// PHC string: $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash> (base64 without
// padding).
func HashPassword(pw string) (string, error) {
	salt := make([]byte, hashSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("hash password: read salt: %w", err)
	}
	p := params{memory: hashMemoryKiB, time: hashTime, threads: hashThreads}
	key := argon2.IDKey([]byte(pw), salt, p.time, p.memory, p.threads, hashKeyLen)
	return p.encode(salt, key), nil
}

// VerifyPassword reports whether pw matches the argon2id PHC string encoded.
// The comparison of the derived keys is constant-time. A malformed encoded
// string is an error wrapping ErrMalformedHash, never a match.
func VerifyPassword(encoded, pw string) (bool, error) {
	p, salt, want, err := decodeHash(encoded)
	if err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(pw), salt, p.time, p.memory, p.threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

type params struct {
	memory  uint32 // KiB
	time    uint32
	threads uint8
}

func (p params) encode(salt, key []byte) string {
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.memory, p.time, p.threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// decodeHash parses "$argon2id$v=19$m=M,t=T,p=P$salt$hash".
func decodeHash(encoded string) (params, []byte, []byte, error) {
	var p params
	fields := strings.Split(encoded, "$")
	if len(fields) != 6 || fields[0] != "" {
		return p, nil, nil, fmt.Errorf("%w: want 5 '$'-separated fields", ErrMalformedHash)
	}
	if fields[1] != "argon2id" {
		return p, nil, nil, fmt.Errorf("%w: unsupported algorithm %q", ErrMalformedHash, fields[1])
	}
	if fields[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, nil, nil, fmt.Errorf("%w: unsupported version %q", ErrMalformedHash, fields[2])
	}
	seen := map[string]bool{}
	for kv := range strings.SplitSeq(fields[3], ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || seen[k] {
			return p, nil, nil, fmt.Errorf("%w: bad parameter %q", ErrMalformedHash, kv)
		}
		seen[k] = true
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return p, nil, nil, fmt.Errorf("%w: parameter %q: %v", ErrMalformedHash, kv, err)
		}
		switch k {
		case "m":
			if n < 8 || n > maxMemoryKiB {
				return p, nil, nil, fmt.Errorf("%w: memory %d KiB out of range", ErrMalformedHash, n)
			}
			p.memory = uint32(n)
		case "t":
			if n < 1 || n > maxTime {
				return p, nil, nil, fmt.Errorf("%w: time %d out of range", ErrMalformedHash, n)
			}
			p.time = uint32(n)
		case "p":
			if n < 1 || n > 255 {
				return p, nil, nil, fmt.Errorf("%w: parallelism %d out of range", ErrMalformedHash, n)
			}
			p.threads = uint8(n)
		default:
			return p, nil, nil, fmt.Errorf("%w: unknown parameter %q", ErrMalformedHash, k)
		}
	}
	if !seen["m"] || !seen["t"] || !seen["p"] {
		return p, nil, nil, fmt.Errorf("%w: missing m, t or p", ErrMalformedHash)
	}
	if uint64(p.memory) < 8*uint64(p.threads) {
		return p, nil, nil, fmt.Errorf("%w: memory below 8 KiB per lane", ErrMalformedHash)
	}
	salt, err := base64.RawStdEncoding.Strict().DecodeString(fields[4])
	if err != nil || len(salt) < minSaltLen || len(salt) > maxSaltLen {
		return p, nil, nil, fmt.Errorf("%w: bad salt", ErrMalformedHash)
	}
	key, err := base64.RawStdEncoding.Strict().DecodeString(fields[5])
	if err != nil || len(key) < minKeyLen || len(key) > maxKeyLen {
		return p, nil, nil, fmt.Errorf("%w: bad hash", ErrMalformedHash)
	}
	return p, salt, key, nil
}
