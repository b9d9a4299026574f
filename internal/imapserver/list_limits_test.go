package imapserver_test

import (
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
