package tests

import (
	"testing"

	"github.com/emersion/go-imap/v2"
)

// TestRestartKeepsUIDs restarts the server on the same data directory, once
// gracefully (SIGTERM) and once by SIGKILL, and checks that UIDVALIDITY and
// UIDNEXT persist and that no UID is ever handed out twice, even the UID of
// the highest, expunged message.
func TestRestartKeepsUIDs(t *testing.T) {
	t.Parallel()
	s := startServer(t, testUser{"persist", "persist secret"})
	msgs := testMessages("restart")

	c := login(t, s, implicitTLS, "persist", nil)
	must(t, c.Create("Keep", nil).Wait(), "CREATE Keep")
	var maxUID imap.UID
	for _, m := range msgs {
		if d := appendMsg(t, c, "Keep", m); d.UID > maxUID {
			maxUID = d.UID
		}
	}
	// Expunge the newest message, so a server that derived UIDNEXT from the
	// highest stored UID would hand its UID out again.
	_, err := c.Select("Keep", nil).Wait()
	must(t, err, "SELECT Keep")
	_, err = c.UIDExpunge(imap.UIDSetNum(maxUID)).Collect()
	must(t, err, "UID EXPUNGE %d (not \\Deleted: nothing happens)", maxUID)
	_, err = c.Store(imap.UIDSetNum(maxUID), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Collect()
	must(t, err, "UID STORE \\Deleted")
	_, err = c.UIDExpunge(imap.UIDSetNum(maxUID)).Collect()
	must(t, err, "UID EXPUNGE %d", maxUID)
	must(t, c.Unselect().Wait(), "UNSELECT")
	before := statusOf(t, c, "Keep")
	inboxBefore := statusOf(t, c, "INBOX")
	checkStatus(t, before, "Keep", 2, 1, maxUID+1, before.UIDValidity, int64(len(msgs[0].raw)+len(msgs[1].raw)))
	must(t, c.Logout().Wait(), "LOGOUT")

	for _, kill := range []bool{false, true} {
		how := "SIGTERM"
		if kill {
			how = "SIGKILL"
		}
		s.restart(kill)
		c := login(t, s, startTLS, "persist", nil)
		after := statusOf(t, c, "Keep")
		checkStatus(t, after, "Keep after "+how, *before.NumMessages, *before.NumUnseen, before.UIDNext, before.UIDValidity, *before.Size)
		inbox := statusOf(t, c, "INBOX")
		if inbox.UIDValidity != inboxBefore.UIDValidity || inbox.UIDNext != inboxBefore.UIDNext {
			t.Errorf("INBOX after %s: UIDVALIDITY %d UIDNEXT %d, was %d %d", how,
				inbox.UIDValidity, inbox.UIDNext, inboxBefore.UIDValidity, inboxBefore.UIDNext)
		}
		d := appendMsg(t, c, "Keep", msgs[2])
		if d.UID <= maxUID || d.UID < before.UIDNext || d.UIDValidity != before.UIDValidity {
			t.Errorf("APPEND after %s: UID %d validity %d; want a UID above %d (UIDNEXT was %d) and validity %d",
				how, d.UID, d.UIDValidity, maxUID, before.UIDNext, before.UIDValidity)
		}
		maxUID = d.UID
		// The surviving messages read back unchanged.
		_, err := c.Select("Keep", &imap.SelectOptions{ReadOnly: true}).Wait()
		must(t, err, "EXAMINE Keep after %s", how)
		got := fetchAll(t, c, imap.SeqSetNum(1, 2))
		if len(got) != 2 {
			t.Fatalf("after %s: FETCH 1:2 returned %d messages", how, len(got))
		}
		for i := range got {
			checkMessage(t, "Keep after "+how, got[i], msgs[i], msgs[i].flags)
		}
		must(t, c.Unselect().Wait(), "UNSELECT")
		before = statusOf(t, c, "Keep")
		must(t, c.Logout().Wait(), "LOGOUT after %s", how)
	}

	// A mailbox deleted and created again under the same name must not let a
	// client mistake new messages for old ones: UIDVALIDITY changes or the
	// UIDs continue above the old ones (RFC 9051 §2.3.1.1).
	c = login(t, s, implicitTLS, "persist", nil)
	old := statusOf(t, c, "Keep")
	must(t, c.Delete("Keep").Wait(), "DELETE Keep")
	must(t, c.Create("Keep", nil).Wait(), "CREATE Keep again")
	d := appendMsg(t, c, "Keep", msgs[0])
	if d.UIDValidity == old.UIDValidity && d.UID < old.UIDNext {
		t.Errorf("recreated Keep: UIDVALIDITY %d unchanged and UID %d below the old UIDNEXT %d", d.UIDValidity, d.UID, old.UIDNext)
	}
	must(t, c.Logout().Wait(), "LOGOUT")
}
