package tests

import (
	"bufio"
	"bytes"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// TestWorkflow runs the full client workflow over implicit TLS and over
// plaintext + STARTTLS, each as its own user on one server.
func TestWorkflow(t *testing.T) {
	t.Parallel()
	s := startServer(t, testUser{"tls-user", "tls secret"}, testUser{"starttls-user", "starttls secret"})
	for _, tc := range []struct {
		mode dialMode
		user string
	}{{implicitTLS, "tls-user"}, {startTLS, "starttls-user"}} {
		t.Run(tc.mode.String(), func(t *testing.T) {
			t.Parallel()
			workflow(t, s, tc.mode, tc.user)
		})
	}
}

func workflow(t *testing.T, s *serverProc, mode dialMode, user string) {
	c := dial(t, s, mode, nil)

	// Before login: a wrong password fails, then capabilities.
	if err := c.Login(user, "wrong password").Wait(); err == nil {
		t.Fatal("LOGIN with a wrong password succeeded")
	}
	caps, err := c.Capability().Wait()
	must(t, err, "CAPABILITY")
	for _, want := range []imap.Cap{imap.CapIMAP4rev1, imap.CapIMAP4rev2} {
		if _, ok := caps[want]; !ok {
			t.Errorf("CAPABILITY before login lacks %s: %v", want, caps)
		}
	}
	if _, ok := caps[imap.CapStartTLS]; ok {
		t.Errorf("CAPABILITY lists STARTTLS on a connection that is already TLS: %v", caps)
	}
	must(t, c.Login(user, s.users[user]).Wait(), "LOGIN")
	caps, err = c.Capability().Wait()
	must(t, err, "CAPABILITY after login")
	for _, want := range []imap.Cap{imap.CapIMAP4rev1, imap.CapIMAP4rev2, imap.CapUIDPlus, imap.CapMove, imap.CapSpecialUse} {
		if _, ok := caps[want]; !ok {
			t.Errorf("CAPABILITY after login lacks %s: %v", want, caps)
		}
	}

	t.Run("list", func(t *testing.T) { checkDefaultMailboxes(t, c) })
	t.Run("mailboxes", func(t *testing.T) { mailboxLifecycle(t, c) })
	t.Run("messages", func(t *testing.T) { messageLifecycle(t, c) })

	must(t, c.Logout().Wait(), "LOGOUT")
}

// checkDefaultMailboxes checks the mailboxes every new account has.
func checkDefaultMailboxes(t *testing.T, c *imapclient.Client) {
	mboxes := listMailboxes(t, c, &imap.ListOptions{ReturnSpecialUse: true})
	want := map[string]imap.MailboxAttr{
		"INBOX": "", "Drafts": imap.MailboxAttrDrafts, "Sent": imap.MailboxAttrSent,
		"Trash": imap.MailboxAttrTrash, "Junk": imap.MailboxAttrJunk, "Archive": imap.MailboxAttrArchive,
	}
	for name, attr := range want {
		l, ok := mboxes[name]
		switch {
		case !ok:
			t.Errorf("LIST lacks %s; got %v", name, keys(mboxes))
		case attr != "" && !hasAttr(l.Attrs, attr):
			t.Errorf("LIST %s: attributes %v lack %s", name, l.Attrs, attr)
		case l.Delim != '/':
			t.Errorf("LIST %s: delimiter %q, want '/'", name, l.Delim)
		}
	}
	// A plain LIST (no RETURN options) names the same mailboxes.
	plain := listMailboxes(t, c, nil)
	for name := range want {
		if _, ok := plain[name]; !ok {
			t.Errorf("plain LIST lacks %s; got %v", name, keys(plain))
		}
	}
	// LIST "" "" returns the hierarchy delimiter.
	root, err := c.List("", "", nil).Collect()
	must(t, err, `LIST "" ""`)
	if len(root) != 1 || root[0].Delim != '/' {
		t.Errorf(`LIST "" "": got %+v, want one entry with delimiter '/'`, root)
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// mailboxLifecycle creates, renames, subscribes and deletes a nested mailbox.
func mailboxLifecycle(t *testing.T, c *imapclient.Client) {
	must(t, c.Create("Projects", nil).Wait(), "CREATE Projects")
	must(t, c.Create("Projects/Alpha", nil).Wait(), "CREATE Projects/Alpha")
	wantCode(t, c.Create("Projects/Alpha", nil).Wait(), imap.ResponseCodeAlreadyExists, "CREATE of an existing mailbox")

	m := listMailboxes(t, c, nil)
	if l := m["Projects"]; l == nil || !hasAttr(l.Attrs, imap.MailboxAttrHasChildren) {
		t.Errorf("LIST Projects: %+v, want \\HasChildren", l)
	}
	if l := m["Projects/Alpha"]; l == nil || !hasAttr(l.Attrs, imap.MailboxAttrHasNoChildren) {
		t.Errorf("LIST Projects/Alpha: %+v, want \\HasNoChildren", l)
	}

	must(t, c.Rename("Projects/Alpha", "Projects/Beta", nil).Wait(), "RENAME Projects/Alpha")
	must(t, c.Rename("Projects", "Work", nil).Wait(), "RENAME Projects")
	wantCode(t, c.Rename("Nowhere", "Elsewhere", nil).Wait(), imap.ResponseCodeNonExistent, "RENAME of a missing mailbox")
	m = listMailboxes(t, c, nil)
	for _, gone := range []string{"Projects", "Projects/Alpha", "Projects/Beta"} {
		if _, ok := m[gone]; ok {
			t.Errorf("LIST still shows %s after the renames", gone)
		}
	}
	for _, there := range []string{"Work", "Work/Beta"} {
		if _, ok := m[there]; !ok {
			t.Errorf("LIST lacks %s after the renames (renaming a parent moves its children); got %v", there, keys(m))
		}
	}
	pat, err := c.List("", "Work/%", nil).Collect()
	must(t, err, `LIST "" "Work/%%"`)
	if len(pat) != 1 || pat[0].Mailbox != "Work/Beta" {
		t.Errorf(`LIST "" "Work/%%": %+v, want only Work/Beta`, pat)
	}

	must(t, c.Subscribe("Work").Wait(), "SUBSCRIBE Work")
	subs := listMailboxes(t, c, &imap.ListOptions{SelectSubscribed: true})
	if l := subs["Work"]; l == nil || !hasAttr(l.Attrs, imap.MailboxAttrSubscribed) {
		t.Errorf("LIST (SUBSCRIBED): Work is %+v, want it with \\Subscribed", l)
	}
	if _, ok := subs["Work/Beta"]; ok {
		t.Errorf("LIST (SUBSCRIBED) shows the unsubscribed Work/Beta")
	}
	must(t, c.Unsubscribe("Work").Wait(), "UNSUBSCRIBE Work")
	if _, ok := listMailboxes(t, c, &imap.ListOptions{SelectSubscribed: true})["Work"]; ok {
		t.Errorf("LIST (SUBSCRIBED) still shows Work after UNSUBSCRIBE")
	}

	must(t, c.Delete("Work/Beta").Wait(), "DELETE Work/Beta")
	must(t, c.Delete("Work").Wait(), "DELETE Work")
	wantCode(t, c.Delete("Work").Wait(), imap.ResponseCodeNonExistent, "DELETE of a deleted mailbox")
	if err := c.Delete("INBOX").Wait(); err == nil {
		t.Errorf("DELETE INBOX succeeded")
	}
	m = listMailboxes(t, c, nil)
	for _, gone := range []string{"Work", "Work/Beta"} {
		if _, ok := m[gone]; ok {
			t.Errorf("LIST still shows %s after DELETE", gone)
		}
	}
	if _, err := c.Select("Work", nil).Wait(); err == nil {
		t.Errorf("SELECT of a deleted mailbox succeeded")
	} else {
		wantCode(t, err, imap.ResponseCodeNonExistent, "SELECT of a deleted mailbox")
	}
}

// messageLifecycle appends, fetches, stores, copies, moves and expunges.
func messageLifecycle(t *testing.T, c *imapclient.Client) {
	msgs := testMessages("workflow")
	before := statusOf(t, c, "INBOX")

	var uids []imap.UID
	var uidValidity uint32
	for i, m := range msgs {
		d := appendMsg(t, c, "INBOX", m)
		if i > 0 && d.UID <= uids[i-1] {
			t.Errorf("APPENDUID %d after %d: UIDs must ascend", d.UID, uids[i-1])
		}
		if i > 0 && d.UIDValidity != uidValidity {
			t.Errorf("APPENDUID validity changed: %d then %d", uidValidity, d.UIDValidity)
		}
		if d.UID < before.UIDNext {
			t.Errorf("APPENDUID %d below the UIDNEXT %d seen before", d.UID, before.UIDNext)
		}
		uids, uidValidity = append(uids, d.UID), d.UIDValidity
	}
	if uidValidity != before.UIDValidity {
		t.Errorf("APPENDUID validity %d, STATUS said %d", uidValidity, before.UIDValidity)
	}
	wantCode(t, appendErr(c, "NoSuchMailbox", msgs[0]), imap.ResponseCodeTryCreate, "APPEND to a missing mailbox")

	sel, err := c.Select("INBOX", nil).Wait()
	must(t, err, "SELECT INBOX")
	if sel.NumMessages != 3 || sel.UIDValidity != uidValidity || sel.UIDNext != uids[2]+1 {
		t.Errorf("SELECT INBOX: %d messages, UIDVALIDITY %d, UIDNEXT %d; want 3, %d, %d",
			sel.NumMessages, sel.UIDValidity, sel.UIDNext, uidValidity, uids[2]+1)
	}
	if !hasFlag(sel.PermanentFlags, imap.FlagWildcard) {
		t.Errorf("PERMANENTFLAGS %v lack \\*", sel.PermanentFlags)
	}

	// Fetch everything by sequence number; content round-trips exactly.
	got := fetchAll(t, c, imap.SeqSetNum(1, 2, 3))
	if len(got) != 3 {
		t.Fatalf("FETCH 1:3 returned %d messages", len(got))
	}
	for i, g := range got {
		if g.SeqNum != uint32(i+1) || g.UID != uids[i] {
			t.Errorf("FETCH message %d: seq %d UID %d, want seq %d UID %d", i, g.SeqNum, g.UID, i+1, uids[i])
		}
		checkMessage(t, "INBOX message "+string(rune('1'+i)), g, msgs[i], msgs[i].flags)
	}

	// Sections: partial, HEADER, TEXT, and RFC822.SIZE by UID.
	big := msgs[2]
	sections := []*imap.FetchItemBodySection{
		{Peek: true, Partial: &imap.SectionPartial{Offset: 0, Size: 10}},
		{Peek: true, Partial: &imap.SectionPartial{Offset: 100000, Size: 70000}},
		{Peek: true, Specifier: imap.PartSpecifierHeader},
		{Peek: true, Specifier: imap.PartSpecifierText},
	}
	parts, err := c.Fetch(imap.UIDSetNum(uids[2]), &imap.FetchOptions{UID: true, BodySection: sections}).Collect()
	must(t, err, "UID FETCH sections")
	if len(parts) != 1 {
		t.Fatalf("UID FETCH %d: %d messages", uids[2], len(parts))
	}
	for i, want := range [][]byte{big.raw[:10], big.raw[100000:170000], big.header(), big.text()} {
		if b := parts[0].FindBodySection(sections[i]); !bytes.Equal(b, want) {
			t.Errorf("BODY.PEEK section %d (%+v): %d bytes, want %d%s", i, sections[i], len(b), len(want), firstDiff(b, want))
		}
	}

	// A non-peek BODY[TEXT] sets \Seen on the unseen message 3.
	_, err = c.Fetch(imap.UIDSetNum(uids[2]), &imap.FetchOptions{
		BodySection: []*imap.FetchItemBodySection{{Specifier: imap.PartSpecifierText, Partial: &imap.SectionPartial{Size: 5}}},
	}).Collect()
	must(t, err, "FETCH BODY[TEXT]<0.5>")
	flags := fetchFlags(t, c, uids[2])
	if !hasFlag(flags, imap.FlagSeen) {
		t.Errorf("FLAGS after FETCH BODY[TEXT]: %v, want \\Seen", flags)
	}

	// STORE: add and remove flags; .SILENT returns nothing.
	stored, err := c.Store(imap.UIDSetNum(uids[2]), &imap.StoreFlags{
		Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagFlagged, "$Label2"},
	}, nil).Collect()
	must(t, err, "UID STORE +FLAGS")
	if len(stored) != 1 || !sameFlags(stored[0].Flags, []imap.Flag{imap.FlagSeen, imap.FlagFlagged, "$Label2"}) {
		t.Errorf("UID STORE +FLAGS: %+v, want one FETCH with (\\Seen \\Flagged $Label2)", stored)
	}
	stored, err = c.Store(imap.SeqSetNum(1), &imap.StoreFlags{
		Op: imap.StoreFlagsDel, Flags: []imap.Flag{imap.FlagSeen},
	}, nil).Collect()
	must(t, err, "STORE 1 -FLAGS")
	if len(stored) != 1 || !sameFlags(stored[0].Flags, []imap.Flag{"$Label1"}) {
		t.Errorf("STORE 1 -FLAGS (\\Seen): %+v, want (\\$Label1)", stored)
	}
	stored, err = c.Store(imap.SeqSetNum(2), &imap.StoreFlags{
		Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagAnswered},
	}, nil).Collect()
	must(t, err, "STORE 2 +FLAGS.SILENT")
	if len(stored) != 0 {
		t.Errorf("STORE +FLAGS.SILENT returned %d FETCH responses", len(stored))
	}
	msgs[0].flags = []imap.Flag{"$Label1"}
	msgs[1].flags = []imap.Flag{imap.FlagFlagged, imap.FlagAnswered}
	msgs[2].flags = []imap.Flag{imap.FlagSeen, imap.FlagFlagged, "$Label2"}
	for i, uid := range uids {
		if f := fetchFlags(t, c, uid); !sameFlags(f, msgs[i].flags) {
			t.Errorf("FLAGS of UID %d: %v, want %v", uid, f, msgs[i].flags)
		}
	}

	// COPY message 1 to Archive (COPYUID).
	archive := statusOf(t, c, "Archive")
	cp, err := c.Copy(imap.UIDSetNum(uids[0]), "Archive").Wait()
	must(t, err, "UID COPY to Archive")
	checkCopyUID(t, "UID COPY", cp.UIDValidity, cp.SourceUIDs, cp.DestUIDs, archive, uids[0])
	_, err = c.Copy(imap.UIDSetNum(uids[0]), "NoSuchMailbox").Wait()
	wantCode(t, err, imap.ResponseCodeTryCreate, "COPY to a missing mailbox")

	// MOVE message 2 to Trash: it leaves INBOX (EXPUNGE) and keeps its data.
	trash := statusOf(t, c, "Trash")
	mv, err := c.Move(imap.UIDSetNum(uids[1]), "Trash").Wait()
	must(t, err, "UID MOVE to Trash")
	src, _ := mv.SourceUIDs.(imap.UIDSet)
	dst, _ := mv.DestUIDs.(imap.UIDSet)
	checkCopyUID(t, "UID MOVE", mv.UIDValidity, src, dst, trash, uids[1])
	if n := c.Mailbox().NumMessages; n != 2 {
		t.Errorf("after MOVE the client counts %d messages in INBOX, want 2", n)
	}

	// EXPUNGE message 3 (now sequence number 2).
	_, err = c.Store(imap.UIDSetNum(uids[2]), &imap.StoreFlags{
		Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted},
	}, nil).Collect()
	must(t, err, "UID STORE +FLAGS.SILENT \\Deleted")
	expunged, err := c.Expunge().Collect()
	must(t, err, "EXPUNGE")
	if len(expunged) != 1 || expunged[0] != 2 {
		t.Errorf("EXPUNGE reported %v, want [2]", expunged)
	}
	left := fetchAll(t, c, imap.SeqSetNum(1))
	if n := c.Mailbox().NumMessages; n != 1 {
		t.Errorf("after EXPUNGE the client counts %d messages in INBOX, want 1", n)
	}
	if len(left) != 1 || left[0].UID != uids[0] {
		t.Fatalf("INBOX after MOVE and EXPUNGE: %d messages, want only UID %d", len(left), uids[0])
	}
	checkMessage(t, "INBOX survivor", left[0], msgs[0], msgs[0].flags)
	must(t, c.Unselect().Wait(), "UNSELECT")

	// STATUS of the three mailboxes.
	checkStatus(t, statusOf(t, c, "INBOX"), "INBOX", 1, 1, uids[2]+1, uidValidity, int64(len(msgs[0].raw)))
	checkStatus(t, statusOf(t, c, "Archive"), "Archive", 1, 1, 0, archive.UIDValidity, int64(len(msgs[0].raw)))
	checkStatus(t, statusOf(t, c, "Trash"), "Trash", 1, 1, 0, trash.UIDValidity, int64(len(msgs[1].raw)))

	// The copy and the moved message read back with their flags and dates.
	for _, mb := range []struct {
		name string
		msg  testMessage
	}{{"Archive", msgs[0]}, {"Trash", msgs[1]}} {
		sel, err := c.Select(mb.name, &imap.SelectOptions{ReadOnly: true}).Wait()
		must(t, err, "EXAMINE %s", mb.name)
		if sel.NumMessages != 1 {
			t.Errorf("EXAMINE %s: %d messages, want 1", mb.name, sel.NumMessages)
			continue
		}
		got := fetchAll(t, c, imap.SeqSetNum(1))
		if len(got) != 1 {
			t.Errorf("FETCH 1 in %s: %d messages", mb.name, len(got))
			continue
		}
		checkMessage(t, mb.name, got[0], mb.msg, mb.msg.flags)
	}
	must(t, c.Unselect().Wait(), "UNSELECT")
}

