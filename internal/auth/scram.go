package auth

import (
	"context"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/emersion/go-sasl"

	"rookery/internal/logtext"
	"rookery/internal/store"
)

// SCRAMSHA256 is the SASL mechanism name (RFC 7677).
const SCRAMSHA256 = "SCRAM-SHA-256"

// scramIterations is the PBKDF2 iteration count of new SCRAM secrets
// (RFC 7677 §4 asks for at least 4096).
const scramIterations = 10000

// ErrSCRAMProtocol is a malformed SCRAM exchange.
var ErrSCRAMProtocol = errors.New("malformed SCRAM message")

// scramSecret is a stored SCRAM-SHA-256 verifier (RFC 5802 §3): the server
// never keeps the password or SaltedPassword.
type scramSecret struct {
	iter                 int
	salt                 []byte
	storedKey, serverKey []byte
}

// NewSCRAMSecret derives a SCRAM-SHA-256 verifier for pw with a random salt,
// encoded as "SCRAM-SHA-256$<iter>:<salt>$<StoredKey>:<ServerKey>" (base64).
// The password is used as given (no SASLprep): clients normalise ASCII
// passwords identically; non-ASCII passwords should use PLAIN.
func NewSCRAMSecret(pw string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("SCRAM secret: %w", err)
	}
	s, err := deriveSCRAM(pw, salt, scramIterations)
	if err != nil {
		return "", err
	}
	return s.encode(), nil
}

func deriveSCRAM(pw string, salt []byte, iter int) (scramSecret, error) {
	salted, err := pbkdf2.Key(sha256.New, pw, salt, iter, sha256.Size)
	if err != nil {
		return scramSecret{}, fmt.Errorf("SCRAM secret: %w", err)
	}
	clientKey := hmacSHA256(salted, "Client Key")
	stored := sha256.Sum256(clientKey)
	return scramSecret{iter: iter, salt: salt, storedKey: stored[:], serverKey: hmacSHA256(salted, "Server Key")}, nil
}

func (s scramSecret) encode() string {
	b := base64.StdEncoding
	return fmt.Sprintf("%s$%d:%s$%s:%s", SCRAMSHA256, s.iter, b.EncodeToString(s.salt),
		b.EncodeToString(s.storedKey), b.EncodeToString(s.serverKey))
}

func parseSCRAMSecret(enc string) (scramSecret, error) {
	var s scramSecret
	f := strings.Split(enc, "$")
	if len(f) != 3 || f[0] != SCRAMSHA256 {
		return s, fmt.Errorf("%w: not a SCRAM-SHA-256 secret", ErrMalformedHash)
	}
	it, salt, ok1 := strings.Cut(f[1], ":")
	sk, svk, ok2 := strings.Cut(f[2], ":")
	n, err := strconv.Atoi(it)
	if !ok1 || !ok2 || err != nil || n < 1 || n > 1<<24 {
		return s, fmt.Errorf("%w: bad SCRAM fields", ErrMalformedHash)
	}
	s.iter = n
	b := base64.StdEncoding.Strict()
	var e1, e2, e3 error
	s.salt, e1 = b.DecodeString(salt)
	s.storedKey, e2 = b.DecodeString(sk)
	s.serverKey, e3 = b.DecodeString(svk)
	if e1 != nil || e2 != nil || e3 != nil || len(s.storedKey) != sha256.Size || len(s.serverKey) != sha256.Size || len(s.salt) == 0 {
		return s, fmt.Errorf("%w: bad SCRAM encoding", ErrMalformedHash)
	}
	return s, nil
}

