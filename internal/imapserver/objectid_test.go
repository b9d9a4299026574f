package imapserver_test

import (
	"regexp"
	"strings"
	"testing"

	"rookery/internal/imaptest"
)

var mailboxIDRe = regexp.MustCompile(`MAILBOXID \((F[0-9A-Za-z_-]+)\)`)

// mailboxID returns the MAILBOXID in the first of lines that has one.
func mailboxID(t *testing.T, lines []string) string {
	t.Helper()
	for _, l := range lines {
		if m := mailboxIDRe.FindStringSubmatch(l); m != nil {
			return m[1]
		}
	}
	t.Fatalf("no MAILBOXID in %q", lines)
	return ""
}

// TestMailboxIDStable checks RFC 8474 §4: the MAILBOXID of CREATE, SELECT
// and STATUS agree, RENAME keeps it, a mailbox created again under a
// deleted one's name gets a new one, and renaming INBOX leaves INBOX its
// own while the new mailbox gets a new one.
func TestMailboxIDStable(t *testing.T) {
	srv := imaptest.StartServer(t)
	c := srv.Dial(t)
	c.ReadLine()
	c.Login("alice", imaptest.Users["alice"])
	get := func(tag, cmd string) string {
		t.Helper()
		c.Send(tag + " " + cmd)
		return mailboxID(t, c.ReadUntilTagged(tag))
	}
	created := get("a1", "CREATE Projects")
	if s := get("a2", "STATUS Projects (MAILBOXID)"); s != created {
		t.Errorf("STATUS %s, CREATE %s", s, created)
	}
	if s := get("a3", "EXAMINE Projects"); s != created {
		t.Errorf("EXAMINE %s, CREATE %s", s, created)
	}
	c.Send("a4 UNSELECT")
	c.ReadUntilTagged("a4")
	c.Send("a5 RENAME Projects Work")
	c.ReadUntilTagged("a5")
	if s := get("a6", "STATUS Work (MAILBOXID)"); s != created {
		t.Errorf("after RENAME %s, before %s", s, created)
	}
	c.Send("a7 DELETE Work")
	c.ReadUntilTagged("a7")
	if again := get("a8", "CREATE Work"); again == created {
		t.Errorf("a new mailbox reuses MAILBOXID %s", again)
	}
	inbox := get("b1", "STATUS INBOX (MAILBOXID)")
	c.Send("b2 RENAME INBOX Old")
	if l := c.ReadUntilTagged("b2"); !strings.HasPrefix(l[len(l)-1], "b2 OK") {
		t.Fatalf("RENAME INBOX: %q", l)
	}
	if s := get("b3", "STATUS INBOX (MAILBOXID)"); s != inbox {
		t.Errorf("INBOX after RENAME INBOX %s, before %s", s, inbox)
	}
	if s := get("b4", "STATUS Old (MAILBOXID)"); s == inbox {
		t.Errorf("the mailbox made by RENAME INBOX has INBOX's MAILBOXID %s", s)
	}
}
