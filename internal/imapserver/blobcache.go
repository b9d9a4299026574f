package imapserver

import (
	"container/list"
	"sync"

	"rookery/internal/anatomy"
	"rookery/internal/store"
)

// blobCache keeps, across sessions, the decoded anatomy of recently fetched
// messages and their content when the store holds it inline (small
// messages), keyed by content address. A content never changes, so an
// entry is never stale; clients that fetch the same messages again (the
// header list of a mailbox, several devices reading the new mail) are
// answered from memory instead of a store read and a decode per message.
// Bounded by bytes; the least recently used entry goes first.
type blobCache struct {
	max int64

	mu      sync.Mutex
	used    int64                          // guarded by mu
	lru     list.List                      // of *cachedBlob, most recent first; guarded by mu
	entries map[store.BlobID]*list.Element // guarded by mu
}

// cachedBlob is what the cache holds for one content. root is shared by
// every session that reads it and must not be modified.
type cachedBlob struct {
	id   store.BlobID
	root *anatomy.Part
	// content is the inline content when hasContent (nil then: the store
	// keeps it as a file); without hasContent it was never read.
	content    []byte
	hasContent bool
	cost       int64
}

// blobCacheBytes bounds the memory of the cache.
const blobCacheBytes = 64 << 20

func newBlobCache(max int64) *blobCache {
	return &blobCache{max: max, entries: make(map[store.BlobID]*list.Element)}
}

// get returns the cached anatomy and content of id.
func (c *blobCache) get(id store.BlobID) (*cachedBlob, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[id]
	if !ok {
		return nil, false
	}
	c.lru.MoveToFront(e)
	return e.Value.(*cachedBlob), true
}

// entryOverhead is about what an entry takes besides its anatomy and
// content: the cachedBlob, its list element and its map slot.
const entryOverhead = 192

// put records the decoded anatomy of id and, when hasContent, its inline
// content (nil: kept as a file), and returns the entry, an existing one
// if it holds as much. The entry costs what it holds in memory: the
// decoded tree is 6 to 11 times its encoding (anatomy.Part.MemSize),
// which the cache once counted 4 times, so that 64 MiB of cost could be
// 180 MiB of heap.
func (c *blobCache) put(id store.BlobID, root *anatomy.Part, content []byte, hasContent bool) *cachedBlob {
	b := &cachedBlob{id: id, root: root, content: content, hasContent: hasContent}
	b.cost = root.MemSize() + int64(cap(content)) + entryOverhead
	if b.cost > c.max/8 {
		return b // too big to be worth the room
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[id]; ok {
		old := e.Value.(*cachedBlob)
		if old.hasContent || !hasContent {
			c.lru.MoveToFront(e)
			return old
		}
		c.lru.Remove(e)
		c.used -= old.cost
	}
	c.entries[id] = c.lru.PushFront(b)
	c.used += b.cost
	for c.used > c.max {
		old := c.lru.Back()
		ob := old.Value.(*cachedBlob)
		c.lru.Remove(old)
		delete(c.entries, ob.id)
		c.used -= ob.cost
	}
	return b
}
