package tests

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// clientLifetime bounds one client connection: a watchdog closes the client
// after it, so a server that stops answering fails the test instead of
// hanging it (imapclient's own per-response timeout is 30s).
const clientLifetime = 2 * time.Minute

type dialMode int

const (
	implicitTLS dialMode = iota
	startTLS
)

func (m dialMode) String() string {
	if m == startTLS {
		return "STARTTLS"
	}
	return "TLS"
}

// dial connects to s with mode; the client is closed when the test ends.
func dial(t testing.TB, s *serverProc, mode dialMode, handler *imapclient.UnilateralDataHandler) *imapclient.Client {
	t.Helper()
	opts := &imapclient.Options{
		// The server's certificate is self-signed, generated in its data dir.
		TLSConfig:             &tls.Config{InsecureSkipVerify: true, ServerName: "127.0.0.1"},
		Dialer:                &net.Dialer{Timeout: 10 * time.Second},
		UnilateralDataHandler: handler,
	}
	var (
		c   *imapclient.Client
		err error
	)
	switch mode {
	case implicitTLS:
		c, err = imapclient.DialTLS(s.tlsAddr, opts)
	case startTLS:
		c, err = imapclient.DialStartTLS(s.imapAddr, opts)
	}
	if err != nil {
		t.Fatalf("dial %v: %v", mode, err)
	}
	watchdog := time.AfterFunc(clientLifetime, func() { c.Close() })
	t.Cleanup(func() {
		watchdog.Stop()
		c.Close()
	})
	if err := c.WaitGreeting(); err != nil {
		t.Fatalf("greeting over %v: %v", mode, err)
	}
	return c
}

// login dials and logs in as user.
func login(t testing.TB, s *serverProc, mode dialMode, user string, handler *imapclient.UnilateralDataHandler) *imapclient.Client {
	t.Helper()
	c := dial(t, s, mode, handler)
	if err := c.Login(user, s.users[user]).Wait(); err != nil {
		t.Fatalf("LOGIN %s over %v: %v", user, mode, err)
	}
	return c
}

func must(t testing.TB, err error, what string, args ...any) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", fmt.Sprintf(what, args...), err)
	}
}

// wantCode checks that err is a tagged NO/BAD carrying response code code.
func wantCode(t testing.TB, err error, code imap.ResponseCode, what string) {
	t.Helper()
	var ie *imap.Error
	switch {
	case err == nil:
		t.Errorf("%s: succeeded, want [%s]", what, code)
	case !errors.As(err, &ie):
		t.Errorf("%s: %v, want an IMAP error with [%s]", what, err, code)
	case ie.Code != code:
		t.Errorf("%s: got %v (code %q), want [%s]", what, err, ie.Code, code)
	}
}

// testMessage is a message appended by the tests and what it should read back as.
type testMessage struct {
	raw   []byte
	flags []imap.Flag
	date  time.Time
}

func (m testMessage) header() []byte {
	i := bytes.Index(m.raw, []byte("\r\n\r\n"))
	return m.raw[:i+4]
}

func (m testMessage) text() []byte {
	i := bytes.Index(m.raw, []byte("\r\n\r\n"))
	return m.raw[i+4:]
}

// crlf turns \n line ends into CRLF.
func crlf(s string) []byte { return []byte(strings.ReplaceAll(s, "\n", "\r\n")) }

// testMessages returns three distinct messages: a short plain one, an 8-bit
// multipart one and one large enough to need several network writes.
func testMessages(tag string) []testMessage {
	plain := crlf(`From: Alice <alice@example.org>
To: Bob <bob@example.org>
Subject: ` + tag + ` plain
Date: Wed, 17 May 2023 10:20:30 -0700
Message-ID: <plain-` + tag + `@example.org>

Hello Bob,
this is a short message.
`)
	multi := crlf(`From: Carol <carol@example.org>
To: Bob <bob@example.org>
Subject: ` + tag + ` multipart
Date: Thu, 18 May 2023 08:00:00 +0200
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="b1"

--b1
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Grüße aus Köln – ünïcødé body.
--b1
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: 8bit

<p>Grüße</p>
--b1--
`)
	var big strings.Builder
	big.WriteString("From: Dave <dave@example.org>\nTo: Bob <bob@example.org>\nSubject: " + tag + " big\n\n")
	for i := 0; big.Len() < 200<<10; i++ {
		fmt.Fprintf(&big, "line %06d %s\n", i, strings.Repeat("abcdefghij", 7))
	}
	return []testMessage{
		{raw: plain, flags: []imap.Flag{imap.FlagSeen, "$Label1"}, date: time.Date(2023, 5, 17, 10, 20, 30, 0, time.FixedZone("", -7*3600))},
		{raw: multi, flags: []imap.Flag{imap.FlagFlagged}, date: time.Date(2023, 5, 18, 8, 0, 0, 0, time.FixedZone("", 2*3600))},
		{raw: crlf(big.String()), flags: nil, date: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)},
	}
}

