package imapserver_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"rookery/internal/imaptest"
)

// TestDatabaseConnectionsLost: a session whose PostgreSQL store lost
// every connection gets, for each command, a correct answer or NO
// [UNAVAILABLE], never another failure; the commands after work.
func TestDatabaseConnectionsLost(t *testing.T) {
	srv := imaptest.StartServerOn(t, imaptest.Postgres, imaptest.DefaultMailboxLimits())
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, srv.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	c := srv.Dial(t)
	defer c.Close()
	c.Expect(t, "* OK *")
	c.Login("alice", "pass")
	c.Send(`A APPEND INBOX {20+}`)
	c.Send("Subject: x\r\n\r\nbody\r\n")
	c.Expect(t, "A OK *")
	c.Send("S SELECT INBOX")
	for _, l := range c.ReadUntilTagged("S") {
		if strings.HasPrefix(l, "S ") && !strings.HasPrefix(l, "S OK") {
			t.Fatalf("SELECT: %s", l)
		}
	}
	cmds := []string{"STATUS Sent (MESSAGES UIDNEXT)", "UID FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])",
		"UID STORE 1 +FLAGS (\\Flagged)", "NOOP", "LIST \"\" *"}
	for round := range 3 {
		if _, err := admin.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
			WHERE datname = current_database() AND pid <> pg_backend_pid()
				AND backend_type = 'client backend' AND usename = current_user`); err != nil {
			t.Fatalf("terminate backends: %v", err)
		}
		for i, cmd := range cmds {
			tag := fmt.Sprintf("T%d.%d", round, i)
			c.Sendf("%s %s", tag, cmd)
			lines := c.ReadUntilTagged(tag)
			last := lines[len(lines)-1]
			if !strings.HasPrefix(last, tag+" OK") && !strings.HasPrefix(last, tag+" NO [UNAVAILABLE]") {
				t.Fatalf("%s after the connections were lost: %s", cmd, last)
			}
		}
		// And once more: all work now.
		for i, cmd := range cmds {
			tag := fmt.Sprintf("U%d.%d", round, i)
			c.Sendf("%s %s", tag, cmd)
			lines := c.ReadUntilTagged(tag)
			if last := lines[len(lines)-1]; !strings.HasPrefix(last, tag+" OK") {
				t.Fatalf("%s once more: %s", cmd, last)
			}
		}
	}
}