func appendErr(c *imapclient.Client, mailbox string, m testMessage) error {
	cmd := c.Append(mailbox, int64(len(m.raw)), nil)
	_, _ = cmd.Write(m.raw)
	_ = cmd.Close()
	_, err := cmd.Wait()
	return err
}

func fetchFlags(t testing.TB, c *imapclient.Client, uid imap.UID) []imap.Flag {
	t.Helper()
	got, err := c.Fetch(imap.UIDSetNum(uid), &imap.FetchOptions{UID: true, Flags: true}).Collect()
	must(t, err, "UID FETCH %d FLAGS", uid)
	if len(got) != 1 {
		t.Fatalf("UID FETCH %d FLAGS: %d messages", uid, len(got))
	}
	return got[0].Flags
}

func checkCopyUID(t testing.TB, what string, validity uint32, src, dst imap.UIDSet, dest *imap.StatusData, uid imap.UID) {
	t.Helper()
	srcUIDs, _ := src.Nums()
	dstUIDs, _ := dst.Nums()
	if validity != dest.UIDValidity || len(srcUIDs) != 1 || srcUIDs[0] != uid || len(dstUIDs) != 1 || dstUIDs[0] < dest.UIDNext {
		t.Errorf("%s: COPYUID %d %v %v; want validity %d, source %d, a destination UID >= %d",
			what, validity, src, dst, dest.UIDValidity, uid, dest.UIDNext)
	}
}

