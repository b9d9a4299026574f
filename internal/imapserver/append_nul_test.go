package imapserver_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"rookery/internal/imapserver"
	"rookery/internal/imaptest"
	"rookery/internal/store/sqlitestore"
)

// TestAppendNULStreamed checks the refusal of a NUL in a literal that is
// not a literal8 when the message is large enough to be streamed to a blob
// file: nothing of it is left (no file under its name or any other, no
// temporary file), and a MULTIAPPEND whose second message has the NUL
// appends none of its messages.
func TestAppendNULStreamed(t *testing.T) {
	srv := imaptest.StartServer(t, func(o *imapserver.Options) { o.AppendLimit = 1 << 20 })
	blobs := srv.Store.(*sqlitestore.Store).Blobs()
	files := func() map[string]bool {
		t.Helper()
		ids := map[string]bool{}
		if err := blobs.List(context.Background(), func(id string, _ int64) error {
			ids[id] = true
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return ids
	}
	c := srv.Dial(t)
	c.Expect(t, "* OK *")
	c.Login("alice", "pass")

	big := func(subject string) string { // well above the 64 KiB kept in the database
		return "Subject: " + subject + "\r\n\r\n" + strings.Repeat(strings.Repeat("z", 78)+"\r\n", 2000)
	}
	good := big("good")
	bad := big("bad")
	bad = bad[:len(bad)-3] + "\x00\r\n" // the NUL comes in the last read
	badID := sha256.Sum256([]byte(bad))

	c.Send("a1 APPEND INBOX {" + strconv.Itoa(len(bad)) + "+}\r\n" + bad)
	c.Expect(t, "a1 BAD [CLIENTBUG] Syntax error: NUL in literal *")
	if got := files(); len(got) != 0 {
		t.Errorf("after the refused APPEND, blob files %v", got)
	}

	c.Send("a2 APPEND INBOX {" + strconv.Itoa(len(good)) + "+}\r\n" + good + " {" + strconv.Itoa(len(bad)) + "+}\r\n" + bad)
	c.Expect(t, "a2 BAD [CLIENTBUG] Syntax error: NUL in literal *")
	c.Send("a3 STATUS INBOX (MESSAGES)")
	c.Expect(t, "* STATUS INBOX (MESSAGES 0)", "a3 OK *")
	if got := files(); got[hex.EncodeToString(badID[:])] || len(got) > 1 {
		// The first message's complete file may stay until
		// `rookery check --repair` collects it; nothing of the second.
		t.Errorf("after the refused MULTIAPPEND, blob files %v", got)
	}
	tmp, err := os.ReadDir(filepath.Join(blobs.Dir(), "tmp"))
	if err != nil || len(tmp) != 0 {
		t.Errorf("temporary files left: %v %v", tmp, err)
	}
}
