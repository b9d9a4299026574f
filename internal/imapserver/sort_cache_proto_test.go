package imapserver_test

import (
	"strconv"
	"strings"
	"testing"

	"rookery/internal/imaptest"
)

// TestSortAfterChanges checks SORT and THREAD answers (served from the
// server's sort cache after the first) stay right across expunges and new
// messages, also for another session and after the mailbox is recreated.
func TestSortAfterChanges(t *testing.T) {
	srv := imaptest.StartServer(t)
	c := srv.Dial(t)
	c.Expect(t, "* OK *")
	c.Login("alice", "pass")
	appendMsg := func(tag, subject, date string) {
		t.Helper()
		msg := "Subject: " + subject + "\r\nDate: " + date + "\r\n\r\nx\r\n"
		c.Send(tag + " APPEND Box {" + strconv.Itoa(len(msg)) + "+}\r\n" + msg)
		lines := c.ReadUntilTagged(tag)
		if !strings.HasPrefix(lines[len(lines)-1], tag+" OK ") {
			t.Fatalf("APPEND: %s", lines[len(lines)-1])
		}
	}
	c.Send("a0 CREATE Box")
	c.Expect(t, "a0 OK *")
	appendMsg("a1", "b", "Mon, 2 Mar 2026 10:00:00 +0000")
	appendMsg("a2", "c", "Sun, 1 Mar 2026 10:00:00 +0000")
	appendMsg("a3", "a", "Tue, 3 Mar 2026 10:00:00 +0000")
	c.Send("a4 SELECT Box")
	c.ReadUntilTagged("a4")
	c.Send("a5 UID SORT (DATE) UTF-8 ALL")
	c.Expect(t, "* SORT 2 1 3", "a5 OK *")
	c.Send("a6 UID SORT (SUBJECT) UTF-8 ALL")
	c.Expect(t, "* SORT 3 1 2", "a6 OK *")
	c.Send("a7 UID THREAD REFERENCES UTF-8 ALL")
	c.Expect(t, "* THREAD (2)(1)(3)", "a7 OK *")

	// Expunge UID 2, add UID 4 dated earliest.
	c.Send("b1 UID STORE 2 +FLAGS.SILENT (\\Deleted)")
	c.Expect(t, "b1 OK *")
	c.Send("b2 EXPUNGE")
	c.ReadUntilTagged("b2")
	appendMsg("b3", "d", "Sat, 28 Feb 2026 10:00:00 +0000")
	c.Send("b4 NOOP")
	c.ReadUntilTagged("b4")
	c.Send("b5 UID SORT (DATE) UTF-8 ALL")
	c.Expect(t, "* SORT 4 1 3", "b5 OK *")
	c.Send("b6 SORT (REVERSE SUBJECT) UTF-8 ALL")
	c.Expect(t, "* SORT 3 1 2", "b6 OK *")
	c.Send("b7 UID THREAD REFERENCES UTF-8 ALL")
	c.Expect(t, "* THREAD (4)(1)(3)", "b7 OK *")

	// Another session sees the same.
	d := srv.Dial(t)
	d.Expect(t, "* OK *")
	d.Login("alice", "pass")
	d.Send("c1 EXAMINE Box")
	d.ReadUntilTagged("c1")
	d.Send("c2 UID SORT (DATE) UTF-8 ALL")
	d.Expect(t, "* SORT 4 1 3", "c2 OK *")
	d.Send("c3 LOGOUT")
	d.ReadUntilTagged("c3")

	// A mailbox deleted and created again has new UIDs for new messages.
	c.Send("e1 UNSELECT")
	c.Expect(t, "e1 OK *")
	c.Send("e2 DELETE Box")
	c.Expect(t, "e2 OK *")
	c.Send("e3 CREATE Box")
	c.Expect(t, "e3 OK *")
	appendMsg("e4", "z", "Tue, 3 Mar 2026 10:00:00 +0000")
	appendMsg("e5", "y", "Mon, 2 Mar 2026 10:00:00 +0000")
	c.Send("e6 SELECT Box")
	c.ReadUntilTagged("e6")
	c.Send("e7 UID SORT (DATE) UTF-8 ALL")
	c.Expect(t, "* SORT 2 1", "e7 OK *")
}
