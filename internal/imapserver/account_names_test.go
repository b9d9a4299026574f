package imapserver_test

import (
	"encoding/base64"
	"testing"

	"rookery/internal/imaptest"
)

// TestAccountNamesCaseInsensitive logs in to alice under other spellings of
// her name with every mechanism (account names are compared by
// store.CanonicalAccountName), and checks that the session is hers.
func TestAccountNamesCaseInsensitive(t *testing.T) {
	srv := imaptest.StartServer(t)
	// A message only alice has, to tell whose session it is.
	seed := srv.Dial(t)
	seed.Expect(t, "* OK *")
	seed.Login("alice", "pass")
	seed.Send("a1 CREATE OnlyAlice")
	seed.Expect(t, "a1 OK *")

	isAlice := func(t *testing.T, c *imaptest.Client) {
		t.Helper()
		c.Send("z1 STATUS OnlyAlice (MESSAGES)")
		c.Expect(t, "* STATUS OnlyAlice (MESSAGES 0)", "z1 OK *")
	}
	plain := func(authz, user, pw string) string {
		return base64.StdEncoding.EncodeToString([]byte(authz + "\x00" + user + "\x00" + pw))
	}
	for _, name := range []string{"ALICE", "Alice", "ａｌｉｃｅ"} {
		t.Run(name, func(t *testing.T) {
			c := srv.Dial(t)
			c.Expect(t, "* OK *")
			c.Send("l1 LOGIN \"" + name + "\" pass")
			c.Expect(t, "l1 OK [CAPABILITY *] Logged in")
			isAlice(t, c)

			c = srv.Dial(t)
			c.Expect(t, "* OK *")
			c.Send("p1 AUTHENTICATE PLAIN " + plain(name, name, "pass"))
			c.Expect(t, "p1 OK [CAPABILITY *] Logged in")
			isAlice(t, c)

			c = srv.DialTLS(t)
			c.Expect(t, "* OK *")
			if got := scramLogin(t, c, tagged, "SCRAM-SHA-256", name, "pass", "n,,", nil); !imaptest.Match(okLoggedIn, got) {
				t.Fatalf("SCRAM as %s: %q", name, got)
			}
			isAlice(t, c)
		})
	}
	// Wrong passwords still fail under every spelling.
	c := srv.Dial(t)
	c.Expect(t, "* OK *")
	c.Send("w1 LOGIN ALICE wrong")
	c.Expect(t, "w1 NO [AUTHENTICATIONFAILED] *")
}
