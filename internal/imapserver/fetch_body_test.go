package imapserver_test

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"rookery/internal/imaptest"
	"rookery/internal/ingest"
	"rookery/internal/store"
)

// appendRaw puts msg into alice's INBOX through the store; withAnatomy
// false stores it as content written before anatomies existed.
func appendRaw(t *testing.T, srv *imaptest.Server, msg []byte, withAnatomy bool) {
	t.Helper()
	ctx := context.Background()
	acct, err := srv.Store.Account(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	mb, err := srv.Store.Mailbox(ctx, acct.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	ref, err := ingest.Write(ctx, srv.Store, bytes.NewReader(msg), -1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !withAnatomy {
		ref.Anatomy = nil
	}
	if _, err := srv.Store.Append(ctx, mb.ID, []store.NewMessage{{Blob: ref}}); err != nil {
		t.Fatal(err)
	}
}

func TestFetchAnatomyItems(t *testing.T) {
	srv := imaptest.StartServer(t)
	msg4, err := os.ReadFile("../../testdata/mime/04-mixed-attach-2231.eml")
	if err != nil {
		t.Fatal(err)
	}
	msg3, err := os.ReadFile("../../testdata/mime/03-alternative.eml")
	if err != nil {
		t.Fatal(err)
	}
	appendRaw(t, srv, msg4, true)
	appendRaw(t, srv, msg3, false) // anatomy parsed lazily on first FETCH
	c := srv.Dial(t)
	c.ReadLine() // greeting
	c.Login("alice", imaptest.Users["alice"])
	c.Send("s SELECT INBOX")
	c.ReadUntilTagged("s")

	// BINARY of a part with an encoding it cannot decode.
	c.Send("a FETCH 1 (BINARY.PEEK[3])")
	c.Expect(t, `a NO [UNKNOWN-CTE] *`)

	// Structure of the lazily parsed message, twice (the second from the
	// stored anatomy).
	for _, tag := range []string{"b1", "b2"} {
		c.Send(tag + " FETCH 2 (BODYSTRUCTURE)")
		c.Expect(t, `* 2 FETCH (BODYSTRUCTURE (("TEXT" "PLAIN" ("CHARSET" "utf-8") NIL NIL "QUOTED-PRINTABLE" 45 1 NIL NIL NIL NIL)("TEXT" "HTML" ("CHARSET" "utf-8") NIL NIL "BASE64" 82 1 NIL NIL NIL NIL) "ALTERNATIVE" ("BOUNDARY" "b1") NIL NIL NIL))`,
			tag+" OK *")
	}

	// Decoded BINARY and its size; non-PEEK sets \Seen and reports FLAGS.
	c.Send("c FETCH 2 (BINARY.SIZE[2] BINARY[2]<0.6>)")
	lines := c.ReadUntilTagged("c")
	got := strings.Join(lines, "\n")
	if !strings.Contains(got, "BINARY.SIZE[2] 60") || !strings.Contains(got, "BINARY[2]<0> {6}") || !strings.Contains(got, "<html>") || !strings.Contains(got, `FLAGS (\Seen`) {
		t.Fatalf("BINARY: %q", got)
	}

	c.Send("d FETCH 1:2 (PREVIEW)")
	c.Expect(t, `* 1 FETCH (PREVIEW "See attached.")`, `* 2 FETCH (PREVIEW {34}`, "Grüße, this is soft broken text.)", "d OK *")

	c.Send(`e FETCH 1 (BODY.PEEK[HEADER.FIELDS (Subject "To")] BODY.PEEK[2.MIME]<0.12> ENVELOPE)`)
	lines = c.ReadUntilTagged("e")
	got = strings.Join(lines, "\n")
	if !strings.Contains(got, "BODY[HEADER.FIELDS (Subject To)] {45}") || !strings.Contains(got, "BODY[2.MIME]<0> {12}") ||
		!strings.Contains(got, `ENVELOPE (NIL "attachments" ((NIL NIL "alice" "example.org"))`) {
		t.Fatalf("sections: %q", got)
	}
}
