package imapserver_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"rookery/internal/imapserver"
	"rookery/internal/imaptest"
	"rookery/internal/ingest"
	"rookery/internal/store"
)

// bigMessage is a generated ~50 MiB message: a header, a short text part
// and a base64 attachment of identical 76-character lines. Its bytes are
// produced on the fly by reader, never held at once.
type bigMessage struct {
	head, line, tail string
	lines            int64
}

func newBigMessage(size int64) bigMessage {
	raw := make([]byte, 57)
	for i := range raw {
		raw[i] = byte(i * 37)
	}
	m := bigMessage{
		head: "From: big@example.org\r\nTo: alice@example.org\r\nSubject: big\r\nMIME-Version: 1.0\r\n" +
			"Content-Type: multipart/mixed; boundary=\"big\"\r\n\r\n" +
			"--big\r\nContent-Type: text/plain\r\n\r\nA large attachment follows.\r\n" +
			"--big\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n",
		line: base64.StdEncoding.EncodeToString(raw) + "\r\n",
		tail: "--big--\r\n",
	}
	m.lines = (size - int64(len(m.head)+len(m.tail))) / int64(len(m.line))
	return m
}

func (m bigMessage) size() int64 {
	return int64(len(m.head)+len(m.tail)) + m.lines*int64(len(m.line))
}

func (m bigMessage) reader() io.Reader {
	return io.MultiReader(strings.NewReader(m.head), &repeatReader{line: m.line, left: m.lines}, strings.NewReader(m.tail))
}

// repeatReader yields line left times.
type repeatReader struct {
	line string
	left int64
	off  int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) && r.left > 0 {
		c := copy(p[n:], r.line[r.off:])
		n += c
		r.off += c
		if r.off == len(r.line) {
			r.off = 0
			r.left--
		}
	}
	if n == 0 && r.left == 0 {
		return 0, io.EOF
	}
	return n, nil
}

// countingStore counts the bytes read from the blobs it opens.
type countingStore struct {
	store.Store
	read *atomic.Int64
}

func (s countingStore) OpenBlob(ctx context.Context, id store.BlobID) (store.Blob, error) {
	b, err := s.Store.OpenBlob(ctx, id)
	if err != nil {
		return nil, err
	}
	return countingBlob{Blob: b, read: s.read}, nil
}

type countingBlob struct {
	store.Blob
	read *atomic.Int64
}

func (b countingBlob) ReadAt(p []byte, off int64) (int, error) {
	n, err := b.Blob.ReadAt(p, off)
	b.read.Add(int64(n))
	return n, err
}

// rawConn is a minimal client that can read literals without buffering
// them.
type rawConn struct {
	t  *testing.T
	nc net.Conn
	br *bufio.Reader
	// timeout bounds each read: a FETCH of a decoded 50 MB attachment
	// under the race detector on a loaded machine takes longer than
	// imaptest.ReadTimeout to start its answer (it decodes once for the
	// size first).
	timeout time.Duration
}

func (c *rawConn) send(line string) {
	c.t.Helper()
	_ = c.nc.SetWriteDeadline(time.Now().Add(imaptest.ReadTimeout))
	if _, err := io.WriteString(c.nc, line+"\r\n"); err != nil {
		c.t.Fatal(err)
	}
}

func (c *rawConn) line() string {
	c.t.Helper()
	_ = c.nc.SetReadDeadline(time.Now().Add(c.timeout))
	l, err := c.br.ReadString('\n')
	if err != nil {
		c.t.Fatalf("read: %v (after %q)", err, l)
	}
	return strings.TrimSuffix(l, "\r\n")
}

// untilTagged reads lines up to the tagged response, failing unless it is OK.
func (c *rawConn) untilTagged(tag string) {
	c.t.Helper()
	for {
		l := c.line()
		if strings.HasPrefix(l, tag+" ") {
			if !strings.HasPrefix(l, tag+" OK") {
				c.t.Fatalf("%s", l)
			}
			return
		}
	}
}

// literal reads a line ending in {n} (or ~{n}) and then the n bytes into
// w; it returns the line before the literal and n.
func (c *rawConn) literal(w io.Writer) (string, int64) {
	c.t.Helper()
	l := c.line()
	i := strings.LastIndexByte(l, '{')
	if i < 0 || !strings.HasSuffix(l, "}") {
		c.t.Fatalf("no literal in %q", l)
	}
	n, err := strconv.ParseInt(l[i+1:len(l)-1], 10, 64)
	if err != nil {
		c.t.Fatal(err)
	}
	_ = c.nc.SetReadDeadline(time.Now().Add(c.timeout))
	if _, err := io.CopyN(w, c.br, n); err != nil {
		c.t.Fatalf("literal of %d bytes: %v", n, err)
	}
	return strings.TrimRight(l[:i], "~"), n
}

// heapGrowth runs fn and returns how much the heap in use grew and how
// many bytes were allocated meanwhile, in the whole test process (server
// and client).
func heapGrowth(fn func()) (inuse int64, alloc uint64) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return int64(after.HeapInuse) - int64(before.HeapInuse), after.TotalAlloc - before.TotalAlloc
}

