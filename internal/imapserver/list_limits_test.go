package imapserver_test

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"rookery/internal/imapserver"
	"rookery/internal/imaptest"
)

// TestListPatternLimits: LIST and LSUB refuse patterns beyond the bounds
// of issue 12 with NO [LIMIT], and accept the pathological patterns of
// the report, whose runs of wildcards collapse to one.
func TestListPatternLimits(t *testing.T) {
	srv := imaptest.StartServer(t)
	c := srv.Dial(t)
	c.ReadLine()
	c.Login("alice", "pass")
	deep := strings.TrimSuffix(strings.Repeat("L/", 60), "/")
	c.Send("a CREATE " + deep)
	c.Expect(t, "a OK *")

	long := strings.Repeat("a", 1024+65) // beyond 1,024 + 64
	many := make([]string, 33)
	for i := range many {
		many[i] = `"x` + strconv.Itoa(i) + `"`
	}
	for _, tc := range []struct{ cmd, want string }{
		{`LIST "" "` + long + `"`, "NO [LIMIT] Pattern too long*"},
		{`LIST "` + long[:600] + `" "` + long[:600] + `"`, "NO [LIMIT] Pattern too long*"},
		{`LSUB "" "` + long + `"`, "NO [LIMIT] Pattern too long*"},
		{`LIST "" (` + strings.Join(many, " ") + `)`, "NO [LIMIT] At most 32 patterns"},
		{`LIST "" ("` + long[:1000] + `" "` + long[:1000] + `" "` + long[:1000] + `")`, "NO [LIMIT] Pattern too long*"},
		// Runs of wildcards count as one: accepted, and quick to answer.
		{`LIST "" "` + strings.Repeat("%*", 2000) + `X"`, "OK LIST completed"},
		{`LSUB "" "` + strings.Repeat("*", 5000) + `"`, "OK LSUB completed"},
		{`LIST "" "` + strings.Repeat("*", 3000) + deep + `"`, "OK LIST completed"},
		// As long as the longest name: accepted.
		{`LIST "" "` + long[:1024] + `"`, "OK LIST completed"},
	} {
		c.Send("b " + tc.cmd)
		lines := c.ReadUntilTagged("b")
		if got := lines[len(lines)-1]; !imaptest.Match("b "+tc.want, got) {
			t.Errorf("%.60s…: %q, want %q", tc.cmd, got, "b "+tc.want)
		}
		if strings.HasPrefix(tc.cmd, `LIST "" "***`) && len(lines) != 2 {
			t.Errorf("%.60s…: %q, want the deepest mailbox", tc.cmd, lines)
		}
	}
}

// TestListStopsOnHangup: a LIST whose client leaves in the middle of its
// walk over the names stops at the next name instead of finishing for
// nobody. The store's Status of StallMailbox holds the walk until the
// hang-up is noticed and then answers as if nothing happened; the names
// after it are subscriptions without a mailbox (no store call), so only
// the walk's own check of the context can stop it.
func TestListStopsOnHangup(t *testing.T) {
	results := make(chan string, 16)
	srv := imaptest.StartServer(t, func(o *imapserver.Options) {
		o.Hooks.Command = func(name, result string, _ time.Duration) {
			if name == "LIST" {
				results <- result
			}
		}
	})
	c := srv.Dial(t)
	c.ReadLine()
	c.Login("alice", "pass")
	c.Send("a CREATE " + imaptest.StallMailbox)
	c.Expect(t, "a OK *")
	c.Send("b SUBSCRIBE " + imaptest.StallMailbox)
	c.Expect(t, "b OK *")
	for i := range 50 {
		c.Send("c SUBSCRIBE zz" + strconv.Itoa(i))
		c.Expect(t, "c OK *")
	}
	c.Send(`d LIST (SUBSCRIBED) "" "*" RETURN (STATUS (MESSAGES))`)
	select {
	case <-srv.Stalled:
	case <-time.After(10 * time.Second):
		t.Fatal("LIST never reached " + imaptest.StallMailbox)
	}
	c.Close()
	select {
	case r := <-results:
		if r != "NO" {
			t.Fatalf("LIST ended with %s after the client left, want NO (cancelled)", r)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("LIST did not end")
	}
}

// mailboxIDRE finds a MAILBOXID in a response.
var mailboxIDRE = regexp.MustCompile(`MAILBOXID \(F(\d+)-(\d+)\)`)

// TestRenameOntoRetiredName: "a" and "a/b" are created together and
// share a UIDVALIDITY; once "a/b" is renamed away, a mailbox with that
// UIDVALIDITY renamed back to "a/b" would let a client's cache of the old
// a/b describe another mailbox, so the store renames it as a new
// incarnation: new MAILBOXID and UIDVALIDITY, same messages, and a
// session that had it selected ends as after DELETE.
func TestRenameOntoRetiredName(t *testing.T) {
	srv := imaptest.StartServer(t)
	c := srv.Dial(t)
	c.ReadLine()
	c.Login("alice", "pass")
	c.Send("a CREATE a/b")
	created := c.ReadUntilTagged("a")
	c.Send("b STATUS a (MAILBOXID)")
	parent := c.ReadUntilTagged("b")
	ab, pa := mailboxIDRE.FindStringSubmatch(created[len(created)-1]), mailboxIDRE.FindStringSubmatch(parent[0])
	if ab == nil || pa == nil {
		t.Fatalf("no MAILBOXID in %q, %q", created, parent)
	}
	if ab[2] != pa[2] {
		t.Skip("a and a/b were created in different seconds")
	}
	c.Send("c RENAME a/b c")
	c.Expect(t, "c OK *")
	c.Send("d APPEND c {3+}\r\nx\r\n")
	c.Expect(t, "d OK *")
	c.Send("e SELECT c")
	c.ReadUntilTagged("e")

	c2 := srv.Dial(t)
	c2.ReadLine()
	c2.Login("alice", "pass")
	c2.Send("f RENAME c a/b")
	c2.Expect(t, "f OK *")
	c2.Send("g STATUS a/b (MAILBOXID UIDVALIDITY MESSAGES)")
	st := c2.ReadUntilTagged("g")
	m := mailboxIDRE.FindStringSubmatch(st[0])
	if m == nil || m[1] == ab[1] || m[2] == ab[2] || !strings.Contains(st[0], "MESSAGES 1") {
		t.Fatalf("a/b after the rename: %q; the first a/b was F%s-%s", st[0], ab[1], ab[2])
	}
	c.Send("h NOOP")
	c.Expect(t, "* BYE Selected mailbox was deleted")
}
