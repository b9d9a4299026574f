package imapserver_test

import (
	"context"
	"regexp"
	"testing"
	"time"

	"rookery/internal/imaptest"
)

// deadline bounds raw reads in tests.
func deadline() time.Time { return time.Now().Add(imaptest.ReadTimeout) }

var uidValidityRE = regexp.MustCompile(`UIDVALIDITY ([0-9]+)`)

// statusUIDValidity returns the UIDVALIDITY STATUS reports for name.
func statusUIDValidity(t *testing.T, c *imaptest.Client, tag, name string) string {
	t.Helper()
	c.Sendf("%s STATUS %s (UIDVALIDITY)", tag, name)
	lines := c.ReadUntilTagged(tag)
	if len(lines) != 2 || lines[1] != tag+" OK STATUS completed" {
		t.Fatalf("STATUS %s: %q", name, lines)
	}
	m := uidValidityRE.FindStringSubmatch(lines[0])
	if m == nil {
		t.Fatalf("STATUS %s: no UIDVALIDITY in %q", name, lines[0])
	}
	return m[1]
}

// TestUIDValidityAfterRecreate: a mailbox deleted and created again under
// the same name gets a new UIDVALIDITY (RFC 9051 §2.3.1.1), as does a
// \Noselect placeholder made selectable again.
func TestUIDValidityAfterRecreate(t *testing.T) {
	srv := imaptest.StartServer(t)
	c := srv.Dial(t)
	c.ReadLine()
	c.Login("alice", "pass")
	c.Send("a1 CREATE box")
	c.Expect(t, "a1 OK [MAILBOXID (F*)] CREATE completed")
	v1 := statusUIDValidity(t, c, "a2", "box")
	c.Send("a3 DELETE box")
	c.Expect(t, "a3 OK DELETE completed")
	c.Send("a4 CREATE box")
	c.Expect(t, "a4 OK [MAILBOXID (F*)] CREATE completed")
	v2 := statusUIDValidity(t, c, "a5", "box")
	if v1 == v2 {
		t.Errorf("UIDVALIDITY %s unchanged after DELETE and CREATE", v1)
	}
	// Renaming keeps it.
	c.Send("a6 RENAME box box2")
	c.Expect(t, "a6 OK RENAME completed")
	if v3 := statusUIDValidity(t, c, "a7", "box2"); v3 != v2 {
		t.Errorf("UIDVALIDITY changed by RENAME: %s then %s", v2, v3)
	}
	// A placeholder left by DELETE of a parent, created again.
	c.Send("a8 CREATE p/q")
	c.Expect(t, "a8 OK [MAILBOXID (F*)] CREATE completed")
	p1 := statusUIDValidity(t, c, "a9", "p")
	c.Send("b1 DELETE p")
	c.Expect(t, "b1 OK DELETE completed")
	c.Send("b2 CREATE p")
	c.Expect(t, "b2 OK [MAILBOXID (F*)] CREATE completed")
	if p2 := statusUIDValidity(t, c, "b3", "p"); p1 == p2 {
		t.Errorf("UIDVALIDITY %s unchanged after DELETE and CREATE of a parent", p1)
	}
}

// TestShutdown: an idle session is told BYE and closed; Shutdown returns
// once every session has ended.
func TestShutdown(t *testing.T) {
	srv := imaptest.StartServer(t)
	c := srv.Dial(t)
	c.ReadLine()
	c.Login("alice", "pass")
	c.Send("a1 SELECT INBOX")
	c.ReadUntilTagged("a1")
	pre := srv.Dial(t)
	pre.ReadLine()
	ctx, cancel := context.WithTimeout(context.Background(), imaptest.ReadTimeout)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	c.Expect(t, "* BYE Server shutting down")
	c.ExpectEOF()
	pre.Expect(t, "* BYE Server shutting down")
	pre.ExpectEOF()
}
