package imapcmd

import (
	"bufio"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"rookery/internal/imapnum"
	"rookery/internal/imapwire"
)

// oneByteReader returns one byte per Read, to prove the parser streams.
type oneByteReader struct{ r io.Reader }

func (o oneByteReader) Read(p []byte) (int, error) {
	if len(p) > 1 {
		p = p[:1]
	}
	return o.r.Read(p)
}

func newDecoder(in string, oneByte bool) *imapwire.Decoder {
	var r io.Reader = strings.NewReader(in)
	if oneByte {
		r = oneByteReader{r}
	}
	return imapwire.NewDecoder(bufio.NewReaderSize(r, 16), imapwire.Limits{MaxLine: 4096, MaxLiteral: 1024})
}

func set(s string) imapnum.Set {
	v, err := imapnum.Parse(s)
	if err != nil {
		panic(err)
	}
	return v
}

type readTest struct {
	in   string
	want *Command
}

func cmd(tag, name string, uid bool, args any) *Command {
	return &Command{Tag: tag, Name: name, UID: uid, Args: args}
}

var readTests = []readTest{
	{"a1 CAPABILITY\r\n", cmd("a1", "CAPABILITY", false, nil)},
	{"a1 noop\r\n", cmd("a1", "NOOP", false, nil)},
	{"a1 NOOP\n", cmd("a1", "NOOP", false, nil)},
	{"a.b]c LOGOUT\r\n", cmd("a.b]c", "LOGOUT", false, nil)},
	{"x STARTTLS\r\n", cmd("x", "STARTTLS", false, nil)},
	{"x CHECK\r\n", cmd("x", "CHECK", false, nil)},
	{"x CLOSE\r\n", cmd("x", "CLOSE", false, nil)},
	{"x UNSELECT\r\n", cmd("x", "UNSELECT", false, nil)},
	{"x IDLE\r\n", cmd("x", "IDLE", false, nil)},
	{"x NAMESPACE\r\n", cmd("x", "NAMESPACE", false, nil)},
	{"x EXPUNGE\r\n", cmd("x", "EXPUNGE", false, nil)},
	{"x UID EXPUNGE 1:3,7\r\n", cmd("x", "EXPUNGE", true, &Expunge{UIDs: set("1:3,7")})},
	// "$" (RFC 5182) wherever a sequence set may be.
	{"x UID EXPUNGE $\r\n", cmd("x", "EXPUNGE", true, &Expunge{Saved: true})},
	{"x MOVE $ Trash\r\n", cmd("x", "MOVE", false, &Copy{Saved: true, Mailbox: "Trash"})},
	{"x UID STORE $ +FLAGS.SILENT (\\Seen)\r\n", cmd("x", "STORE", true, &Store{Saved: true, Op: StoreAdd, Silent: true, Flags: []string{`\Seen`}})},
	// Authentication.
	{"a LOGIN fred secret\r\n", cmd("a", "LOGIN", false, &Login{"fred", "secret"})},
	{"a LOGIN \"fr ed\" {5}\r\nse\"c]\r\n", cmd("a", "LOGIN", false, &Login{"fr ed", "se\"c]"})},
	{"a LOGIN \"f\\\\r\\\"d\" {3+}\r\nabc\r\n", cmd("a", "LOGIN", false, &Login{`f\r"d`, "abc"})},
	{"a LOGIN \"jörg\" \"пароль\"\r\n", cmd("a", "LOGIN", false, &Login{"jörg", "пароль"})},
	{"a AUTHENTICATE plain\r\n", cmd("a", "AUTHENTICATE", false, &Authenticate{Mechanism: "PLAIN"})},
	{"a AUTHENTICATE PLAIN =\r\n", cmd("a", "AUTHENTICATE", false, &Authenticate{Mechanism: "PLAIN", InitialResponse: []byte{}, HasInitial: true})},
	{"a AUTHENTICATE PLAIN AGZyZWQAc2VjcmV0\r\n", cmd("a", "AUTHENTICATE", false, &Authenticate{Mechanism: "PLAIN", InitialResponse: []byte("\x00fred\x00secret"), HasInitial: true})},
	{"a AUTHENTICATE XOAUTH2 dXNlcj0=\r\n", cmd("a", "AUTHENTICATE", false, &Authenticate{Mechanism: "XOAUTH2", InitialResponse: []byte("user="), HasInitial: true})},
	{"a ENABLE CONDSTORE utf8=accept\r\n", cmd("a", "ENABLE", false, &Enable{Caps: []string{"CONDSTORE", "UTF8=ACCEPT"}})},
	{"a ID NIL\r\n", cmd("a", "ID", false, &ID{})},
	{"a ID ()\r\n", cmd("a", "ID", false, &ID{Params: [][2]string{}})},
	{`a ID ("name" "Thunderbird" "version" "115.0" "x" NIL)` + "\r\n", cmd("a", "ID", false, &ID{Params: [][2]string{{"name", "Thunderbird"}, {"version", "115.0"}, {"x", ""}}})},
	// Mailboxes.
	{"a SELECT INBOX\r\n", cmd("a", "SELECT", false, &Select{Mailbox: "INBOX"})},
	{"a EXAMINE \"Sent Items\"\r\n", cmd("a", "EXAMINE", false, &Select{Mailbox: "Sent Items", ReadOnly: true})},
	{"a SELECT Entw&APw-rfe (CONDSTORE)\r\n", cmd("a", "SELECT", false, &Select{Mailbox: "Entw&APw-rfe", CondStore: true})},
	{"a SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))\r\n", cmd("a", "SELECT", false, &Select{Mailbox: "INBOX", QResync: &QResync{UIDValidity: 67890007, ModSeq: 20050715194045000, KnownUIDs: set("41,43:211,214:541")}})},
	{"a SELECT INBOX (QRESYNC (67890007 90060115194045000 41:211,214:541 (1:5,7 41:45,47)))\r\n", cmd("a", "SELECT", false, &Select{Mailbox: "INBOX", QResync: &QResync{UIDValidity: 67890007, ModSeq: 90060115194045000, KnownUIDs: set("41:211,214:541"), SeqMatchSeqs: set("1:5,7"), SeqMatchUIDs: set("41:45,47")}})},
	{"a SELECT INBOX (QRESYNC (1 2 (1 3)))\r\n", cmd("a", "SELECT", false, &Select{Mailbox: "INBOX", QResync: &QResync{UIDValidity: 1, ModSeq: 2, SeqMatchSeqs: set("1"), SeqMatchUIDs: set("3")}})},
	{"a CREATE foo/bar\r\n", cmd("a", "CREATE", false, &Create{Mailbox: "foo/bar"})},
	{"a CREATE MySpecial (USE (\\drafts \\Sent \\X-Custom))\r\n", cmd("a", "CREATE", false, &Create{Mailbox: "MySpecial", SpecialUse: []string{`\drafts`, `\Sent`, `\X-Custom`}})},
	{"a DELETE foo\r\n", cmd("a", "DELETE", false, &MailboxArg{"foo"})},
	{"a SUBSCRIBE \"a b\"\r\n", cmd("a", "SUBSCRIBE", false, &MailboxArg{"a b"})},
	{"a UNSUBSCRIBE {3}\r\na b\r\n", cmd("a", "UNSUBSCRIBE", false, &MailboxArg{"a b"})},
	{"a RENAME old \"new one\"\r\n", cmd("a", "RENAME", false, &Rename{"old", "new one"})},
	{"a STATUS INBOX (MESSAGES uidnext UNSEEN HIGHESTMODSEQ)\r\n", cmd("a", "STATUS", false, &Status{Mailbox: "INBOX", Items: []string{"MESSAGES", "UIDNEXT", "UNSEEN", "HIGHESTMODSEQ"}})},
	{"a STATUS INBOX (DELETED deleted-storage)\r\n", cmd("a", "STATUS", false, &Status{Mailbox: "INBOX", Items: []string{"DELETED", "DELETED-STORAGE"}})},
	// LIST.
	{"a LIST \"\" \"*\"\r\n", cmd("a", "LIST", false, &List{Reference: "", Patterns: []string{"*"}})},
	{"a LIST \"\" %\r\n", cmd("a", "LIST", false, &List{Patterns: []string{"%"}})},
	{"a LIST ~/Mail/ %/foo]*\r\n", cmd("a", "LIST", false, &List{Reference: "~/Mail/", Patterns: []string{"%/foo]*"}})},
	{"a LIST (SUBSCRIBED RECURSIVEMATCH) \"\" (INBOX \"Sent*\") RETURN (CHILDREN SPECIAL-USE STATUS (MESSAGES UIDNEXT))\r\n", cmd("a", "LIST", false, &List{
		Patterns: []string{"INBOX", "Sent*"}, Extended: true, SelectSubscribed: true, SelectRecursiveMatch: true,
		ReturnChildren: true, ReturnSpecialUse: true, ReturnStatus: []string{"MESSAGES", "UIDNEXT"}})},
	{"a LIST () \"\" % RETURN ()\r\n", cmd("a", "LIST", false, &List{Patterns: []string{"%"}, Extended: true})},
	{"a LIST (SPECIAL-USE REMOTE) \"\" *\r\n", cmd("a", "LIST", false, &List{Patterns: []string{"*"}, Extended: true, SelectSpecialUse: true, SelectRemote: true})},
	{"a LIST \"\" * RETURN (SUBSCRIBED)\r\n", cmd("a", "LIST", false, &List{Patterns: []string{"*"}, Extended: true, ReturnSubscribed: true})},
	{"a LSUB \"\" *\r\n", cmd("a", "LSUB", false, &Lsub{Reference: "", Pattern: "*"})},
	// STORE, COPY, MOVE.
	{"a STORE 1:* +FLAGS (\\Seen)\r\n", cmd("a", "STORE", false, &Store{Set: set("1:*"), Op: StoreAdd, Flags: []string{`\Seen`}})},
	{"a UID STORE 5 -flags.silent \\deleted $Junk\r\n", cmd("a", "STORE", true, &Store{Set: set("5"), Op: StoreRemove, Silent: true, Flags: []string{`\Deleted`, "$Junk"}})},
	{"a STORE 2,4 FLAGS ()\r\n", cmd("a", "STORE", false, &Store{Set: set("2,4"), Op: StoreReplace, Flags: []string{}})},
	{"a STORE 2 (UNCHANGEDSINCE 320162338) FLAGS.SILENT (\\Seen \\X-Ext)\r\n", cmd("a", "STORE", false, &Store{Set: set("2"), Op: StoreReplace, Silent: true, Flags: []string{`\Seen`, `\X-Ext`}, UnchangedSince: 320162338, HasUnchanged: true})},
	{"a STORE 2 (UNCHANGEDSINCE 0) +FLAGS $Forwarded\r\n", cmd("a", "STORE", false, &Store{Set: set("2"), Op: StoreAdd, Flags: []string{"$Forwarded"}, HasUnchanged: true})},
	{"a COPY 2:4 MEETING\r\n", cmd("a", "COPY", false, &Copy{Set: set("2:4"), Mailbox: "MEETING"})},
	{"a UID MOVE 42:69 \"Deleted Items\"\r\n", cmd("a", "MOVE", true, &Copy{Set: set("42:69"), Mailbox: "Deleted Items"})},
	{"a UID COPY 4:2 [Gmail]/Trash\r\n", cmd("a", "COPY", true, &Copy{Set: set("4:2"), Mailbox: "[Gmail]/Trash"})},
}

