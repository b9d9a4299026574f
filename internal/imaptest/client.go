package imaptest

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// ReadTimeout bounds every read of a Client. It is generous because tests
// run under -race on loaded machines; it only matters when a test is
// already failing.
const ReadTimeout = 60 * time.Second

// historyLen is how many received lines a Client keeps for failure reports.
const historyLen = 8

// Client is a raw-line IMAP client. Its methods fail the test they were
// given (or the one Dial was given) on I/O errors and timeouts.
type Client struct {
	t    testing.TB
	conn net.Conn
	br   *bufio.Reader
	// history holds the last lines received, oldest first.
	history []string
}

// Dial connects to addr over plain TCP.
func Dial(t testing.TB, addr string) *Client {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, ReadTimeout)
	if err != nil {
		t.Fatalf("imaptest: dial %s: %v", addr, err)
	}
	return NewClient(t, nc)
}

// DialTLS connects to addr with implicit TLS.
func DialTLS(t testing.TB, addr string, cfg *tls.Config) *Client {
	t.Helper()
	d := &net.Dialer{Timeout: ReadTimeout}
	nc, err := tls.DialWithDialer(d, "tcp", addr, cfg)
	if err != nil {
		t.Fatalf("imaptest: dial TLS %s: %v", addr, err)
	}
	return NewClient(t, nc)
}

// NewClient wraps an established connection; it is closed in t.Cleanup.
func NewClient(t testing.TB, nc net.Conn) *Client {
	c := &Client{t: t, conn: nc, br: bufio.NewReader(nc)}
	t.Cleanup(func() { _ = nc.Close() })
	return c
}

// Conn returns the underlying connection.
func (c *Client) Conn() net.Conn { return c.conn }

// Close closes the connection.
func (c *Client) Close() { _ = c.conn.Close() }

// Buffered returns what has been received but not yet read as lines.
func (c *Client) Buffered() string {
	b, _ := c.br.Peek(c.br.Buffered())
	return string(b)
}

// StartTLS replaces the connection with a TLS client over it, after the
// server's tagged OK to STARTTLS. Data already buffered is an error: a
// server must not send anything after that OK in plaintext.
func (c *Client) StartTLS(cfg *tls.Config) {
	c.t.Helper()
	if n := c.br.Buffered(); n > 0 {
		c.t.Fatalf("imaptest: %d plaintext bytes received after STARTTLS: %q", n, c.Buffered())
	}
	tc := tls.Client(c.conn, cfg)
	_ = tc.SetDeadline(time.Now().Add(ReadTimeout))
	if err := tc.Handshake(); err != nil {
		c.t.Fatalf("imaptest: TLS handshake: %v", err)
	}
	_ = tc.SetDeadline(time.Time{})
	c.conn = tc
	c.br = bufio.NewReader(tc)
}

// Send writes line followed by CRLF.
func (c *Client) Send(line string) {
	c.t.Helper()
	c.SendRaw([]byte(line + "\r\n"))
}

// Sendf formats and sends a line.
func (c *Client) Sendf(format string, args ...any) {
	c.t.Helper()
	c.Send(fmt.Sprintf(format, args...))
}

// SendRaw writes b as is.
func (c *Client) SendRaw(b []byte) {
	c.t.Helper()
	if err := c.write(b); err != nil {
		c.t.Fatalf("imaptest: write: %v", err)
	}
}

func (c *Client) write(b []byte) error {
	_ = c.conn.SetWriteDeadline(time.Now().Add(ReadTimeout))
	_, err := c.conn.Write(b)
	return err
}

// ReadLine reads one line and returns it without its CRLF. It fails the
// test on timeout, on a closed connection or on a line not ended by CRLF.
func (c *Client) ReadLine() string {
	c.t.Helper()
	line, err := c.readLine()
	if err != nil {
		c.t.Fatalf("imaptest: read: %v%s", err, c.recent())
	}
	return line
}

// readLine reads up to and including "\r\n"; a lone '\n' inside a line (as
// in a literal) is kept as data.
func (c *Client) readLine() (string, error) {
	_ = c.conn.SetReadDeadline(time.Now().Add(ReadTimeout))
	var sb strings.Builder
	for {
		part, err := c.br.ReadString('\n')
		sb.WriteString(part)
		if err != nil {
			if sb.Len() > 0 && errors.Is(err, io.EOF) {
				err = fmt.Errorf("connection closed inside a line %q: %w", sb.String(), err)
			}
			return "", err
		}
		if s := sb.String(); strings.HasSuffix(s, "\r\n") {
			line := s[:len(s)-2]
			c.remember(line)
			return line, nil
		}
	}
}

// ExpectEOF waits for the server to close the connection, failing if it
// sends another line first.
func (c *Client) ExpectEOF() {
	c.t.Helper()
	if err := c.expectEOF(); err != nil {
		c.t.Fatalf("imaptest: %v%s", err, c.recent())
	}
}

func (c *Client) expectEOF() error {
	line, err := c.readLine()
	switch {
	case err == nil:
		return fmt.Errorf("expected the connection to close, got line %q", line)
	case errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed):
		return nil
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("expected the connection to close, still open after %v", ReadTimeout)
	}
	// A reset also means the server closed the connection.
	return nil
}

func (c *Client) remember(line string) {
	if len(c.history) == historyLen {
		copy(c.history, c.history[1:])
		c.history = c.history[:historyLen-1]
	}
	c.history = append(c.history, line)
}

// recent formats the last lines received for an error message.
func (c *Client) recent() string {
	if len(c.history) == 0 {
		return "\n(no lines received yet)"
	}
	var sb strings.Builder
	sb.WriteString("\nlast lines received:")
	for _, l := range c.history {
		fmt.Fprintf(&sb, "\n  S: %s", l)
	}
	return sb.String()
}

// Expect reads one line per pattern and fails t unless each matches (see
// Match for the wildcard rules).
func (c *Client) Expect(t testing.TB, patterns ...string) {
	t.Helper()
	for _, want := range patterns {
		line, err := c.readLine()
		if err != nil {
			t.Fatalf("imaptest: expected %q: %v%s", want, err, c.recent())
		}
		if !Match(want, line) {
			t.Fatalf("imaptest: line mismatch\nexpected: %s\ngot:      %s%s", want, line, c.recent())
		}
	}
}

// ReadUntilTagged reads lines up to and including the tagged response with
// tag and returns them all.
func (c *Client) ReadUntilTagged(tag string) []string {
	c.t.Helper()
	var lines []string
	for {
		l := c.ReadLine()
		lines = append(lines, l)
		if strings.HasPrefix(l, tag+" ") {
			return lines
		}
	}
}

// Login logs in with LOGIN under tag "L" and checks the tagged OK.
func (c *Client) Login(user, pass string) {
	c.t.Helper()
	c.Sendf("L LOGIN %s %s", user, pass)
	c.Expect(c.t, "L OK [CAPABILITY *] Logged in")
}
