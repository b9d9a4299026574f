package imapserver

import (
	"context"
	"sync"
	"time"

	"rookery/internal/imapnum"
	"rookery/internal/store"
)

// sortCache keeps what SORT and THREAD read of each message
// (store.SortFields with the Date parsed, internal date and size), per
// mailbox, across sessions: a message's content never changes, so an
// entry for (mailbox, UIDVALIDITY, UID) stays true until the message is
// gone, and a repeated SORT or THREAD of a large mailbox reads only the
// messages that arrived since. A mailbox holds the Message-ID,
// In-Reply-To and References fields only once a THREAD asked for them.
// Entries of expunged messages are dropped when a mailbox's entries
// outnumber its messages; whole mailboxes are dropped, least recently
// used first, above maxBytes.
type sortCache struct {
	maxBytes int

	mu    sync.Mutex
	boxes map[sortBoxKey]*sortBox // guarded by mu
	bytes int                     // sum of box.bytes; guarded by mu
	clock uint64                  // guarded by mu
}

// sortCacheWant is what the cache holds of each message; sortCacheIDs is
// added for THREAD.
const (
	sortCacheWant = store.SortDate | store.SortSubject
	sortCacheIDs  = store.SortIDs
)

type sortBoxKey struct {
	mbox        store.MailboxID
	uidValidity uint32
}

type sortBox struct {
	mu       sync.Mutex // held while a SORT reads or fills the rows
	rows     []sortRow  // ascending by UID
	rowBytes int        // memory of rows (sortRow.memSize)
	ids      bool       // rows hold the THREAD fields

	used  uint64 // last use (sortCache.clock); guarded by sortCache.mu
	bytes int    // memory of rows as counted in sortCache.bytes; guarded by sortCache.mu
}

// sortRow is one message's entry, kept small (about 100 bytes with its
// subject, a few hundred with the THREAD fields): a large mailbox has
// many.
type sortRow struct {
	uid      store.UID
	hasSent  bool
	internal int64 // internal date, Unix seconds
	size     int64
	sent     int64  // SortFields.Sent, Unix seconds, if hasSent
	date     string // SortFields.Date (when the index did not parse it)
	subject  string
	msgID    string
	reply    string // In-Reply-To
	refs     string
}

// memSize is about how much memory the row holds.
func (r *sortRow) memSize() int {
	return 112 + len(r.date) + len(r.subject) + len(r.msgID) + len(r.reply) + len(r.refs)
}

func newSortRow(m store.Message, f *store.SortFields) sortRow {
	r := sortRow{uid: m.UID, internal: m.InternalDate.Unix(), size: m.Size, date: f.Date, subject: f.Subject,
		msgID: f.MessageID, reply: f.InReplyTo, refs: f.References}
	if !f.Sent.IsZero() {
		r.hasSent, r.sent = true, f.Sent.Unix()
	}
	return r
}

// message returns the row as SortFields gives it, the fields in f.
func (r *sortRow) message(f *store.SortFields) store.Message {
	*f = store.SortFields{Date: r.date, Subject: r.subject, MessageID: r.msgID, InReplyTo: r.reply, References: r.refs}
	if r.hasSent {
		f.Sent = time.Unix(r.sent, 0).UTC()
	}
	return store.Message{UID: r.uid, InternalDate: time.Unix(r.internal, 0).UTC(), Size: r.size}
}

func newSortCache(maxBytes int) *sortCache {
	return &sortCache{maxBytes: maxBytes, boxes: make(map[sortBoxKey]*sortBox)}
}

// box returns the entries of a mailbox, marked as just used.
func (c *sortCache) box(k sortBoxKey) *sortBox {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.clock++
	b := c.boxes[k]
	if b == nil {
		b = &sortBox{}
		c.boxes[k] = b
	}
	b.used = c.clock
	return b
}

// resized records a box's new memory size and drops least recently used
// other boxes while the cache holds more than maxBytes. A box dropped
// while a SORT was filling it is no longer counted.
func (c *sortCache) resized(k sortBoxKey, b *sortBox, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.boxes[k] != b {
		return
	}
	c.bytes += n - b.bytes
	b.bytes = n
	for c.bytes > c.maxBytes {
		var oldest sortBoxKey
		var victim *sortBox
		for k, o := range c.boxes {
			if o != b && (victim == nil || o.used < victim.used) {
				oldest, victim = k, o
			}
		}
		if victim == nil {
			return // b alone is over the limit: keep it for this SORT
		}
		delete(c.boxes, oldest)
		c.bytes -= victim.bytes
	}
}

// sortFields is store.SearchIndex.SortFields for what the cache holds (want
// within sortCacheWant|sortCacheIDs, no metadata): cached messages are
// answered from memory, the others read with one store read per set and
// kept. live is how many messages the mailbox has, to drop entries of
// expunged ones. Messages whose content is not indexed are passed on
// uncached.
func (c *sortCache) sortFields(ctx context.Context, idx store.SearchIndex, k sortBoxKey, live int, set imapnum.Set, want store.SortWant, fn func(store.Message, *store.SortFields) error) error {
	b := c.box(k)
	b.mu.Lock()
	defer b.mu.Unlock()
	if want&sortCacheIDs != 0 && !b.ids {
		b.rows, b.rowBytes, b.ids = nil, 0, true // read again, with the THREAD fields
	}
	// The set's UIDs and the rows are both ascending: one merge walk.
	var missing []store.UID
	var fields []store.SortFields // handed to fn, allocated 1024 at a time
	i := 0
	for _, r := range set {
		for u := r.Start; ; u++ {
			for i < len(b.rows) && b.rows[i].uid < u {
				i++
			}
			if i < len(b.rows) && b.rows[i].uid == u {
				if len(fields) == cap(fields) {
					fields = make([]store.SortFields, 0, 1024)
				}
				fields = fields[:len(fields)+1]
				f := &fields[len(fields)-1]
				if err := fn(b.rows[i].message(f), f); err != nil {
					return err
				}
			} else {
				missing = append(missing, u)
			}
			if u == r.Stop {
				break
			}
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if len(b.rows) > 2*live+1024 {
		b.rows, b.rowBytes = nil, 0 // mostly expunged messages: start the mailbox afresh
	}
	fetch := sortCacheWant
	if b.ids {
		fetch |= sortCacheIDs
	}
	var fresh []sortRow
	err := idx.SortFields(ctx, k.mbox, imapnum.Compact(missing), fetch, func(m store.Message, f *store.SortFields) error {
		if f != nil {
			fresh = append(fresh, newSortRow(m, f))
			b.rowBytes += fresh[len(fresh)-1].memSize()
		}
		return fn(m, f)
	})
	b.rows = mergeRows(b.rows, fresh)
	c.resized(k, b, b.rowBytes)
	return err
}

// mergeRows merges two UID-ascending row lists with distinct UIDs.
func mergeRows(a, b []sortRow) []sortRow {
	if len(b) == 0 {
		return a
	}
	if len(a) == 0 || a[len(a)-1].uid < b[0].uid {
		return append(a, b...) // new messages: the usual case
	}
	out := make([]sortRow, 0, len(a)+len(b))
	for len(a) > 0 && len(b) > 0 {
		if a[0].uid < b[0].uid {
			out, a = append(out, a[0]), a[1:]
		} else {
			out, b = append(out, b[0]), b[1:]
		}
	}
	return append(append(out, a...), b...)
}
