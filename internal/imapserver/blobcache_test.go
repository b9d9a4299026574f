package imapserver

import (
	"runtime"
	"strconv"
	"strings"
	"testing"

	"rookery/internal/anatomy"
	"rookery/internal/store"
)

func TestBlobCache(t *testing.T) {
	c := newBlobCache(10_000)
	root := &anatomy.Part{}
	c.put("a", root, nil, false)
	if b, ok := c.get("a"); !ok || b.hasContent {
		t.Fatalf("get a = %+v, %v; want an entry without content", b, ok)
	}
	// The content read later replaces the entry without it; an entry
	// without content never replaces one with it.
	c.put("a", root, []byte("hello"), true)
	c.put("a", root, nil, false)
	if b, _ := c.get("a"); !b.hasContent || string(b.content) != "hello" {
		t.Fatalf("content lost: %+v", b)
	}
	// Too big for the cache: not kept.
	c.put("big", root, make([]byte, 5000), true)
	if _, ok := c.get("big"); ok {
		t.Fatal("an entry above an eighth of the cache was kept")
	}
	// Least recently used first out; the bound holds.
	for i := range 100 {
		c.put(store.BlobID(rune('A'+i%26))+store.BlobID(rune('0'+i/26)), root, make([]byte, 500), true)
		c.get("a")
	}
	if _, ok := c.get("a"); !ok {
		t.Fatal("the most recently used entry was evicted")
	}
	if c.used > c.max {
		t.Fatalf("%d bytes used, bound %d", c.used, c.max)
	}
	if n := len(c.entries); n != c.lru.Len() || n > 20 {
		t.Fatalf("%d entries, %d in the list", n, c.lru.Len())
	}
}

// TestBlobCacheCost: what the cache counts covers the heap its entries
// hold (decoded anatomies take 6 to 11 times their encoding), so that its
// bound is one of memory.
func TestBlobCacheCost(t *testing.T) {
	var sb strings.Builder
	sb.WriteString("From: a@example.org\r\nSubject: parts\r\nContent-Type: multipart/mixed; boundary=p\r\n\r\n")
	for range 2000 {
		sb.WriteString("--p\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nx\r\n")
	}
	sb.WriteString("--p--\r\n")
	enc := anatomy.Marshal(anatomy.ParseBytes([]byte(sb.String())))
	c := newBlobCache(1 << 30)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range 20 {
		root, err := anatomy.Unmarshal(enc)
		if err != nil {
			t.Fatal(err)
		}
		c.put(store.BlobID(strconv.Itoa(i)), root, make([]byte, 1000), true)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	heap := int64(after.HeapAlloc - before.HeapAlloc)
	t.Logf("encoded %d bytes, 20 entries: cost %d, heap %d", len(enc), c.used, heap)
	if c.used < heap*3/4 || c.used > heap*5/4 {
		t.Errorf("cache counts %d bytes for %d of heap", c.used, heap)
	}
	runtime.KeepAlive(c)
}
