package imapserver_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"io"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"rookery/internal/auth"
	"rookery/internal/imapserver"
	"rookery/internal/imaptest"
)

// tlsExporter returns the RFC 9266 tls-exporter channel binding of the
// client's own end of the connection.
func tlsExporter(t *testing.T, c *imaptest.Client) []byte {
	t.Helper()
	cs := c.Conn().(*tls.Conn).ConnectionState()
	data, err := cs.ExportKeyingMaterial("EXPORTER-Channel-Binding", nil, 32)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// scramLogin runs AUTHENTICATE mech with a SCRAM-SHA-256 client written
// here from RFC 5802 §3 and §7 (independent of package auth): gs2 is the
// GS2 header ("n,,", "y,,", "p=tls-exporter,,"), cbData the channel binding
// data appended in c=. It returns the tagged response; after a valid proof
// it checks the server signature first.
func scramLogin(t *testing.T, c *imaptest.Client, tag, mech, user, pw, gs2 string, cbData []byte) string {
	t.Helper()
	bare := "n=" + user + ",r=rOprNGfwEbeRWgbNEkqO"
	c.Send(tag + " AUTHENTICATE " + mech + " " + base64.StdEncoding.EncodeToString([]byte(gs2+bare)))
	line := c.ReadLine()
	if !strings.HasPrefix(line, "+ ") {
		return line // refused at the client-first-message
	}
	sf, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(line, "+ "))
	if err != nil {
		t.Fatalf("server-first %q: %v", line, err)
	}
	attrs := map[string]string{}
	for kv := range strings.SplitSeq(string(sf), ",") {
		attrs[kv[:1]] = kv[2:]
	}
	if !strings.HasPrefix(attrs["r"], "rOprNGfwEbeRWgbNEkqO") {
		t.Fatalf("server nonce %q does not extend the client's", attrs["r"])
	}
	salt, _ := base64.StdEncoding.DecodeString(attrs["s"])
	iter, _ := strconv.Atoi(attrs["i"])
	salted, err := pbkdf2.Key(sha256.New, pw, salt, iter, 32)
	if err != nil {
		t.Fatal(err)
	}
	mac := func(k []byte, s string) []byte { h := hmac.New(sha256.New, k); h.Write([]byte(s)); return h.Sum(nil) }
	ck := mac(salted, "Client Key")
	sk := sha256.Sum256(ck)
	noProof := "c=" + base64.StdEncoding.EncodeToString(append([]byte(gs2), cbData...)) + ",r=" + attrs["r"]
	am := bare + "," + string(sf) + "," + noProof
	sig := mac(sk[:], am)
	for i := range ck {
		ck[i] ^= sig[i]
	}
	c.Send(base64.StdEncoding.EncodeToString([]byte(noProof + ",p=" + base64.StdEncoding.EncodeToString(ck))))
	line = c.ReadLine()
	if !strings.HasPrefix(line, "+ ") {
		return line
	}
	want := "+ " + base64.StdEncoding.EncodeToString([]byte("v="+base64.StdEncoding.EncodeToString(mac(mac(salted, "Server Key"), am))))
	if line != want {
		t.Fatalf("server-final %q, want %q", line, want)
	}
	c.Send("")
	return c.ReadLine()
}

const (
	okLoggedIn     = tagged + " OK [CAPABILITY *] Logged in"
	tagged         = "s1"
	noBindingMatch = tagged + " NO [AUTHENTICATIONFAILED] Authentication failed (e=channel-bindings-dont-match)"
)