func checkRead(t *testing.T, tests []readTest) {
	t.Helper()
	for _, tt := range tests {
		for _, oneByte := range []bool{false, true} {
			d := newDecoder(tt.in+"z NOOP\r\n", oneByte)
			got, err := Read(d, Options{}, testLookup)
			if err != nil {
				t.Errorf("Read(%q): %v", tt.in, err)
				continue
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Read(%q) =\n%#v\nwant\n%#v", tt.in, got, tt.want)
				if a, b := got.Args, tt.want.Args; a != nil && b != nil {
					t.Errorf("args %+v\nwant %+v", a, b)
				}
			}
			// The whole line was consumed: the next command follows.
			if next, err := Read(d, Options{}, testLookup); err != nil || next.Tag != "z" {
				t.Errorf("after Read(%q): next = %v, %v", tt.in, next, err)
			}
		}
	}
}

func TestRead(t *testing.T) { checkRead(t, readTests) }

// TestReadErrors checks that bad commands give the right error type and
// tag, and that DiscardLine then finds the next command.
func TestReadErrors(t *testing.T) {
	tests := []struct {
		in      string
		tag     string
		unknown bool
		is      error
	}{
		{"\r\n", "", false, nil},
		{"(a NOOP\r\n", "", false, nil},
		{"a+b NOOP\r\n", "", false, nil},
		{"* NOOP\r\n", "", false, nil},
		{"a\r\n", "a", false, nil},
		{"a  NOOP\r\n", "a", false, nil},
		{"a NOOP extra\r\n", "a", false, nil},
		{"a FOO bar\r\n", "a", true, nil},
		{"a XSEARCH ALL\r\n", "a", true, nil},
		{"a UID XSEARCH ALL\r\n", "a", true, nil},
		{"a UID LOGIN x y\r\n", "a", true, nil},
		{"a LOGIN x\r\n", "a", false, nil},
		{"a LOGIN x y z\r\n", "a", false, nil},
		{"a LOGIN \"x\r\n", "a", false, nil},
		{"a LOGIN \"x\\y\" z\r\n", "a", false, nil},
		{"a LOGIN x {2000}\r\n", "a", false, imapwire.ErrTooBig},
		{"a LOGIN x {2000+}\r\n" + strings.Repeat("x", 2000) + "\r\n", "a", false, imapwire.ErrTooBig},
		{"a LOGIN x " + strings.Repeat("y", 5000) + "\r\n", "a", false, imapwire.ErrLineTooLong},
		{"a AUTHENTICATE PLAIN AGZy!ZWQ\r\n", "a", false, nil},
		{"a AUTHENTICATE PLAIN AGZ\r\n", "a", false, nil},
		{"a ENABLE\r\n", "a", false, nil},
		{"a ID (\"a\")\r\n", "a", false, nil},
		{"a ID " + "(" + strings.Repeat("\"k\" \"v\" ", 31) + ")\r\n", "a", false, nil},
		{"a SELECT INBOX (FOO)\r\n", "a", false, nil},
		{"a SELECT INBOX (QRESYNC (0 1))\r\n", "a", false, nil},
		{"a SELECT INBOX (QRESYNC (1))\r\n", "a", false, nil},
		{"a SELECT INBOX (QRESYNC (1 2 (1) 3))\r\n", "a", false, nil},
		{"a CREATE x (USE (Drafts))\r\n", "a", false, nil},
		{"a CREATE x (FOO)\r\n", "a", false, nil},
		{"a STATUS INBOX ()\r\n", "a", false, nil},
		{"a STATUS INBOX (BOGUS)\r\n", "a", false, nil},
		{"a STATUS INBOX MESSAGES\r\n", "a", false, nil},
		{"a LIST (RECURSIVEMATCH) \"\" *\r\n", "a", false, nil},
		{"a LIST (FOO) \"\" *\r\n", "a", false, nil},
		{"a LIST \"\" ()\r\n", "a", false, nil},
		{"a LIST \"\" * RETURN (FOO)\r\n", "a", false, nil},
		{"a LIST \"\" * FOO (CHILDREN)\r\n", "a", false, nil},
		{"a LIST \"\"\r\n", "a", false, nil},
		{"a STORE 0 FLAGS (\\Seen)\r\n", "a", false, nil},
		{"a STORE 1 FLAGS (\\*)\r\n", "a", false, nil},
		{"a STORE 1 FLAGS \\*\r\n", "a", false, nil},
		{"a STORE 1 XFLAGS (\\Seen)\r\n", "a", false, nil},
		{"a STORE 1 (FOO 1) FLAGS (\\Seen)\r\n", "a", false, nil},
		{"a STORE 1 +FLAGS\r\n", "a", false, nil},
		{"a STORE 1 +FLAGS (\\Seen\r\n", "a", false, nil},
		{"a COPY 1:x foo\r\n", "a", false, nil},
		{"a COPY 1\r\n", "a", false, nil},
		{"a COPY 4294967296 foo\r\n", "a", false, nil},
		{"a UID EXPUNGE\r\n", "a", false, nil},
		{"a FETCH 1 (FLAGS (UID))\r\n", "a", false, nil},
		{strings.Repeat("(", 100), "", false, nil},
	}
	for _, tt := range tests {
		d := newDecoder(tt.in+"z NOOP\r\n", false)
		_, err := Read(d, Options{}, testLookup)
		var se *SyntaxError
		var ue *UnknownCommandError
		switch {
		case err == nil:
			t.Errorf("Read(%q) succeeded", tt.in)
			continue
		case tt.unknown:
			if !errors.As(err, &ue) || ue.Tag != tt.tag {
				t.Errorf("Read(%q) = %v (%T), want UnknownCommandError tag %q", tt.in, err, err, tt.tag)
			}
		case !errors.As(err, &se) || se.Tag != tt.tag:
			t.Errorf("Read(%q) = %v (%T), want SyntaxError tag %q", tt.in, err, err, tt.tag)
		case tt.is != nil && !errors.Is(err, tt.is):
			t.Errorf("Read(%q) = %v, want errors.Is %v", tt.in, err, tt.is)
		}
		if err := d.DiscardLine(); err != nil {
			t.Errorf("DiscardLine after %q: %v", tt.in, err)
			continue
		}
		if strings.HasSuffix(tt.in, "\n") {
			if next, err := Read(d, Options{}, testLookup); err != nil || next.Tag != "z" {
				t.Errorf("after %q: next = %+v, %v", tt.in, next, err)
			}
		}
	}
}