// appendMsg appends m to mailbox and returns the APPENDUID data.
func appendMsg(t testing.TB, c *imapclient.Client, mailbox string, m testMessage) *imap.AppendData {
	t.Helper()
	cmd := c.Append(mailbox, int64(len(m.raw)), &imap.AppendOptions{Flags: m.flags, Time: m.date})
	if _, err := cmd.Write(m.raw); err != nil {
		t.Fatalf("APPEND %s: writing literal: %v", mailbox, err)
	}
	if err := cmd.Close(); err != nil {
		t.Fatalf("APPEND %s: closing literal: %v", mailbox, err)
	}
	data, err := cmd.Wait()
	must(t, err, "APPEND %s", mailbox)
	if data.UID == 0 || data.UIDValidity == 0 {
		t.Fatalf("APPEND %s: no APPENDUID data: %+v", mailbox, data)
	}
	return data
}

// sameFlags compares flag sets, ignoring order, case and \Recent.
func sameFlags(got, want []imap.Flag) bool {
	norm := func(fs []imap.Flag) []string {
		var out []string
		for _, f := range fs {
			if strings.EqualFold(string(f), `\Recent`) {
				continue
			}
			out = append(out, strings.ToLower(string(f)))
		}
		slices.Sort(out)
		return out
	}
	return slices.Equal(norm(got), norm(want))
}

func hasFlag(fs []imap.Flag, f imap.Flag) bool {
	return slices.ContainsFunc(fs, func(g imap.Flag) bool { return strings.EqualFold(string(g), string(f)) })
}

func hasAttr(attrs []imap.MailboxAttr, a imap.MailboxAttr) bool {
	return slices.ContainsFunc(attrs, func(b imap.MailboxAttr) bool { return strings.EqualFold(string(a), string(b)) })
}

// listMailboxes lists every mailbox with its special-use attributes.
func listMailboxes(t testing.TB, c *imapclient.Client, opts *imap.ListOptions) map[string]*imap.ListData {
	t.Helper()
	list, err := c.List("", "*", opts).Collect()
	must(t, err, "LIST")
	m := make(map[string]*imap.ListData, len(list))
	for _, l := range list {
		if _, dup := m[l.Mailbox]; dup {
			t.Errorf("LIST returned %q twice", l.Mailbox)
		}
		m[l.Mailbox] = l
	}
	return m
}

func statusOf(t testing.TB, c *imapclient.Client, mailbox string) *imap.StatusData {
	t.Helper()
	st, err := c.Status(mailbox, &imap.StatusOptions{
		NumMessages: true, UIDNext: true, UIDValidity: true, NumUnseen: true, Size: true,
	}).Wait()
	must(t, err, "STATUS %s", mailbox)
	if st.NumMessages == nil || st.NumUnseen == nil || st.Size == nil || st.UIDNext == 0 || st.UIDValidity == 0 {
		t.Fatalf("STATUS %s: missing items: %+v", mailbox, st)
	}
	return st
}

// fetchAll fetches UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[] of set.
func fetchAll(t testing.TB, c *imapclient.Client, set imap.NumSet) []*imapclient.FetchMessageBuffer {
	t.Helper()
	msgs, err := c.Fetch(set, &imap.FetchOptions{
		UID: true, Flags: true, InternalDate: true, RFC822Size: true,
		BodySection: []*imap.FetchItemBodySection{{Peek: true}},
	}).Collect()
	must(t, err, "FETCH %v", set)
	return msgs
}

// checkMessage compares one fetched message with what was appended.
func checkMessage(t testing.TB, where string, got *imapclient.FetchMessageBuffer, want testMessage, flags []imap.Flag) {
	t.Helper()
	if got.UID == 0 {
		t.Errorf("%s: FETCH without UID", where)
	}
	if !sameFlags(got.Flags, flags) {
		t.Errorf("%s: FLAGS %v, want %v", where, got.Flags, flags)
	}
	if !got.InternalDate.Equal(want.date) {
		t.Errorf("%s: INTERNALDATE %v, want %v", where, got.InternalDate, want.date)
	}
	if got.RFC822Size != int64(len(want.raw)) {
		t.Errorf("%s: RFC822.SIZE %d, want %d", where, got.RFC822Size, len(want.raw))
	}
	body := got.FindBodySection(&imap.FetchItemBodySection{})
	if !bytes.Equal(body, want.raw) {
		t.Errorf("%s: BODY[] differs from the appended message (%d bytes, want %d)%s",
			where, len(body), len(want.raw), firstDiff(body, want.raw))
	}
}

func firstDiff(got, want []byte) string {
	n := min(len(got), len(want))
	for i := 0; i < n; i++ {
		if got[i] != want[i] {
			lo := max(0, i-20)
			return fmt.Sprintf("; first difference at byte %d: got %q, want %q", i,
				got[lo:min(len(got), i+20)], want[lo:min(len(want), i+20)])
		}
	}
	return ""
}