// TestSCRAMPlus logs in with SCRAM-SHA-256-PLUS (tls-exporter) over
// implicit TLS and after STARTTLS, and checks the refusals: a binding of
// another connection, another binding type, the downgrade flag "y" with
// plain SCRAM where -PLUS is offered, and -PLUS without TLS.
func TestSCRAMPlus(t *testing.T) {
	srv := imaptest.StartServer(t)
	match := func(t *testing.T, got, pattern string) {
		t.Helper()
		if !imaptest.Match(pattern, got) {
			t.Fatalf("got %q, want %q", got, pattern)
		}
	}
	dialTLS := func(t *testing.T) *imaptest.Client {
		c := srv.DialTLS(t)
		c.Expect(t, "* OK [CAPABILITY * AUTH=SCRAM-SHA-256 AUTH=SCRAM-SHA-256-PLUS] Rookery ready")
		return c
	}

	t.Run("implicit TLS", func(t *testing.T) {
		c := dialTLS(t)
		match(t, scramLogin(t, c, tagged, "SCRAM-SHA-256-PLUS", "alice", "pass", "p=tls-exporter,,", tlsExporter(t, c)), okLoggedIn)
		c.Send("s2 SELECT INBOX")
		if lines := c.ReadUntilTagged("s2"); lines[len(lines)-1] != "s2 OK [READ-WRITE] SELECT completed" {
			t.Fatalf("SELECT: %q", lines)
		}
	})
	t.Run("after STARTTLS", func(t *testing.T) {
		c := srv.Dial(t)
		c.Expect(t, "* OK [CAPABILITY * STARTTLS AUTH=PLAIN AUTH=LOGIN AUTH=SCRAM-SHA-256] Rookery ready")
		c.Send("a1 STARTTLS")
		c.Expect(t, "a1 OK Begin TLS negotiation now")
		c.StartTLS(srv.ClientTLS)
		c.Send("a2 CAPABILITY")
		c.Expect(t, "* CAPABILITY * AUTH=SCRAM-SHA-256-PLUS", "a2 OK CAPABILITY completed")
		match(t, scramLogin(t, c, tagged, "scram-sha-256-plus", "alice", "pass", "p=tls-exporter,,", tlsExporter(t, c)), okLoggedIn)
	})
	t.Run("binding of another connection", func(t *testing.T) {
		other := dialTLS(t)
		c := dialTLS(t)
		match(t, scramLogin(t, c, tagged, "SCRAM-SHA-256-PLUS", "alice", "pass", "p=tls-exporter,,", tlsExporter(t, other)), noBindingMatch)
		// The session goes on; the right binding logs in.
		match(t, scramLogin(t, c, tagged, "SCRAM-SHA-256-PLUS", "alice", "pass", "p=tls-exporter,,", tlsExporter(t, c)), okLoggedIn)
	})
	t.Run("no binding data", func(t *testing.T) {
		c := dialTLS(t)
		match(t, scramLogin(t, c, tagged, "SCRAM-SHA-256-PLUS", "alice", "pass", "p=tls-exporter,,", nil), noBindingMatch)
	})
	t.Run("wrong password with good binding", func(t *testing.T) {
		c := dialTLS(t)
		match(t, scramLogin(t, c, tagged, "SCRAM-SHA-256-PLUS", "alice", "wrong", "p=tls-exporter,,", tlsExporter(t, c)),
			tagged+" NO [AUTHENTICATIONFAILED] Authentication failed")
	})
	t.Run("unsupported binding type", func(t *testing.T) {
		c := dialTLS(t)
		match(t, scramLogin(t, c, tagged, "SCRAM-SHA-256-PLUS", "alice", "pass", "p=tls-unique,,", tlsExporter(t, c)),
			tagged+" NO [AUTHENTICATIONFAILED] Authentication failed (e=unsupported-channel-binding-type)")
	})
	t.Run("downgrade", func(t *testing.T) {
		c := dialTLS(t)
		match(t, scramLogin(t, c, tagged, "SCRAM-SHA-256", "alice", "pass", "y,,", nil),
			tagged+" NO [AUTHENTICATIONFAILED] Authentication failed (e=server-does-support-channel-binding)")
		// A client without channel binding ("n") still logs in.
		match(t, scramLogin(t, c, tagged, "SCRAM-SHA-256", "alice", "pass", "n,,", nil), okLoggedIn)
	})
	t.Run("p flag with plain SCRAM", func(t *testing.T) {
		c := dialTLS(t)
		match(t, scramLogin(t, c, tagged, "SCRAM-SHA-256", "alice", "pass", "p=tls-exporter,,", tlsExporter(t, c)),
			tagged+" NO [AUTHENTICATIONFAILED] Authentication failed (e=other-error)")
	})
	t.Run("no TLS", func(t *testing.T) {
		c := srv.Dial(t)
		c.Expect(t, "* OK [CAPABILITY * AUTH=SCRAM-SHA-256] Rookery ready")
		c.Send("a1 AUTHENTICATE SCRAM-SHA-256-PLUS " + base64.StdEncoding.EncodeToString([]byte("p=tls-exporter,,n=alice,r=abc")))
		c.Expect(t, "a1 NO [CANNOT] Unsupported authentication mechanism")
		// Without -PLUS on offer, "y" is an honest client's flag.
		match(t, scramLogin(t, c, tagged, "SCRAM-SHA-256", "alice", "pass", "y,,", nil), okLoggedIn)
	})
}

// TestSCRAMPlusFailurePath: a channel binding failure goes the way of any
// failed login: logged with the remote address and the mechanism, counted
// by the failure hook (metrics), and throttled.
func TestSCRAMPlusFailurePath(t *testing.T) {
	var (
		mu    sync.Mutex
		mechs []string
		logs  bytes.Buffer
	)
	logger := slog.New(slog.NewTextHandler(&lockedWriter{mu: &mu, w: &logs}, nil))
	throttle := auth.NewThrottle(auth.ThrottleOptions{Base: time.Hour}) // still running when checked below
	srv := imaptest.StartServer(t, func(o *imapserver.Options) {
		o.Auth = auth.New(o.Store, logger, auth.WithThrottle(throttle), auth.WithFailureHook(func(m string) {
			mu.Lock()
			defer mu.Unlock()
			mechs = append(mechs, m)
		}))
	})
	c := srv.DialTLS(t)
	c.ReadLine()
	other := srv.DialTLS(t)
	other.ReadLine()
	got := scramLogin(t, c, tagged, "SCRAM-SHA-256-PLUS", "alice", "pass", "p=tls-exporter,,", tlsExporter(t, other))
	if !imaptest.Match(noBindingMatch, got) {
		t.Fatalf("got %q", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(mechs) != 1 || mechs[0] != "SCRAM-SHA-256-PLUS" {
		t.Fatalf("failure hook: %v", mechs)
	}
	log := logs.String()
	for _, want := range []string{"authentication failed", "user=alice", "mechanism=SCRAM-SHA-256-PLUS", "channel-bindings-dont-match", "remote=127.0.0.1:"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	if d := throttle.Delay("alice", netip.MustParseAddr("127.0.0.1")); d <= 0 {
		t.Errorf("no throttling delay after the failure (%v)", d)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
