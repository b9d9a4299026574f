package imapserver_test

import (
	"strconv"
	"strings"
	"testing"

	"rookery/internal/imaptest"
)

// TestMultiAppendMemoryLimit checks that one MULTIAPPEND cannot make the
// server hold unbounded data until its commit: past the limit it gets
// NO [LIMIT], nothing is appended, and the connection stays in step.
func TestMultiAppendMemoryLimit(t *testing.T) {
	srv := imaptest.StartServer(t)
	c := srv.Dial(t)
	c.Expect(t, "* OK *")
	c.Login("alice", "pass")

	// 60 KB messages (each kept inline, its text indexed): about 120 KB
	// of memory each, so the 64 MiB bound is passed after ~550 of 700.
	var b strings.Builder
	b.WriteString("a1 APPEND INBOX")
	for i := range 700 {
		msg := "Subject: m" + strconv.Itoa(i) + "\r\n\r\n" + strings.Repeat(strings.Repeat("y", 78)+"\r\n", 60<<10/80) + "\r\n"
		b.WriteString(" {" + strconv.Itoa(len(msg)) + "+}\r\n" + msg)
	}
	c.Send(b.String())
	c.Expect(t, "a1 NO [LIMIT] *")
	c.Send("a2 STATUS INBOX (MESSAGES)")
	c.Expect(t, "* STATUS INBOX (MESSAGES 0)", "a2 OK *")
}