func hmacSHA256(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// SCRAMServer returns a SCRAM-SHA-256 server (RFC 5802, RFC 7677), the
// mechanism without channel binding. It calls done with the account after a
// valid proof. Unknown users and accounts without a stored SCRAM secret get
// a fake salt derived from the user name, so the exchange does not reveal
// which accounts exist; they fail at the proof.
//
// offered is the channel binding of the connection when the server
// advertises SCRAM-SHA-256-PLUS on it, else nil. With it, a client's GS2
// flag "y" (it could bind but believes the server cannot) is a downgrade
// and fails with server-does-support-channel-binding (RFC 5802 §6).
func (a *Authenticator) SCRAMServer(ctx context.Context, remote net.Addr, offered *ChannelBinding, done func(store.Account)) sasl.Server {
	return &scramServer{a: a, ctx: ctx, remote: remote, done: done, mech: SCRAMSHA256, offered: offered}
}

// SCRAMPlusServer returns a SCRAM-SHA-256-PLUS server: SCRAM-SHA-256 bound
// to the channel cb (RFC 5802 §6). The client must ask for cb's type with
// the GS2 flag "p=" and send cb's data in its final message.
func (a *Authenticator) SCRAMPlusServer(ctx context.Context, remote net.Addr, cb ChannelBinding, done func(store.Account)) sasl.Server {
	return &scramServer{a: a, ctx: ctx, remote: remote, done: done, mech: SCRAMSHA256Plus, plus: true, offered: &cb}
}

type scramServer struct {
	a      *Authenticator
	ctx    context.Context
	remote net.Addr
	done   func(store.Account)

	mech    string          // SCRAMSHA256 or SCRAMSHA256Plus, for logs
	plus    bool            // the -PLUS mechanism
	offered *ChannelBinding // the connection's binding if -PLUS is offered
	cbData  []byte          // binding data the client must send (after "p=")

	step                         int
	gs2Header                    string
	clientFirstBare, serverFirst string
	nonce                        string
	user                         string
	acct                         store.Account
	secret                       scramSecret
	known                        bool // acct and secret are real
	serverSignature              []byte
}

func (s *scramServer) Next(resp []byte) ([]byte, bool, error) {
	switch s.step {
	case 0:
		if len(resp) == 0 {
			return []byte{}, false, nil // ask for the client-first-message
		}
		s.step++
		return s.first(string(resp))
	case 1:
		s.step++
		return s.final(string(resp))
	case 2:
		s.step++
		if len(resp) != 0 {
			return nil, false, fmt.Errorf("%w: unexpected data after server-final", ErrSCRAMProtocol)
		}
		s.done(s.acct)
		return nil, true, nil
	}
	return nil, false, sasl.ErrUnexpectedClientResponse
}

// first handles client-first-message = gs2-header client-first-message-bare.
func (s *scramServer) first(msg string) ([]byte, bool, error) {
	// gs2-header = gs2-cbind-flag "," [ authzid ] ","
	cb, rest, ok := strings.Cut(msg, ",")
	if !ok {
		return nil, false, fmt.Errorf("%w: no GS2 header", ErrSCRAMProtocol)
	}
	cbName, isP := strings.CutPrefix(cb, "p=")
	if cb != "n" && cb != "y" && (!isP || !validCBName(cbName)) {
		return nil, false, fmt.Errorf("%w: bad channel binding flag", ErrSCRAMProtocol)
	}
	authz, bare, ok := strings.Cut(rest, ",")
	if !ok {
		return nil, false, fmt.Errorf("%w: bad GS2 header", ErrSCRAMProtocol)
	}
	s.gs2Header = cb + "," + authz + ","
	s.clientFirstBare = bare
	attrs, err := scramAttrs(bare)
	if err != nil {
		return nil, false, err
	}
	if len(attrs) < 2 || attrs[0].k != 'n' || attrs[1].k != 'r' || attrs[1].v == "" {
		return nil, false, fmt.Errorf("%w: want n=,r= in client-first-message", ErrSCRAMProtocol)
	}
	if len(attrs[1].v) > maxClientNonce {
		// The server-first-message repeats it: a client must not make
		// the server send back whatever it sent.
		return nil, false, fmt.Errorf("%w: client nonce of %d bytes (at most %d)", ErrSCRAMProtocol, len(attrs[1].v), maxClientNonce)
	}
	if s.user, err = saslName(attrs[0].v); err != nil {
		return nil, false, err
	}
	if authz != "" {
		z, err := saslName(strings.TrimPrefix(authz, "a="))
		if !strings.HasPrefix(authz, "a=") || err != nil {
			return nil, false, fmt.Errorf("%w: bad authzid", ErrSCRAMProtocol)
		}
		if store.AccountKey(z) != store.AccountKey(s.user) {
			s.a.fail(s.ctx, nil, s.user, s.remote, s.mech, "authorization identity "+z)
			return nil, false, ErrAuthorizationFailed
		}
	}
	if err := s.checkCBFlag(cb, cbName, isP); err != nil {
		return nil, false, err
	}
	acct, err := s.a.st.Account(s.ctx, s.user)
	switch {
	case err == nil && acct.SCRAMSecret != "":
		sec, perr := parseSCRAMSecret(acct.SCRAMSecret)
		if perr != nil {
			s.a.logger.ErrorContext(s.ctx, "stored SCRAM secret unusable", "user", logtext.Clip(s.user), "err", perr)
			break
		}
		s.acct, s.secret, s.known = acct, sec, true
	case err != nil && !errors.Is(err, store.ErrNoSuchAccount):
		return nil, false, fmt.Errorf("SCRAM login %q: %w", logtext.Clip(s.user), err)
	}
	if !s.known {
		// The fake salt of an unknown name is the same for every
		// spelling of it, as a real account's salt is.
		s.secret = scramSecret{iter: scramIterations, salt: hmacSHA256(s.a.fakeKey, store.AccountKey(s.user))[:16]}
	}
	s.nonce = attrs[1].v + s.a.scramNonce()
	s.serverFirst = "r=" + s.nonce + ",s=" + base64.StdEncoding.EncodeToString(s.secret.salt) + ",i=" + strconv.Itoa(s.secret.iter)
	return []byte(s.serverFirst), false, nil
}

// maxClientNonce bounds the client's nonce (clients send 18 to 32
// random bytes, base64-encoded): the server-first-message echoes it.
const maxClientNonce = 1024

// final checks client-final-message and answers with server-final-message.
func (s *scramServer) final(msg string) ([]byte, bool, error) {
	i := strings.LastIndex(msg, ",p=")
	if i < 0 {
		return nil, false, fmt.Errorf("%w: no proof", ErrSCRAMProtocol)
	}
	withoutProof := msg[:i]
	proof, err := base64.StdEncoding.Strict().DecodeString(msg[i+3:])
	if err != nil || len(proof) != sha256.Size {
		return nil, false, fmt.Errorf("%w: bad proof", ErrSCRAMProtocol)
	}
	attrs, err := scramAttrs(withoutProof)
	if err != nil {
		return nil, false, err
	}
	if len(attrs) < 2 || attrs[0].k != 'c' || attrs[1].k != 'r' {
		return nil, false, fmt.Errorf("%w: want c=,r= in client-final-message", ErrSCRAMProtocol)
	}
	if attrs[1].v != s.nonce {
		return nil, false, fmt.Errorf("%w: nonce mismatch", ErrSCRAMProtocol)
	}
	// c= is base64(gs2-header [cbind-data]) (RFC 5802 §7): the header
	// repeated, and with "p=" the binding data of the channel the client
	// sees. A difference means another TLS connection in between (or a
	// client bug): no proof is checked, the attempt fails.
	cbind := append([]byte(s.gs2Header), s.cbData...)
	got, err := base64.StdEncoding.Strict().DecodeString(attrs[0].v)
	if err != nil || subtle.ConstantTimeCompare(got, cbind) != 1 {
		return nil, false, s.cbFail(scramCBMismatch, "channel bindings don't match")
	}
	authMessage := s.clientFirstBare + "," + s.serverFirst + "," + withoutProof
	// The proof is checked in the attempt's turn (throttle): a client's
	// round trip is never waited for while holding one.
	att, err := s.a.throttle.Begin(s.ctx, store.AccountKey(s.user), remoteIP(s.remote))
	if err != nil {
		return nil, false, fmt.Errorf("SCRAM login %q: %w", logtext.Clip(s.user), err)
	}
	defer att.Abandon()
	if !s.known {
		s.a.fail(s.ctx, att, s.user, s.remote, s.mech, "unknown user or no SCRAM secret")
		return nil, false, ErrInvalidCredentials
	}
	sig := hmacSHA256(s.secret.storedKey, authMessage)
	clientKey := make([]byte, len(proof))
	for i := range proof {
		clientKey[i] = proof[i] ^ sig[i]
	}
	h := sha256.Sum256(clientKey)
	if subtle.ConstantTimeCompare(h[:], s.secret.storedKey) != 1 {
		s.a.fail(s.ctx, att, s.user, s.remote, s.mech, "wrong password")
		return nil, false, ErrInvalidCredentials
	}
	att.Succeeded()
	return []byte("v=" + base64.StdEncoding.EncodeToString(hmacSHA256(s.secret.serverKey, authMessage))), false, nil
}

type scramAttr struct {
	k byte
	v string
}

// scramAttrs splits "k=v,k=v" (values may contain '=' but not ',').
func scramAttrs(s string) ([]scramAttr, error) {
	var out []scramAttr
	for f := range strings.SplitSeq(s, ",") {
		if len(f) < 2 || f[1] != '=' {
			return nil, fmt.Errorf("%w: bad attribute %q", ErrSCRAMProtocol, logtext.Clip(f))
		}
		out = append(out, scramAttr{f[0], f[2:]})
	}
	return out, nil
}

// saslName decodes "=2C" and "=3D" (RFC 5802 §5.1); other '=' are errors.
func saslName(s string) (string, error) {
	if !strings.Contains(s, "=") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '=' {
			b.WriteByte(s[i])
			continue
		}
		switch {
		case strings.HasPrefix(s[i:], "=2C"):
			b.WriteByte(',')
		case strings.HasPrefix(s[i:], "=3D"):
			b.WriteByte('=')
		default:
			return "", fmt.Errorf("%w: bad escape in user name", ErrSCRAMProtocol)
		}
		i += 2
	}
	return b.String(), nil
}

// randomNonce returns 24 random bytes in base64 (printable, no ',').
func randomNonce() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawStdEncoding.EncodeToString(b)
}
