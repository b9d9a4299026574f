package imapserver_test

import (
	"context"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
	"testing"

	"rookery/internal/imaptest"
	"rookery/internal/store"
)

func TestQuotaCommands(t *testing.T) {
	srv := imaptest.StartServer(t)
	c := srv.Dial(t)
	c.Expect(t, "* OK *")
	c.Login("alice", "pass")

	c.Send(`a1 GETQUOTAROOT INBOX`)
	c.Expect(t, `* QUOTAROOT INBOX ""`, `* QUOTA "" (MAILBOX 6 10000)`, "a1 OK *")
	c.Send(`a2 SETQUOTA "" (STORAGE 100)`)
	c.Expect(t, "a2 NO [NOPERM] *")
	c.Send(`a3 GETQUOTA "other"`)
	c.Expect(t, "a3 NO [NONEXISTENT] *")
	c.Send(`a4 GETQUOTAROOT nosuch`)
	c.Expect(t, "a4 NO [NONEXISTENT] *")

	msg := "Subject: q\r\n\r\n" + strings.Repeat("x", 1500) + "\r\n"
	c.Send("a5 APPEND INBOX {" + strconv.Itoa(len(msg)) + "+}\r\n" + msg)
	c.Expect(t, "a5 OK [APPENDUID *] *")

	two, storage := int64(2), int64(2*1024)
	if err := srv.Store.SetQuota(context.Background(), "alice", store.Quota{Messages: &two, StorageBytes: &storage}); err != nil {
		t.Fatal(err)
	}
	c.Send(`a6 GETQUOTA ""`)
	c.Expect(t, `* QUOTA "" (STORAGE 2 2 MESSAGE 1 2 MAILBOX 6 10000)`, "a6 OK *")
	// Over the storage limit: the message alone would fit, not with the first.
	c.Send("a7 APPEND INBOX {" + strconv.Itoa(len(msg)) + "+}\r\n" + msg)
	c.Expect(t, "a7 NO [OVERQUOTA] *")
	c.Send("a8 APPEND INBOX {6+}\r\nS: x\r\n")
	c.Expect(t, "a8 OK *")
	c.Send("a9 SELECT INBOX")
	c.ReadUntilTagged("a9")
	c.Send("b1 COPY 1 Archive")
	c.Expect(t, "b1 NO [OVERQUOTA] *")
	c.Send("b2 MOVE 1 Archive")
	c.Expect(t, "* OK [COPYUID *", "* 1 EXPUNGE")
	c.ReadUntilTagged("b2")
	c.Send(`b3 GETQUOTAROOT Archive`)
	c.Expect(t, `* QUOTAROOT Archive ""`, `* QUOTA "" (STORAGE 2 2 MESSAGE 2 2 MAILBOX 6 10000)`, "b3 OK *")
}

// TestQuotaMailbox: the MAILBOX resource (RFC 9208 §5.3) counts an
// account's mailboxes against MailboxLimits.MaxMailboxes; CREATE and
// RENAME that would pass it answer NO [OVERQUOTA] and leave nothing
// behind. Without a limit, neither the resource nor its capability.
func TestQuotaMailbox(t *testing.T) {
	l := imaptest.DefaultMailboxLimits()
	l.MaxMailboxes = 8
	srv := imaptest.StartServerLimits(t, l)
	c := srv.Dial(t)
	c.Expect(t, "* OK *")
	c.Send("a LOGIN alice pass")
	c.Expect(t, "a OK [CAPABILITY * QUOTA=RES-MESSAGE QUOTA=RES-MAILBOX *] *")
	for _, step := range [][]string{
		{`GETQUOTA ""`, `* QUOTA "" (MAILBOX 6 8)`, "OK *"},
		{"CREATE a/b/c", "NO [OVERQUOTA] Too many mailboxes (at most 8)"},
		{`GETQUOTA ""`, `* QUOTA "" (MAILBOX 6 8)`, "OK *"},
		{"CREATE a/b", "OK *"},
		{`GETQUOTAROOT a/b`, `* QUOTAROOT a/b ""`, `* QUOTA "" (MAILBOX 8 8)`, "OK *"},
		{"CREATE c", "NO [OVERQUOTA] *"},
		{"RENAME a x/y", "NO [OVERQUOTA] *"},
		{`LIST "" x*`, "OK *"},
		{"RENAME a/b x", "OK *"},
		{"DELETE x", "OK *"},
		{"CREATE c", "OK *"},
	} {
		c.Send("t " + step[0])
		want := append([]string(nil), step[1:len(step)-1]...)
		want = append(want, "t "+step[len(step)-1])
		c.Expect(t, want...)
	}

	l.MaxMailboxes = 0
	srv = imaptest.StartServerLimits(t, l)
	c = srv.Dial(t)
	c.Expect(t, "* OK *")
	c.Send("a LOGIN alice pass")
	if line := c.ReadLine(); strings.Contains(line, "QUOTA=RES-MAILBOX") {
		t.Errorf("QUOTA=RES-MAILBOX advertised without a limit: %q", line)
	}
	c.Send(`b GETQUOTA ""`)
	c.Expect(t, `* QUOTA "" ()`, "b OK *")
}

