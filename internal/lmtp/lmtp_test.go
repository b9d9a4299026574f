package lmtp_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"rookery/internal/delivery"
	"rookery/internal/imaptest"
	"rookery/internal/lmtp"
	"rookery/internal/store"
)

// startLMTP runs an LMTP server on the test IMAP server's store.
func startLMTP(t *testing.T, srv *imaptest.Server, opts delivery.Options, network string) string {
	t.Helper()
	opts.Store = srv.Store
	ls := lmtp.New(lmtp.Options{Agent: delivery.New(opts), Hostname: "mx.test"})
	addr := "127.0.0.1:0"
	if network == "unix" {
		addr = filepath.Join(t.TempDir(), "lmtp.sock")
	}
	ln, err := lmtp.Listen(addr)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- ls.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = ls.Shutdown(ctx)
		if err := <-done; err != nil && !errors.Is(err, lmtp.ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	})
	if network == "unix" {
		return "unix:" + addr
	}
	return ln.Addr().String()
}

func dial(t *testing.T, addr string) *smtp.Client {
	t.Helper()
	network := "tcp"
	if p, ok := strings.CutPrefix(addr, "unix:"); ok {
		network, addr = "unix", p
	}
	nc, err := net.Dial(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	c := smtp.NewClientLMTP(nc)
	if err := c.Hello("client.test"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

const msg = "From: s@example.net\r\nSubject: hello\r\n\r\nbody\r\n"

// send runs one transaction and returns the per-recipient codes (0 for a
// recipient refused at RCPT time, with the RCPT code in rcptCodes).
func send(t *testing.T, c *smtp.Client, from string, to []string, body string) (rcptCodes, dataCodes map[string]int) {
	t.Helper()
	rcptCodes, dataCodes = map[string]int{}, map[string]int{}
	if err := c.Mail(from, nil); err != nil {
		t.Fatalf("MAIL: %v", err)
	}
	var accepted []string
	for _, r := range to {
		err := c.Rcpt(r, nil)
		var se *smtp.SMTPError
		switch {
		case err == nil:
			rcptCodes[r] = 250
			accepted = append(accepted, r)
		case errors.As(err, &se):
			rcptCodes[r] = se.Code
		default:
			t.Fatalf("RCPT %s: %v", r, err)
		}
	}
	if len(accepted) == 0 {
		_ = c.Reset()
		return
	}
	w, err := c.Data()
	if err != nil {
		t.Fatalf("DATA: %v", err)
	}
	if _, err := w.Write([]byte(body)); err != nil {
		t.Fatalf("write: %v", err)
	}
	resp, err := w.CloseWithLMTPResponse()
	var lerr smtp.LMTPDataError
	if err != nil && !errors.As(err, &lerr) {
		t.Fatalf("end of DATA: %v", err)
	}
	for _, r := range accepted {
		if se, ok := lerr[r]; ok {
			dataCodes[r] = se.Code
		} else if _, ok := resp[r]; ok {
			dataCodes[r] = 250
		}
	}
	return
}

func TestDeliveryObservedByIMAP(t *testing.T) {
	for _, network := range []string{"tcp", "unix"} {
		t.Run(network, func(t *testing.T) {
			srv := imaptest.StartServer(t)
			addr := startLMTP(t, srv, delivery.Options{Domains: []string{"example.org"}}, network)

			im := srv.Dial(t)
			im.Expect(t, "* OK *")
			im.Login("alice", "pass")
			im.Send("a1 SELECT INBOX")
			im.ReadUntilTagged("a1")

			c := dial(t, addr)
			_, dc := send(t, c, "s@example.net", []string{"alice@example.org"}, msg)
			if dc["alice@example.org"] != 250 {
				t.Fatalf("DATA codes = %v", dc)
			}
			im.Send("a2 NOOP")
			im.Expect(t, "* 1 EXISTS", "*", "a2 OK *")
			im.Send("a3 FETCH 1 BODY.PEEK[]")
			lines := strings.Join(im.ReadUntilTagged("a3"), "\n")
			for _, want := range []string{"Return-Path: <s@example.net>", "Delivered-To: alice@example.org", "Subject: hello"} {
				if !strings.Contains(lines, want) {
					t.Errorf("FETCH lacks %q:\n%s", want, lines)
				}
			}
		})
	}
}

func TestMixedRecipients(t *testing.T) {
	srv := imaptest.StartServer(t)
	ctx := context.Background()
	one := int64(1)
	if err := srv.Store.SetQuota(ctx, "bob", store.Quota{Messages: &one}); err != nil {
		t.Fatal(err)
	}
	addr := startLMTP(t, srv, delivery.Options{Domains: []string{"example.org"}, MaxSize: 1000}, "tcp")
	c := dial(t, addr)

	// bob takes one message, then is refused at RCPT time (full).
	rc, dc := send(t, c, "s@example.net", []string{"alice@example.org", "bob@example.org", "nobody@example.org", "alice@other.org"}, msg)
	if rc["nobody@example.org"] != 550 || rc["alice@other.org"] != 550 || dc["alice@example.org"] != 250 || dc["bob@example.org"] != 250 {
		t.Fatalf("first: rcpt %v data %v", rc, dc)
	}
	rc, dc = send(t, c, "", []string{"bob@example.org", "alice@example.org"}, msg)
	if rc["bob@example.org"] != 552 || dc["alice@example.org"] != 250 {
		t.Fatalf("second: rcpt %v data %v", rc, dc)
	}
	// Over quota found inside the transaction (bob accepted at RCPT,
	// filled by another delivery before DATA ends).
	two := int64(2)
	if err := srv.Store.SetQuota(ctx, "bob", store.Quota{Messages: &two}); err != nil {
		t.Fatal(err)
	}
	if err := c.Mail("s@example.net", nil); err != nil {
		t.Fatal(err)
	}
	for _, r := range []string{"alice@example.org", "bob@example.org"} {
		if err := c.Rcpt(r, nil); err != nil {
			t.Fatal(err)
		}
	}
	c2 := dial(t, addr)
	if _, dc := send(t, c2, "x@example.net", []string{"bob@example.org"}, msg); dc["bob@example.org"] != 250 {
		t.Fatalf("filling bob: %v", dc)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	_, _ = w.Write([]byte(msg))
	_, err = w.CloseWithLMTPResponse()
	var lerr smtp.LMTPDataError
	if !errors.As(err, &lerr) || lerr["bob@example.org"] == nil || lerr["bob@example.org"].Code != 552 || lerr["alice@example.org"] != nil {
		t.Fatalf("in-transaction over quota: %v", err)
	}

	// Oversize: refused for every recipient with 552 5.3.4.
	_, dc = send(t, c, "s@example.net", []string{"alice@example.org"}, "Subject: big\r\n\r\n"+strings.Repeat(strings.Repeat("x", 70)+"\r\n", 30))
	if dc["alice@example.org"] != 552 {
		t.Fatalf("oversize: %v", dc)
	}
	// The connection is still usable.
	if _, dc = send(t, c, "s@example.net", []string{"alice@example.org"}, msg); dc["alice@example.org"] != 250 {
		t.Fatalf("after oversize: %v", dc)
	}
}

func TestOverQuotaTemporary(t *testing.T) {
	srv := imaptest.StartServer(t)
	zero := int64(10)
	if err := srv.Store.SetQuota(context.Background(), "bob", store.Quota{StorageBytes: &zero}); err != nil {
		t.Fatal(err)
	}
	addr := startLMTP(t, srv, delivery.Options{OverQuotaTemporary: true}, "tcp")
	c := dial(t, addr)
	rc, dc := send(t, c, "s@example.net", []string{"bob@example.org"}, msg)
	if dc["bob@example.org"] != 452 {
		t.Fatalf("over quota (temporary): %v %v", rc, dc)
	}
}

// TestSwaks talks to the server with swaks, an independent SMTP/LMTP
// client (Debian package swaks), when it is installed.
func TestSwaks(t *testing.T) {
	swaks, err := exec.LookPath("swaks")
	if err != nil {
		t.Skip("swaks not installed (apt-get install swaks)")
	}
	srv := imaptest.StartServer(t)
	addr := startLMTP(t, srv, delivery.Options{Domains: []string{"example.org"}}, "tcp")
	host, port, _ := net.SplitHostPort(addr)
	var out bytes.Buffer
	cmd := exec.Command(swaks, "--protocol", "LMTP", "--server", host, "--port", port,
		"--from", "s@example.net", "--to", "alice@example.org,nobody@example.org,bob@example.org",
		"--header", "Subject: from swaks", "--body", "hello from swaks")
	cmd.Stdout, cmd.Stderr = &out, &out
	_ = cmd.Run() // swaks exits non-zero when a recipient is refused
	tr := out.String()
	for _, want := range []string{"<-  250 2.0.0 <alice@example.org> Delivered", "<** 550 5.1.1 No such user", "<-  250 2.0.0 <bob@example.org> Delivered"} {
		if !strings.Contains(tr, want) {
			t.Errorf("swaks transcript lacks %q:\n%s", want, tr)
		}
	}
	im := srv.Dial(t)
	im.Expect(t, "* OK *")
	im.Login("bob", "pass")
	im.Send(`a1 STATUS INBOX (MESSAGES)`)
	im.Expect(t, `* STATUS INBOX (MESSAGES 1)`, "a1 OK *")
}

// TestRecipientsAndBlankMessages checks over the wire: a recipient under
// another spelling of the account name is the account (250); a detail
// that cannot name a mailbox is refused at RCPT time (550 5.1.1); a
// detail that does not exist goes to INBOX; a message of nothing but
// blank lines is refused for every recipient (554 5.6.0).
func TestRecipientsAndBlankMessages(t *testing.T) {
	srv := imaptest.StartServer(t)
	addr := startLMTP(t, srv, delivery.Options{Domains: []string{"example.org"}}, "tcp")
	c := dial(t, addr)
	rc, dc := send(t, c, "s@example.net", []string{"ALICE@Example.ORG", "Alice+Archive@example.org", "alice+nosuch@example.org",
		"alice+../bob@example.org", "alice+/bob/INBOX@example.org", "alice+Archive/..@example.org"}, msg)
	for _, r := range []string{"ALICE@Example.ORG", "Alice+Archive@example.org", "alice+nosuch@example.org"} {
		if dc[r] != 250 {
			t.Errorf("%s: RCPT %d, DATA %d; want delivered", r, rc[r], dc[r])
		}
	}
	for _, r := range []string{"alice+../bob@example.org", "alice+/bob/INBOX@example.org", "alice+Archive/..@example.org"} {
		if rc[r] != 550 {
			t.Errorf("%s: RCPT %d, want 550", r, rc[r])
		}
	}
	if err := c.Mail("s@example.net", nil); err != nil {
		t.Fatal(err)
	}
	err := c.Rcpt("alice+../bob@example.org", nil)
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.EnhancedCode != (smtp.EnhancedCode{5, 1, 1}) {
		t.Errorf("RCPT alice+../bob: %v, want 5.1.1", err)
	}
	_ = c.Reset()

	for _, body := range []string{"\r\n", "\r\n\r\n \t\r\n"} {
		_, dc = send(t, c, "s@example.net", []string{"alice@example.org", "bob@example.org"}, body)
		if dc["alice@example.org"] != 554 || dc["bob@example.org"] != 554 {
			t.Errorf("blank message %q: %v, want 554 for both", body, dc)
		}
	}

	im := srv.Dial(t)
	im.Expect(t, "* OK *")
	im.Login("alice", "pass")
	im.Send("a1 STATUS INBOX (MESSAGES)")
	im.Expect(t, "* STATUS INBOX (MESSAGES 2)", "a1 OK *")
	im.Send("a2 STATUS Archive (MESSAGES)")
	im.Expect(t, "* STATUS Archive (MESSAGES 1)", "a2 OK *")
	im = srv.Dial(t)
	im.Expect(t, "* OK *")
	im.Login("bob", "pass")
	im.Send("b1 STATUS INBOX (MESSAGES)")
	im.Expect(t, "* STATUS INBOX (MESSAGES 0)", "b1 OK *")
}
