package imapserver_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"rookery/internal/imaptest"
	"rookery/internal/ingest"
	"rookery/internal/store"
)

// mixedMessage returns one of several message shapes (plain, alternative,
// attachments, forwarded message) made distinct by i.
func mixedMessage(i int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: \"Sender %d\" <sender%d@example.org>\r\nTo: alice@example.org, \"Bob\" <bob@example.com>\r\nSubject: mixed message %d\r\nDate: Mon, 7 Feb 2022 21:52:25 -0800\r\nMessage-ID: <%d@bench>\r\nMIME-Version: 1.0\r\n", i, i, i, i)
	switch i % 4 {
	case 0:
		b.WriteString("Content-Type: text/plain; charset=utf-8\r\n\r\n")
		b.Write(bytes.Repeat([]byte("plain text body line\r\n"), 100))
	case 1:
		b.WriteString("Content-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n--alt\r\nContent-Type: text/plain\r\n\r\nhello\r\n--alt\r\nContent-Type: text/html\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n<p>hello=20world</p>\r\n--alt--\r\n")
	case 2:
		b.WriteString("Content-Type: multipart/mixed; boundary=\"mix\"\r\n\r\n--mix\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--mix\r\nContent-Type: application/pdf; name=\"a.pdf\"\r\nContent-Disposition: attachment; filename=\"a.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n")
		b.Write(bytes.Repeat([]byte("QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0\r\n"), 40))
		b.WriteString("--mix--\r\n")
	case 3:
		b.WriteString("Content-Type: multipart/mixed; boundary=\"fw\"\r\n\r\n--fw\r\nContent-Type: text/plain\r\n\r\nforwarded\r\n--fw\r\nContent-Type: message/rfc822\r\n\r\nFrom: inner@example.org\r\nSubject: inner\r\n\r\ninner body\r\n--fw--\r\n")
	}
	return b.Bytes()
}

// fillMixed puts n messages (200 distinct contents, cycled) into alice's INBOX.
func fillMixed(b *testing.B, srv *imaptest.Server, n int) {
	ctx := context.Background()
	acct, err := srv.Store.Account(ctx, "alice")
	if err != nil {
		b.Fatal(err)
	}
	mb, err := srv.Store.Mailbox(ctx, acct.ID, "INBOX")
	if err != nil {
		b.Fatal(err)
	}
	refs := make([]store.BlobRef, 200)
	for i := range refs {
		if refs[i], err = ingest.Write(ctx, srv.Store, bytes.NewReader(mixedMessage(i)), -1, nil); err != nil {
			b.Fatal(err)
		}
	}
	const batch = 1000
	msgs := make([]store.NewMessage, batch)
	for done := 0; done < n; done += batch {
		for i := range msgs {
			msgs[i] = store.NewMessage{Blob: refs[(done+i)%len(refs)]}
		}
		if _, err := srv.Store.Append(ctx, mb.ID, msgs[:min(batch, n-done)]); err != nil {
			b.Fatal(err)
		}
	}
}

// keepDir is nopCleanup whose TempDir outlives the benchmark too: the
// shared server opens blob files in later benchmarks. The directories are
// removed when the test binary ends (TestMain).
type keepDir struct{ nopCleanup }

// keptDirs are the directories keepDir made, and the cleanups given to
// it (a PostgreSQL benchmark server's database is dropped by one).
var keptDirs struct {
	sync.Mutex
	dirs     []string
	cleanups []func()
}

// Cleanup runs f when the test binary ends (TestMain).
func (k keepDir) Cleanup(f func()) {
	keptDirs.Lock()
	keptDirs.cleanups = append(keptDirs.cleanups, f)
	keptDirs.Unlock()
}

func (k keepDir) TempDir() string {
	d, err := os.MkdirTemp("", "rookery-bench-")
	if err != nil {
		k.Fatal(err)
	}
	keptDirs.Lock()
	keptDirs.dirs = append(keptDirs.dirs, d)
	keptDirs.Unlock()
	return d
}

// TestMain removes the shared benchmark servers' data (a 100,000-message
// search corpus is 2 GB) once every test and benchmark has run.
func TestMain(m *testing.M) {
	code := m.Run()
	keptDirs.Lock()
	for i := len(keptDirs.cleanups) - 1; i >= 0; i-- {
		keptDirs.cleanups[i]()
	}
	for _, d := range keptDirs.dirs {
		_ = os.RemoveAll(d)
	}
	keptDirs.Unlock()
	os.Exit(code)
}

var mixed struct {
	once sync.Once
	srv  *imaptest.Server
}

func mixedServer(b *testing.B) *imaptest.Server {
	mixed.once.Do(func() {
		srv := imaptest.StartServer(keepDir{nopCleanup{b}})
		fillMixed(b, srv, 10_000)
		mixed.srv = srv
	})
	if mixed.srv == nil {
		b.Fatal("setup failed")
	}
	return mixed.srv
}

// BenchmarkFetchStructure10k measures FETCH 1:* (ENVELOPE BODYSTRUCTURE
// FLAGS) of 10,000 mixed messages (target < 1 s).
func BenchmarkFetchStructure10k(b *testing.B) {
	c := benchDial(b, mixedServer(b).Addr, "alice")
	c.cmd(b, "EXAMINE INBOX")
	b.ResetTimer()
	for b.Loop() {
		if n := c.cmd(b, "FETCH 1:* (ENVELOPE BODYSTRUCTURE FLAGS)"); n < 10_000 {
			b.Fatalf("got %d lines", n)
		}
	}
}

// BenchmarkFetchHeaderFields10k measures FETCH 1:* (BODY.PEEK[HEADER.FIELDS
// (FROM SUBJECT DATE)]) of 10,000 messages (target < 500 ms).
func BenchmarkFetchHeaderFields10k(b *testing.B) {
	c := benchDial(b, mixedServer(b).Addr, "alice")
	c.cmd(b, "EXAMINE INBOX")
	b.ResetTimer()
	for b.Loop() {
		if n := c.cmd(b, "FETCH 1:* (BODY.PEEK[HEADER.FIELDS (FROM SUBJECT DATE)])"); n < 10_000 {
			b.Fatalf("got %d lines", n)
		}
	}
}

// BenchmarkAppendCorpus measures durable APPENDs of the MIME corpus
// messages (parsed at ingest) from 8 concurrent clients.
func BenchmarkAppendCorpus(b *testing.B) {
	files, _ := filepath.Glob("../../testdata/mime/*.eml")
	var msgs [][]byte
	for _, f := range files {
		if m, err := os.ReadFile(f); err == nil && len(m) > 0 {
			msgs = append(msgs, m)
		}
	}
	srv := imaptest.StartServer(b)
	c := benchDial(b, srv.Addr, "alice")
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		m := msgs[i%len(msgs)]
		m = append(fmt.Appendf(nil, "X-Seq: %d\r\n", i), m...)
		c.tag++
		tag := fmt.Sprintf("a%d", c.tag)
		fmt.Fprintf(c.nc, "%s APPEND INBOX {%d+}\r\n%s\r\n", tag, len(m), m)
		c.wait(b, tag)
	}
}