func TestAuthenticateMechanisms(t *testing.T) {
	srv := imaptest.StartServer(t)

	// SASL LOGIN, with and without an initial response.
	c := srv.Dial(t)
	c.Expect(t, "* OK *")
	c.Send("a1 AUTHENTICATE LOGIN")
	c.Expect(t, "+ "+base64.StdEncoding.EncodeToString([]byte("Username:")))
	c.Send(base64.StdEncoding.EncodeToString([]byte("alice")))
	c.Expect(t, "+ "+base64.StdEncoding.EncodeToString([]byte("Password:")))
	c.Send(base64.StdEncoding.EncodeToString([]byte("wrong")))
	c.Expect(t, "a1 NO [AUTHENTICATIONFAILED] *")
	c.Send("a2 AUTHENTICATE LOGIN " + base64.StdEncoding.EncodeToString([]byte("alice")))
	c.Expect(t, "+ *")
	c.Send(base64.StdEncoding.EncodeToString([]byte("pass")))
	c.Expect(t, "a2 OK [CAPABILITY *] Logged in")

	// SCRAM-SHA-256 with a client written here from RFC 5802.
	for _, tc := range []struct {
		pw   string
		want string
	}{{"wrong", "b1 NO [AUTHENTICATIONFAILED] *"}, {"pass", "b1 OK [CAPABILITY *] Logged in"}} {
		c := srv.Dial(t)
		c.Expect(t, "* OK *")
		bare := "n=alice,r=clientnonce123"
		c.Send("b1 AUTHENTICATE SCRAM-SHA-256 " + base64.StdEncoding.EncodeToString([]byte("n,,"+bare)))
		line := c.ReadLine()
		sf, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(line, "+ "))
		if err != nil || !strings.HasPrefix(line, "+ ") {
			t.Fatalf("server-first %q", line)
		}
		attrs := map[string]string{}
		for _, kv := range strings.Split(string(sf), ",") {
			attrs[kv[:1]] = kv[2:]
		}
		salt, _ := base64.StdEncoding.DecodeString(attrs["s"])
		iter, _ := strconv.Atoi(attrs["i"])
		salted, _ := pbkdf2.Key(sha256.New, tc.pw, salt, iter, 32)
		mac := func(k []byte, s string) []byte { h := hmac.New(sha256.New, k); h.Write([]byte(s)); return h.Sum(nil) }
		ck := mac(salted, "Client Key")
		sk := sha256.Sum256(ck)
		noProof := "c=biws,r=" + attrs["r"]
		am := bare + "," + string(sf) + "," + noProof
		sig := mac(sk[:], am)
		for i := range ck {
			ck[i] ^= sig[i]
		}
		c.Send(base64.StdEncoding.EncodeToString([]byte(noProof + ",p=" + base64.StdEncoding.EncodeToString(ck))))
		if tc.pw == "pass" {
			want := "+ " + base64.StdEncoding.EncodeToString([]byte("v="+base64.StdEncoding.EncodeToString(mac(mac(salted, "Server Key"), am))))
			c.Expect(t, want)
			c.Send("")
		}
		c.Expect(t, tc.want)
	}
}
