package main

import (
	"bufio"
	"errors"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// readAll reads every response of in with readResponse, from a reader
// that returns one byte at a time through the smallest bufio buffer, so
// that lines and literals cross buffer boundaries.
func readAll(t *testing.T, in string) []string {
	t.Helper()
	r := bufio.NewReaderSize(iotest.OneByteReader(strings.NewReader(in)), 16)
	var out []string
	var buf []byte
	for {
		resp, err := readResponse(r, buf)
		if err == io.EOF && len(resp) == 0 {
			return out
		}
		if err != nil {
			t.Fatalf("readResponse after %q: %v", out, err)
		}
		out = append(out, string(resp))
		buf = resp
	}
}

func TestReadResponseLiterals(t *testing.T) {
	body := "Subject: hi\r\n\r\n* 9 EXPUNGE\r\nm1 OK not a response {5}\r\n"
	in := "* 1 FETCH (UID 7 BODY[] {" + strconv.Itoa(len(body)) + "}\r\n" + body + " FLAGS (\\Seen))\r\n" +
		"* 2 FETCH (BODY[HEADER.FIELDS (FROM)] {3+}\r\nab\n BODY[1] ~{2}\r\nxy)\r\n" +
		"m1 NO this text ends in {5}\r\n" +
		"* OK [ALERT] also {3}\r\n" +
		"+ go ahead {2}\r\n" +
		"* LIST () \"/\" {5}\r\nINBOX\r\n"
	got := readAll(t, in)
	want := []string{
		"* 1 FETCH (UID 7 BODY[] {" + strconv.Itoa(len(body)) + "}\r\n" + body + " FLAGS (\\Seen))\r\n",
		"* 2 FETCH (BODY[HEADER.FIELDS (FROM)] {3+}\r\nab\n BODY[1] ~{2}\r\nxy)\r\n",
		"m1 NO this text ends in {5}\r\n",
		"* OK [ALERT] also {3}\r\n",
		"+ go ahead {2}\r\n",
		"* LIST () \"/\" {5}\r\nINBOX\r\n",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("responses:\n%q\nwant\n%q", got, want)
	}
	f, err := parseFetch([]byte(strings.TrimPrefix(strings.TrimSuffix(got[0], "\r\n"), "* 1 FETCH ")))
	if err != nil {
		t.Fatal(err)
	}
	if f.uid != 7 || !slices.Equal(f.flags, []string{`\Seen`}) || f.literals != len(body) {
		t.Errorf("parseFetch = %+v", f)
	}
}

func TestReadResponseTruncated(t *testing.T) {
	for _, in := range []string{
		"* 1 FETCH (BODY[] {10}\r\nabc",
		"* 1 EXISTS",
		"* 1 FETCH (BODY[] {99999999999}\r\n",
	} {
		r := bufio.NewReader(strings.NewReader(in))
		if _, err := readResponse(r, nil); err == nil || err == io.EOF {
			t.Errorf("%q: err = %v, want an error other than io.EOF", in, err)
		}
	}
}

func TestParseResponse(t *testing.T) {
	tests := []struct {
		in   string
		want response
	}{
		{"* 3 EXISTS\r\n", response{kind: '*', num: 3, hasNum: true, keyword: "EXISTS", rest: []byte{}}},
		{"* 2 expunge\r\n", response{kind: '*', num: 2, hasNum: true, keyword: "EXPUNGE", rest: []byte{}}},
		{"* OK [UIDVALIDITY 17] UIDs valid\r\n", response{kind: '*', keyword: "OK", code: "UIDVALIDITY 17", text: "UIDs valid"}},
		{"* BYE shutting down\r\n", response{kind: '*', keyword: "BYE", text: "shutting down"}},
		{"* CAPABILITY IMAP4rev1 IDLE\r\n", response{kind: '*', keyword: "CAPABILITY", rest: []byte("IMAP4rev1 IDLE")}},
		{"* SEARCH\r\n", response{kind: '*', keyword: "SEARCH"}},
		{"m7 OK [READ-WRITE] SELECT completed\r\n", response{kind: 't', tag: "m7", keyword: "OK", code: "READ-WRITE", text: "SELECT completed"}},
		{"m8 no [TRYCREATE] no such mailbox\r\n", response{kind: 't', tag: "m8", keyword: "NO", code: "TRYCREATE", text: "no such mailbox"}},
		{"m9 BAD\r\n", response{kind: 't', tag: "m9", keyword: "BAD"}},
		{"+ idling\r\n", response{kind: '+', text: "idling"}},
		{"+\r\n", response{kind: '+'}},
		{"* 1 EXISTS\n", response{kind: '*', num: 1, hasNum: true, keyword: "EXISTS", rest: []byte{}}},
	}
	for _, tt := range tests {
		got, err := parseResponse([]byte(tt.in))
		if err != nil {
			t.Errorf("%q: %v", tt.in, err)
			continue
		}
		if got.kind != tt.want.kind || got.tag != tt.want.tag || got.num != tt.want.num || got.hasNum != tt.want.hasNum ||
			got.keyword != tt.want.keyword || got.code != tt.want.code || got.text != tt.want.text || string(got.rest) != string(tt.want.rest) {
			t.Errorf("%q:\n got %+v\nwant %+v", tt.in, got, tt.want)
		}
	}
	for _, bad := range []string{"\r\n", "* \r\n", "m1 MAYBE done\r\n", "m1\r\n", "* 1 EXISTS"} {
		if _, err := parseResponse([]byte(bad)); !errors.Is(err, errProto) {
			t.Errorf("%q: err = %v, want a protocol error", bad, err)
		}
	}
}

func TestParseFetch(t *testing.T) {
	tests := []struct {
		in    string
		uid   uint32
		flags []string
		lits  int
	}{
		{`(UID 5 FLAGS (\Seen $Label1))`, 5, []string{`\Seen`, `$Label1`}, 0},
		{`(FLAGS () UID 12)`, 12, []string{}, 0},
		{"(UID 3 RFC822.SIZE 4410 BODY[HEADER.FIELDS (FROM TO SUBJECT DATE MESSAGE-ID)] {4}\r\nab\r\n FLAGS (\\Recent))", 3, []string{`\Recent`}, 4},
		{`(BODY[1]<0> "quoted \"x\"" UID 9)`, 9, nil, 10},
		{`(ENVELOPE (NIL "subj" (("A" NIL "a" "example.org")) NIL NIL NIL NIL NIL NIL "<id>") UID 4)`, 4, nil, 0},
		{`(BODYSTRUCTURE ("TEXT" "PLAIN" ("CHARSET" "utf-8") NIL NIL "7BIT" 12 1 NIL NIL NIL NIL) MODSEQ (77))`, 0, nil, 0},
		{"(BINARY[1] ~{3}\r\n\x00\x01\x02 UID 2)", 2, nil, 3},
	}
	for _, tt := range tests {
		f, err := parseFetch([]byte(tt.in))
		if err != nil {
			t.Errorf("%q: %v", tt.in, err)
			continue
		}
		if f.uid != tt.uid || (tt.flags != nil && !slices.Equal(f.flags, tt.flags)) || f.literals != tt.lits {
			t.Errorf("%q: got %+v, want uid %d flags %q literals %d", tt.in, f, tt.uid, tt.flags, tt.lits)
		}
	}
	for _, bad := range []string{
		``, `UID 5`, `(UID x)`, `(UID 0)`, `(UID 5`, `(FLAGS (\Seen)`, `(BODY[1 "x")`, `(UID 5) trailing`,
		"(BODY[] {10}\r\nabc)", `(BODY[] "unterminated)`,
	} {
		if _, err := parseFetch([]byte(bad)); !errors.Is(err, errProto) {
			t.Errorf("%q: err = %v, want a protocol error", bad, err)
		}
	}
}

func TestParseList(t *testing.T) {
	tests := []struct {
		in         string
		name       string
		selectable bool
	}{
		{`(\HasNoChildren) "/" INBOX`, "INBOX", true},
		{`(\HasNoChildren \Sent) "." "Sent Items"`, "Sent Items", true},
		{`(\Noselect \HasChildren) "/" "Archive"`, "Archive", false},
		{"() NIL {7}\r\nDrafts!", "Drafts!", true},
		{`(\NonExistent) "/" "x\"y"`, `x"y`, false},
	}
	for _, tt := range tests {
		name, sel, err := parseList([]byte(tt.in))
		if err != nil || name != tt.name || sel != tt.selectable {
			t.Errorf("%q: got %q %v %v, want %q %v", tt.in, name, sel, err, tt.name, tt.selectable)
		}
	}
	if _, _, err := parseList([]byte(`(\HasChildren) "/"`)); err == nil {
		t.Error("LIST without a name: no error")
	}
}

func TestParseSearch(t *testing.T) {
	got, err := parseSearch([]byte("4 9 12 (MODSEQ 33)"))
	if err != nil || !slices.Equal(got, []uint32{4, 9, 12}) {
		t.Errorf("got %v %v", got, err)
	}
	if _, err := parseSearch([]byte("4 x")); err == nil {
		t.Error("no error for a non-number")
	}
}

// fakeServer runs script against the client end of a pipe: for each step
// it reads one line (when expect is not "") and writes reply.
type step struct{ expect, reply string }

func pipeSession(t *testing.T, script []step) (*session, chan error) {
	t.Helper()
	cli, srv := net.Pipe()
	t.Cleanup(func() { cli.Close(); srv.Close() })
	done := make(chan error, 1)
	go func() {
		r := bufio.NewReader(srv)
		for _, st := range script {
			if st.expect != "" {
				line, err := r.ReadString('\n')
				if err != nil {
					done <- err
					return
				}
				if line != st.expect {
					done <- errors.New("server got " + line + ", want " + st.expect)
					return
				}
			}
			if _, err := io.WriteString(srv, st.reply); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	cfg := &config{timeout: 5 * time.Second, window: 50, mailbox: "INBOX"}
	s := &session{cfg: cfg, stop: newStopper(time.Now().Add(time.Minute)), nc: cli,
		r: bufio.NewReader(cli), w: bufio.NewWriter(cli), caps: map[string]bool{}, selected: true}
	return s, done
}

func TestSessionTracksUIDs(t *testing.T) {
	s, done := pipeSession(t, []step{
		{"m1 UID FETCH 1:* (UID FLAGS)\r\n", "* 3 EXISTS\r\n* 1 FETCH (UID 10 FLAGS ())\r\n* OK [ALERT] interleaved\r\n" +
			"* 2 FETCH (FLAGS (\\Seen) UID 11)\r\n* 3 FETCH (UID 14 BODY[] {13}\r\n* 1 EXPUNGE\r\n)\r\nm1 OK done\r\n"},
		{"m2 NOOP\r\n", "* 2 EXPUNGE\r\n* 4 EXISTS\r\n* 3 FETCH (FLAGS (\\Flagged))\r\nm2 OK\r\n"},
		{"m3 UID STORE 99 +FLAGS (\\Seen)\r\n", "m3 NO [CANNOT] read-only\r\n"},
		{"m4 FOO\r\n", "* 1 EXISTS\r\nm4 BAD [CLIENTBUG] unknown command\r\n"},
	})
	if _, err := s.exec("UID FETCH 1:* (UID FLAGS)", nil); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s.uids, []uint32{10, 11, 14}) {
		t.Fatalf("uids = %v", s.uids)
	}
	var seen []string
	if _, err := s.exec("NOOP", func(r *response) error { seen = append(seen, r.keyword); return nil }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s.uids, []uint32{10, 14, 0, 0}) || !slices.Equal(seen, []string{"EXPUNGE", "EXISTS", "FETCH"}) {
		t.Fatalf("uids = %v, untagged %v", s.uids, seen)
	}
	_, err := s.exec(`UID STORE 99 +FLAGS (\Seen)`, nil)
	var se *statusError
	if !errors.As(err, &se) || se.status != "NO" || errClass(err) != "NO" {
		t.Fatalf("NO: err = %v", err)
	}
	// A BAD is reported as such; the EXISTS before it, which shrinks the
	// mailbox without EXPUNGE, is a protocol error first.
	_, err = s.exec("FOO", nil)
	if !errors.Is(err, errProto) || errClass(err) != "proto" {
		t.Fatalf("shrinking EXISTS: err = %v", err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestSessionBAD(t *testing.T) {
	s, done := pipeSession(t, []step{
		{"m1 FOO\r\n", "* 0 EXISTS\r\nm1 BAD [CLIENTBUG] unknown command\r\n"},
		{"m2 NOOP\r\n", "m9 OK wrong tag\r\n"},
	})
	_, err := s.exec("FOO", nil)
	var se *statusError
	if !errors.As(err, &se) || se.status != "BAD" || !strings.Contains(se.resp, "unknown command") {
		t.Fatalf("BAD: err = %v", err)
	}
	if _, err := s.exec("NOOP", nil); !errors.Is(err, errProto) {
		t.Fatalf("wrong tag: err = %v", err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestSessionBadState(t *testing.T) {
	for _, reply := range []string{
		"* 5 EXPUNGE\r\nm1 OK\r\n",              // beyond EXISTS
		"* 4 FETCH (UID 3)\r\nm1 OK\r\n",        // beyond EXISTS
		"* 1 FETCH (UID 7)\r\nm1 OK\r\n",        // UID 10 before
		"* 1 FETCH (UID 10 BODY[]\r\nm1 OK\r\n", // unparsable
		"+ what\r\n",                            // continuation without a literal
	} {
		s, _ := pipeSession(t, []step{{"m1 NOOP\r\n", reply}})
		s.uids = []uint32{10, 0}
		if _, err := s.exec("NOOP", nil); !errors.Is(err, errProto) {
			t.Errorf("%q: err = %v, want a protocol error", reply, err)
		}
	}
	s, _ := pipeSession(t, []step{{"m1 NOOP\r\n", "* BYE going away\r\n"}})
	if _, err := s.exec("NOOP", nil); err == nil || errClass(err) != "io" {
		t.Errorf("BYE: err = %v", err)
	}
}

func TestSessionTimeout(t *testing.T) {
	s, _ := pipeSession(t, []step{{"m1 NOOP\r\n", "* 1 EXISTS\r\n"}})
	s.cfg.timeout = 100 * time.Millisecond
	t0 := time.Now()
	_, err := s.exec("NOOP", nil)
	if errClass(err) != "timeout" {
		t.Errorf("err = %v (%s), want a timeout", err, errClass(err))
	}
	if el := time.Since(t0); el > 2*time.Second {
		t.Errorf("took %s", el)
	}
}

func TestUIDSet(t *testing.T) {
	if got := uidSet([]uint32{9, 1, 2, 3, 4, 7, 10, 3}); got != "1:4,7,9:10" {
		t.Errorf("uidSet = %q", got)
	}
}

// TestTrim: a mailbox above -max-messages loses its oldest messages down
// to 90% of it, by UID, with UID EXPUNGE when the server has UIDPLUS and
// EXPUNGE otherwise.
func TestTrim(t *testing.T) {
	for _, uidplus := range []bool{true, false} {
		expunge := "m3 EXPUNGE\r\n"
		if uidplus {
			expunge = "m3 UID EXPUNGE 101:105,107:113\r\n"
		}
		var fetched, expunged strings.Builder
		for i := 1; i <= 12; i++ {
			fetched.WriteString("* " + strconv.Itoa(i) + " FETCH (UID " + strconv.Itoa(map[bool]int{true: 100, false: 101}[i <= 5]+i) + ")\r\n")
			expunged.WriteString("* 1 EXPUNGE\r\n")
		}
		s, done := pipeSession(t, []step{
			{"m1 FETCH 1:12 (UID)\r\n", fetched.String() + "m1 OK\r\n"},
			{"m2 UID STORE 101:105,107:113 +FLAGS.SILENT (\\Deleted)\r\n", "m2 OK\r\n"},
			{expunge, expunged.String() + "m3 OK\r\n"},
		})
		s.caps["UIDPLUS"] = uidplus
		s.uids = make([]uint32, 30)
		s.cfg.maxMessages = 20
		w := &worker{cfg: s.cfg, s: s}
		if err := w.trim(); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if len(s.uids) != 18 {
			t.Errorf("UIDPLUS %v: %d messages left, want 18", uidplus, len(s.uids))
		}
	}
}