func checkStatus(t testing.TB, st *imap.StatusData, name string, messages, unseen uint32, uidNext imap.UID, uidValidity uint32, size int64) {
	t.Helper()
	if *st.NumMessages != messages || *st.NumUnseen != unseen || st.UIDValidity != uidValidity || *st.Size != size ||
		(uidNext != 0 && st.UIDNext != uidNext) {
		t.Errorf("STATUS %s: MESSAGES %d UNSEEN %d UIDNEXT %d UIDVALIDITY %d SIZE %d; want %d %d %d %d %d (UIDNEXT 0 = any)",
			name, *st.NumMessages, *st.NumUnseen, st.UIDNext, st.UIDValidity, *st.Size,
			messages, unseen, uidNext, uidValidity, size)
	}
}

// TestSTARTTLSAdvertised reads the plaintext greeting by hand: it must offer
// STARTTLS, and a STARTTLS command must be accepted.
func TestSTARTTLSAdvertised(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	conn, err := net.DialTimeout("tcp", s.imapAddr, 5*time.Second)
	must(t, err, "dial")
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	r := bufio.NewReader(conn)
	greeting, err := r.ReadString('\n')
	must(t, err, "greeting")
	if _, err := conn.Write([]byte("a1 CAPABILITY\r\n")); err != nil {
		t.Fatal(err)
	}
	var capLine string
	for {
		line, err := r.ReadString('\n')
		must(t, err, "CAPABILITY response")
		if strings.HasPrefix(line, "* CAPABILITY ") {
			capLine = line
		}
		if strings.HasPrefix(line, "a1 ") {
			if !strings.HasPrefix(line, "a1 OK") {
				t.Fatalf("CAPABILITY: %q", line)
			}
			break
		}
	}
	for _, want := range []string{"IMAP4rev1", "IMAP4rev2", "STARTTLS"} {
		if !strings.Contains(" "+strings.TrimSpace(capLine)+" ", " "+want+" ") {
			t.Errorf("plaintext CAPABILITY %q lacks %s (greeting %q)", capLine, want, greeting)
		}
	}
}
