package imapserver

import (
	"testing"

	"rookery/internal/anatomy"
	"rookery/internal/store"
)

func TestBlobCache(t *testing.T) {
	c := newBlobCache(10_000)
	root := &anatomy.Part{}
	c.put("a", root, 10, nil, false)
	if b, ok := c.get("a"); !ok || b.hasContent {
		t.Fatalf("get a = %+v, %v; want an entry without content", b, ok)
	}
	// The content read later replaces the entry without it; an entry
	// without content never replaces one with it.
	c.put("a", root, 10, []byte("hello"), true)
	c.put("a", root, 10, nil, false)
	if b, _ := c.get("a"); !b.hasContent || string(b.content) != "hello" {
		t.Fatalf("content lost: %+v", b)
	}
	// Too big for the cache: not kept.
	c.put("big", root, 10, make([]byte, 5000), true)
	if _, ok := c.get("big"); ok {
		t.Fatal("an entry above an eighth of the cache was kept")
	}
	// Least recently used first out; the bound holds.
	for i := range 100 {
		c.put(store.BlobID(rune('A'+i%26))+store.BlobID(rune('0'+i/26)), root, 10, make([]byte, 500), true)
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
