package imapserver_test

import (
	"crypto/tls"
	"errors"
	"net"
	"testing"

	"rookery/internal/imapserver"
	"rookery/internal/imaptest"
)

const (
	capsNotAuthTLS = "IMAP4rev1 IMAP4rev2 LITERAL+ SASL-IR ID ENABLE AUTH=PLAIN AUTH=LOGIN AUTH=SCRAM-SHA-256 AUTH=SCRAM-SHA-256-PLUS"
	capsAuthPrefix = "IMAP4rev1 IMAP4rev2 LITERAL+ SASL-IR ID ENABLE NAMESPACE "
)

func plaintextNever(o *imapserver.Options) { o.PlaintextAuth = imapserver.PlaintextNever }

// TestStartTLS upgrades a plaintext connection: the capabilities change
// (no STARTTLS, AUTH=PLAIN instead of LOGINDISABLED) and login works.
func TestStartTLS(t *testing.T) {
	srv := imaptest.StartServer(t, plaintextNever)
	c := srv.Dial(t)
	c.Expect(t, "* OK [CAPABILITY IMAP4rev1 IMAP4rev2 LITERAL+ SASL-IR ID ENABLE STARTTLS LOGINDISABLED] Rookery ready")
	c.Send("a1 LOGIN alice pass")
	c.Expect(t, "a1 NO [PRIVACYREQUIRED] *")
	c.Send("a2 STARTTLS")
	c.Expect(t, "a2 OK Begin TLS negotiation now")
	c.StartTLS(srv.ClientTLS)
	if cs := c.Conn().(*tls.Conn).ConnectionState(); !cs.HandshakeComplete {
		t.Fatal("handshake not complete")
	}
	// RFC 9051 §6.2.1: the client must discard cached capabilities; the
	// server lists the new ones on request.
	c.Send("a3 CAPABILITY")
	c.Expect(t, "* CAPABILITY "+capsNotAuthTLS, "a3 OK CAPABILITY completed")
	c.Send("a4 STARTTLS")
	c.Expect(t, "a4 BAD [CLIENTBUG] TLS is already active")
	c.Send("a5 LOGIN alice pass")
	c.Expect(t, "a5 OK [CAPABILITY "+capsAuthPrefix+"*] Logged in")
	c.Send("a6 SELECT INBOX")
	lines := c.ReadUntilTagged("a6")
	if got := lines[len(lines)-1]; got != "a6 OK [READ-WRITE] SELECT completed" {
		t.Fatalf("SELECT over TLS: %q", got)
	}
	c.Send("a7 LOGOUT")
	c.Expect(t, "* BYE Logging out", "a7 OK LOGOUT completed")
	c.ExpectEOF()
}

// TestStartTLSAuthenticate checks AUTHENTICATE after STARTTLS with
// PlaintextNever.
func TestStartTLSAuthenticate(t *testing.T) {
	srv := imaptest.StartServer(t, plaintextNever)
	c := srv.Dial(t)
	c.ReadLine()
	c.Send("a1 AUTHENTICATE PLAIN AGFsaWNlAHBhc3M=")
	c.Expect(t, "a1 NO [PRIVACYREQUIRED] *")
	c.Send("a2 STARTTLS")
	c.Expect(t, "a2 OK Begin TLS negotiation now")
	c.StartTLS(srv.ClientTLS)
	c.Send("a3 AUTHENTICATE PLAIN AGFsaWNlAHBhc3M=")
	c.Expect(t, "a3 OK [CAPABILITY *] Logged in")
}

// TestStartTLSPipelined refuses commands pipelined after STARTTLS: they
// were sent in plaintext and could have been injected (RFC 9051 §6.2.1,
// the STARTTLS command-injection attacks of RFC 8314 §4.3 and CVE-2011-0411).
func TestStartTLSPipelined(t *testing.T) {
	srv := imaptest.StartServer(t)
	c := srv.Dial(t)
	c.ReadLine()
	// One write, so that the server reads both lines at once.
	c.SendRaw([]byte("a1 STARTTLS\r\na2 LOGIN alice pass\r\n"))
	c.Expect(t, "* BYE Data received after STARTTLS")
	c.ExpectEOF()
}

// TestStartTLSBadHandshake ends the session when the client does not
// speak TLS after the OK.
func TestStartTLSBadHandshake(t *testing.T) {
	srv := imaptest.StartServer(t)
	c := srv.Dial(t)
	c.ReadLine()
	c.Send("a1 STARTTLS")
	c.Expect(t, "a1 OK Begin TLS negotiation now")
	// Not a TLS ClientHello: the handshake fails and the server hangs up
	// (it may first send a TLS alert, which is not a line).
	c.Send("a2 NOOP")
	c.Conn().(interface{ CloseWrite() error }).CloseWrite()
	// Whatever the server sends, it must end the connection.
	waitClosed(t, c)
	// The server is still serving others.
	c2 := srv.Dial(t)
	c2.Expect(t, "* OK *")
}

// waitClosed reads and drops raw bytes until the server closes the
// connection, failing on timeout.
func waitClosed(t *testing.T, c *imaptest.Client) {
	t.Helper()
	buf := make([]byte, 512)
	_ = c.Conn().SetReadDeadline(deadline())
	for {
		_, err := c.Conn().Read(buf)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatal("the server did not close the connection")
		}
		if err != nil {
			return
		}
	}
}

// TestStartTLSUnavailable: without a TLS configuration STARTTLS is not
// offered and fails.
func TestStartTLSUnavailable(t *testing.T) {
	srv := imaptest.StartServer(t, func(o *imapserver.Options) { o.TLS = nil })
	c := srv.Dial(t)
	c.Expect(t, "* OK [CAPABILITY IMAP4rev1 IMAP4rev2 LITERAL+ SASL-IR ID ENABLE AUTH=PLAIN AUTH=LOGIN AUTH=SCRAM-SHA-256] Rookery ready")
	c.Send("a1 STARTTLS")
	c.Expect(t, "a1 NO [UNAVAILABLE] TLS is not configured")
	c.Send("a2 LOGIN alice pass")
	c.Expect(t, "a2 OK [CAPABILITY *] Logged in")
}

// TestImplicitTLS: the TLS listener never offers STARTTLS and allows
// plaintext credentials even with PlaintextNever.
func TestImplicitTLS(t *testing.T) {
	srv := imaptest.StartServer(t, plaintextNever)
	c := srv.DialTLS(t)
	c.Expect(t, "* OK [CAPABILITY "+capsNotAuthTLS+"] Rookery ready")
	c.Send("a1 STARTTLS")
	c.Expect(t, "a1 BAD [CLIENTBUG] TLS is already active")
	c.Send("a2 LOGIN alice pass")
	c.Expect(t, "a2 OK [CAPABILITY "+capsAuthPrefix+"*] Logged in")
	c.Send("a3 LOGOUT")
	c.Expect(t, "* BYE Logging out", "a3 OK LOGOUT completed")
	c.ExpectEOF()
}

// TestImplicitTLSBadHandshake: a client that does not speak TLS is
// dropped without a greeting, and the server keeps serving.
func TestImplicitTLSBadHandshake(t *testing.T) {
	srv := imaptest.StartServer(t)
	c := imaptest.Dial(t, srv.TLSAddr)
	c.Send("a1 NOOP")
	c.Conn().(interface{ CloseWrite() error }).CloseWrite()
	waitClosed(t, c)
	c2 := srv.DialTLS(t)
	c2.Expect(t, "* OK *")
}