// TestFetchBigMessageStreams appends a 50 MiB message through the store
// and fetches it whole, partially, by part and decoded over a real
// connection: the server streams every literal from the blob, so the
// heap grows by far less than the message, and a partial fetch reads only
// its range of the blob.
func TestFetchBigMessageStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("50 MiB message")
	}
	const limit = 10 << 20
	var read atomic.Int64
	srv := imaptest.StartServer(t, func(o *imapserver.Options) {
		o.Store = countingStore{Store: o.Store, read: &read}
	})
	ctx := context.Background()
	msg := newBigMessage(50 << 20)
	acct, err := srv.Store.Account(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	mb, err := srv.Store.Mailbox(ctx, acct.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	var ref store.BlobRef
	inuse, alloc := heapGrowth(func() {
		ref, err = ingest.Write(ctx, srv.Store, msg.reader(), -1, nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("ingest.Write of %d bytes: heap in use %+d, allocated %d", msg.size(), inuse, alloc)
	if ref.Size != msg.size() {
		t.Fatalf("blob size %d, want %d", ref.Size, msg.size())
	}
	// Writing is not what this test is about and is looser (the race
	// detector's own allocations reach several MiB here): the message
	// must still not be held whole.
	if inuse > msg.size()/2 {
		t.Errorf("ingest.Write: heap in use grew by %d bytes", inuse)
	}
	if _, err := srv.Store.Append(ctx, mb.ID, []store.NewMessage{{Blob: ref}}); err != nil {
		t.Fatal(err)
	}

	nc, err := net.Dial("tcp", srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	c := &rawConn{t: t, nc: nc, br: bufio.NewReaderSize(nc, 4096), timeout: 3 * time.Minute}
	c.line() // greeting
	c.send(fmt.Sprintf("l LOGIN alice %q", imaptest.Users["alice"]))
	c.untilTagged("l")
	c.send("s SELECT INBOX")
	c.untilTagged("s")

	fetch := func(name, cmd string, w io.Writer) (prefix string, n int64) {
		t.Helper()
		read.Store(0)
		inuse, alloc := heapGrowth(func() {
			c.send("f " + cmd)
			prefix, n = c.literal(w)
			if l := c.line(); l != ")" {
				t.Errorf("%s: after the literal %q", name, l)
			}
			c.untilTagged("f")
		})
		t.Logf("%s: %d bytes, %d read from the blob; heap in use %+d, allocated %d", name, n, read.Load(), inuse, alloc)
		if inuse > limit || alloc > limit {
			t.Errorf("%s: heap in use grew by %d bytes, %d allocated (limit %d)", name, inuse, alloc, limit)
		}
		return prefix, n
	}

	// The whole message, read to io.Discard.
	if p, n := fetch("BODY[]", "FETCH 1 (BODY.PEEK[])", io.Discard); p != "* 1 FETCH (BODY[] " || n != msg.size() {
		t.Fatalf("BODY[]: %q %d, want %d bytes", p, n, msg.size())
	}
	if r := read.Load(); r != msg.size() {
		t.Errorf("BODY[] read %d bytes of the blob, want %d", r, msg.size())
	}

	// A range in the middle: exactly its bytes are read and sent.
	const off, count = 30<<20 + 123, 100000
	var got bytes.Buffer
	if p, n := fetch("BODY[]<o.n>", fmt.Sprintf("FETCH 1 (BODY.PEEK[]<%d.%d>)", off, count), &got); p != fmt.Sprintf("* 1 FETCH (BODY[]<%d> ", off) || n != count {
		t.Fatalf("partial: %q %d", p, n)
	}
	want := make([]byte, count)
	r := msg.reader()
	if _, err := io.CopyN(io.Discard, r, off); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(r, want); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Error("partial: wrong bytes")
	}
	if rd := read.Load(); rd != count {
		t.Errorf("partial read %d bytes of the blob, want %d", rd, count)
	}

	// The attachment's body (from the anatomy), partially: only the range.
	if p, n := fetch("BODY[2]<o.n>", "FETCH 1 (BODY.PEEK[2]<1000.5000>)", io.Discard); p != "* 1 FETCH (BODY[2]<1000> " || n != 5000 {
		t.Fatalf("BODY[2] partial: %q %d", p, n)
	}
	if rd := read.Load(); rd != 5000 {
		t.Errorf("BODY[2] partial read %d bytes of the blob, want 5000", rd)
	}

	// The attachment decoded: streamed too (decoded once for the size,
	// once while written).
	decoded := msg.lines * 57
	if p, n := fetch("BINARY[2]", "FETCH 1 (BINARY.PEEK[2])", io.Discard); !strings.HasPrefix(p, "* 1 FETCH (BINARY[2] ") || n != decoded {
		t.Fatalf("BINARY[2]: %q %d, want %d bytes", p, n, decoded)
	}
}
