package imapserver_test

import (
	"context"
	"encoding/base64"
	"slices"
	"strconv"
	"strings"
	"testing"

	"rookery/internal/imapcmd"
	"rookery/internal/imaptest"
	"rookery/internal/store"
)

// probe exercises one capability on a fresh server: the commands run in
// order (after login, an APPEND of one message and SELECT INBOX, unless
// preauth), each must end in OK, and every want must be a prefix of some
// untagged line they produced. In a command, "\r\n" is sent as it is (a
// non-synchronizing literal) and "⏎" waits for a continuation request
// before the rest is sent.
type probe struct {
	preauth bool
	cmds    []string
	want    []string
}

// capabilityProbes has an entry for every capability the server can
// advertise: TestCapabilitiesAccepted fails for one without a probe, so a
// capability is never advertised without being exercised end to end.
var capabilityProbes = map[string]probe{
	"IMAP4rev1": {cmds: []string{"CAPABILITY"}, want: []string{"* CAPABILITY IMAP4rev1"}},
	"IMAP4rev2": {cmds: []string{"UNSELECT", "ENABLE IMAP4rev2", "SELECT INBOX", "SEARCH ALL"},
		want: []string{"* ENABLED IMAP4rev2", "* ESEARCH"}},
	"LITERAL+": {cmds: []string{"APPEND INBOX {3+}\r\nabc"}},
	"SASL-IR":  {preauth: true, cmds: []string{"AUTHENTICATE PLAIN " + base64.StdEncoding.EncodeToString([]byte("\x00alice\x00pass"))}},
	"ID":       {cmds: []string{`ID ("name" "probe")`}, want: []string{"* ID ("}},
	"ENABLE":   {cmds: []string{"UNSELECT", "ENABLE CONDSTORE"}, want: []string{"* ENABLED CONDSTORE"}},
	"STARTTLS": {preauth: true, cmds: []string{"STARTTLS"}},
	"AUTH=PLAIN": {preauth: true,
		cmds: []string{"AUTHENTICATE PLAIN " + base64.StdEncoding.EncodeToString([]byte("\x00alice\x00pass"))}},
	"AUTH=LOGIN": {preauth: true, cmds: []string{"AUTHENTICATE LOGIN " + base64.StdEncoding.EncodeToString([]byte("alice")) +
		"⏎" + base64.StdEncoding.EncodeToString([]byte("pass"))}},
	// SCRAM's full exchange is tested in scram_plus_test.go; here the
	// server must answer a client-first-message with a challenge.
	"AUTH=SCRAM-SHA-256": {preauth: true, cmds: []string{"AUTHENTICATE SCRAM-SHA-256 " +
		base64.StdEncoding.EncodeToString([]byte("n,,n=alice,r=abcdefgh")) + "⏎*"}},
	"NAMESPACE": {cmds: []string{"NAMESPACE"}, want: []string{`* NAMESPACE (("" "/"))`}},
	"UNSELECT":  {cmds: []string{"UNSELECT"}},
	"UIDPLUS":   {cmds: []string{"UID STORE 1 +FLAGS (\\Deleted)", "UID EXPUNGE 1"}, want: []string{"* 1 EXPUNGE"}},
	"MOVE":      {cmds: []string{"UID MOVE 1 Archive"}, want: []string{"* OK [COPYUID "}},
	"CHILDREN":  {cmds: []string{"CREATE P/C", `LIST "" P`}, want: []string{`* LIST (\HasChildren) "/" P`}},
	"LIST-EXTENDED": {cmds: []string{`LIST (SUBSCRIBED) "" "*" RETURN (CHILDREN)`},
		want: []string{`* LIST (\HasNoChildren \Subscribed) "/" INBOX`}},
	"LIST-STATUS": {cmds: []string{`LIST "" INBOX RETURN (STATUS (` + strings.Join(imapcmd.StatusItems, " ") + `))`},
		want: []string{"* STATUS INBOX (MESSAGES 1 "}},
	"SPECIAL-USE":        {cmds: []string{`LIST (SPECIAL-USE) "" "*"`}, want: []string{`* LIST (\HasNoChildren \Drafts) "/" Drafts`}},
	"CREATE-SPECIAL-USE": {cmds: []string{`CREATE Old (USE (\Archive))`, `LIST "" Old RETURN (SPECIAL-USE)`}, want: []string{`* LIST (\HasNoChildren \Archive) "/" Old`}},
	"MULTIAPPEND":        {cmds: []string{"APPEND INBOX {1+}\r\na {1+}\r\nb"}, want: []string{"* 3 EXISTS"}},
	// APPENDLIMIT=n: the STATUS item gives the same n (RFC 7889 §3).
	"APPENDLIMIT": {cmds: []string{"STATUS INBOX (APPENDLIMIT)"}, want: []string{"* STATUS INBOX (APPENDLIMIT "}},
	"UTF8=ACCEPT": {cmds: []string{"UNSELECT", "ENABLE UTF8=ACCEPT", `CREATE "Überweisung"`}, want: []string{"* ENABLED UTF8=ACCEPT"}},
	"STATUS=SIZE": {cmds: []string{"STATUS INBOX (SIZE)"}, want: []string{"* STATUS INBOX (SIZE "}},
	"IDLE":        {cmds: []string{"IDLE⏎DONE"}, want: []string{"+ idling"}},
	"CONDSTORE":   {cmds: []string{"FETCH 1 (MODSEQ)"}, want: []string{"* 1 FETCH (MODSEQ ("}},
	"QRESYNC":     {cmds: []string{"UNSELECT", "ENABLE QRESYNC", "SELECT INBOX (QRESYNC (1 1))"}, want: []string{"* ENABLED QRESYNC"}},
	"BINARY":      {cmds: []string{"FETCH 1 (BINARY.PEEK[1] BINARY.SIZE[1])"}, want: []string{"* 1 FETCH (BINARY[1] "}},
	"PREVIEW":     {cmds: []string{"FETCH 1 (PREVIEW)"}, want: []string{"* 1 FETCH (PREVIEW "}},
	"QUOTA":       {cmds: []string{"GETQUOTAROOT INBOX"}, want: []string{"* QUOTAROOT INBOX"}},
	// Limits are set by the administrator (the test sets STORAGE and
	// MESSAGE; the default configuration allows 10,000 mailboxes).
	"QUOTA=RES-STORAGE":     {cmds: []string{`GETQUOTA ""`}, want: []string{`* QUOTA "" (STORAGE `}},
	"QUOTA=RES-MESSAGE":     {cmds: []string{`GETQUOTA ""`}, want: []string{`* QUOTA "" (STORAGE 1 1048576 MESSAGE 1 1000 `}},
	"QUOTA=RES-MAILBOX":     {cmds: []string{"CREATE P", `GETQUOTA ""`}, want: []string{`* QUOTA "" (STORAGE 1 1048576 MESSAGE 1 1000 MAILBOX 7 10000)`}},
	"ESEARCH":               {cmds: []string{"SEARCH RETURN (COUNT) ALL"}, want: []string{`* ESEARCH (TAG "p1") COUNT 1`}},
	"SEARCHRES":             {cmds: []string{"SEARCH RETURN (SAVE) ALL", "FETCH $ (UID)"}, want: []string{"* 1 FETCH (UID 1)"}},
	"WITHIN":                {cmds: []string{"SEARCH YOUNGER 3600"}, want: []string{"* SEARCH 1"}},
	"SAVEDATE":              {cmds: []string{"FETCH 1 (SAVEDATE)"}, want: []string{"* 1 FETCH (SAVEDATE "}},
	"SORT":                  {cmds: []string{"SORT (SUBJECT) UTF-8 ALL"}, want: []string{"* SORT 1"}},
	"SORT=DISPLAY":          {cmds: []string{"SORT (DISPLAYFROM) UTF-8 ALL"}, want: []string{"* SORT 1"}},
	"ESORT":                 {cmds: []string{"SORT RETURN (MIN) (DATE) UTF-8 ALL"}, want: []string{`* ESEARCH (TAG "p1") MIN 1`}},
	"THREAD=ORDEREDSUBJECT": {cmds: []string{"THREAD ORDEREDSUBJECT UTF-8 ALL"}, want: []string{"* THREAD (1)"}},
	"THREAD=REFERENCES":     {cmds: []string{"THREAD REFERENCES UTF-8 ALL"}, want: []string{"* THREAD (1)"}},
	"OBJECTID":              {cmds: []string{"FETCH 1 (EMAILID THREADID)", "STATUS INBOX (MAILBOXID)"}, want: []string{"* 1 FETCH (EMAILID (M"}},
}