func TestReadEOF(t *testing.T) {
	d := newDecoder("", false)
	if _, err := Read(d, Options{}, testLookup); err != io.EOF {
		t.Errorf("Read on empty input = %v, want io.EOF", err)
	}
	d = newDecoder("a LOGIN x", false)
	if _, err := Read(d, Options{}, testLookup); err != io.EOF {
		t.Errorf("Read on truncated input = %v, want io.EOF", err)
	}
}

func TestSyncLiteralCallback(t *testing.T) {
	d := newDecoder("a LOGIN {4}\r\nfred {6+}\r\nsecret\r\n", false)
	var sizes []int64
	d.OnSyncLiteral(func(n int64) error { sizes = append(sizes, n); return nil })
	c, err := Read(d, Options{}, testLookup)
	if err != nil {
		t.Fatal(err)
	}
	if l := c.Args.(*Login); l.Username != "fred" || l.Password != "secret" {
		t.Errorf("got %+v", l)
	}
	if !reflect.DeepEqual(sizes, []int64{4}) {
		t.Errorf("OnSyncLiteral sizes = %v, want [4]", sizes)
	}
}

func mustDate(s string) time.Time {
	t, ok := imapwire.ParseDateTime(s)
	if !ok {
		panic(s)
	}
	return t
}

// TestTranscripts reads the client transcripts of the fuzz corpus as a
// server would and expects every command to parse.
func TestTranscripts(t *testing.T) {
	for _, name := range []string{"thunderbird", "applemail", "mutt", "outlook", "ios", "multiappend"} {
		raw, err := os.ReadFile(filepath.Join("testdata/fuzz/FuzzRead", name))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.SplitN(string(raw), "\n", 2)
		data, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(lines[1]), "string("), ")"))
		if err != nil {
			t.Fatal(name, err)
		}
		d := newDecoder(data, true)
		n := 0
		for {
			c, err := Read(d, Options{}, testLookup)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: command %d: %v", name, n+1, err)
			}
			n++
			switch c.Name {
			case "IDLE":
				if l, err := d.ReadLine(10); err != nil || string(l) != "DONE" {
					t.Fatalf("%s: DONE: %q %v", name, l, err)
				}
			case "APPEND":
				for {
					m, err := c.Args.(*Append).Next()
					if err != nil {
						t.Fatalf("%s: APPEND: %v", name, err)
					}
					if m == nil {
						break
					}
					io.Copy(io.Discard, m.Literal)
				}
			}
		}
		if n < 2 {
			t.Errorf("%s: only %d commands", name, n)
		}
	}
}