// TestCapabilitiesAccepted checks that every capability the server lists,
// before and after login, is accepted end to end (capabilityProbes), and
// that every STATUS item the parser accepts is answered.
func TestCapabilitiesAccepted(t *testing.T) {
	srv := imaptest.StartServer(t)
	c := srv.Dial(t)
	greeting := c.ReadLine()
	c.Login("alice", "pass")
	c.Send("c CAPABILITY")
	lines := c.ReadUntilTagged("c")
	pre := capList(t, greeting)
	post := capList(t, lines[0])
	all := slices.Concat(pre, post)
	slices.Sort(all)
	for _, capa := range slices.Compact(all) {
		name, value, _ := strings.Cut(capa, "=")
		key := capa
		if name == "APPENDLIMIT" {
			key = name
		}
		p, ok := capabilityProbes[key]
		if !ok {
			t.Errorf("capability %s is advertised but has no probe in capabilityProbes", capa)
			continue
		}
		t.Run(capa, func(t *testing.T) {
			srv := imaptest.StartServer(t)
			storage, messages := int64(1<<30), int64(1000)
			if err := srv.Store.SetQuota(context.Background(), "alice", store.Quota{StorageBytes: &storage, Messages: &messages}); err != nil {
				t.Fatal(err)
			}
			pc := srv.Dial(t)
			pc.ReadLine()
			if !p.preauth {
				pc.Login("alice", "pass")
				const msg = "From: a@example.org\r\nSubject: probe\r\nMessage-ID: <p@x>\r\n\r\nbody text\r\n"
				pc.Send("s1 APPEND INBOX {" + strconv.Itoa(len(msg)) + "+}\r\n" + msg)
				pc.ReadUntilTagged("s1")
				pc.Send("s2 SELECT INBOX")
				pc.ReadUntilTagged("s2")
			}
			var untagged []string
			for i, cmd := range p.cmds {
				tag := "p" + strconv.Itoa(i+1)
				first, rest, _ := strings.Cut(cmd, "⏎")
				pc.Send(tag + " " + first)
				for rest != "" {
					l := pc.ReadLine()
					untagged = append(untagged, l)
					if !strings.HasPrefix(l, "+") {
						t.Fatalf("%s: expected a continuation, got %q", first, l)
					}
					var next string
					next, rest, _ = strings.Cut(rest, "⏎")
					pc.Send(next)
				}
				got := pc.ReadUntilTagged(tag)
				if last := got[len(got)-1]; !strings.HasPrefix(last, tag+" OK") &&
					!(capa == "AUTH=SCRAM-SHA-256" && strings.HasPrefix(last, tag+" BAD")) {
					t.Fatalf("%s: %q", cmd, last)
				}
				untagged = append(untagged, got[:len(got)-1]...)
			}
			for _, w := range p.want {
				if !slices.ContainsFunc(untagged, func(l string) bool { return strings.HasPrefix(l, w) }) {
					t.Errorf("no response starting %q among %q", w, untagged)
				}
			}
			if name == "APPENDLIMIT" && !slices.Contains(untagged, "* STATUS INBOX (APPENDLIMIT "+value+")") {
				t.Errorf("STATUS APPENDLIMIT differs from the capability %s: %q", capa, untagged)
			}
		})
	}
	// Every STATUS item of the parser is answered, in the order asked.
	items := slices.Clone(imapcmd.StatusItems)
	slices.Reverse(items)
	c.Send("s STATUS INBOX (" + strings.Join(items, " ") + ")")
	got := c.ReadUntilTagged("s")
	if len(got) != 2 || !strings.HasPrefix(got[1], "s OK") {
		t.Fatalf("STATUS with every item: %q", got)
	}
	rest := strings.TrimSuffix(strings.TrimPrefix(got[0], "* STATUS INBOX ("), ")")
	for _, it := range items {
		if !strings.HasPrefix(rest, it+" ") {
			t.Fatalf("STATUS item %s not answered in order: %q", it, got[0])
		}
		rest = rest[len(it)+1:]
		if strings.HasPrefix(rest, "(") {
			rest = rest[strings.IndexByte(rest, ')')+1:]
		} else if i := strings.IndexByte(rest, ' '); i >= 0 {
			rest = rest[i:]
		} else {
			rest = ""
		}
		rest = strings.TrimPrefix(rest, " ")
	}
}

// capList returns the capabilities of a CAPABILITY response or a greeting
// or tagged OK with a CAPABILITY code.
func capList(t *testing.T, line string) []string {
	t.Helper()
	i := strings.Index(line, "CAPABILITY ")
	if i < 0 {
		t.Fatalf("no capabilities in %q", line)
	}
	s := line[i+len("CAPABILITY "):]
	if j := strings.IndexByte(s, ']'); j >= 0 {
		s = s[:j]
	}
	return strings.Fields(s)
}
