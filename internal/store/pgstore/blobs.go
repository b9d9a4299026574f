package pgstore

import (
	"bytes"
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"sync"

	"github.com/jackc/pgx/v5"

	"rookery/internal/store"
)

// Contents. A content of at most inlineMax bytes travels from WriteBlob
// to Append in BlobRef.Content and is inserted (blobs.content) by the
// Append transaction that references it. A larger one is streamed by
// WriteBlob into blob_chunks, chunkSize bytes a row, in one transaction
// with its blobs row, which is pinned for blobPin so that the Append
// following it finds it even if a concurrent expunge drops the last
// reference of the same content. Reference counts are changed in the
// transactions that insert and delete messages; a row whose count drops
// to 0 is deleted there (with its chunks and text) unless pinned, and
// pinned rows left unreferenced are swept later (sweepBlobs).
const (
	inlineMax = 64 << 10
	chunkSize = 256 << 10
	blobPin   = "1 hour"
)

// WriteBlob implements store.Store.
func (s *Store) WriteBlob(ctx context.Context, r io.Reader, maxSize int64) (store.BlobRef, error) {
	// Grown as the content comes: most are far smaller than inlineMax.
	buf := bytes.NewBuffer(make([]byte, 0, 16<<10))
	if _, err := io.Copy(buf, io.LimitReader(r, inlineMax+1)); err != nil {
		return store.BlobRef{}, fmt.Errorf("pgstore: write blob: read content: %w", err)
	}
	head, n := buf.Bytes(), buf.Len()
	if n <= inlineMax {
		if maxSize >= 0 && int64(n) > maxSize {
			return store.BlobRef{}, fmt.Errorf("pgstore: write blob: %w: more than %d bytes", store.ErrTooBig, maxSize)
		}
		if err := ctx.Err(); err != nil {
			return store.BlobRef{}, fmt.Errorf("pgstore: write blob: %w", s.lost(err))
		}
		sum := sha256.Sum256(head)
		return store.BlobRef{ID: store.BlobID(hex.EncodeToString(sum[:])), Size: int64(n), Content: head}, nil
	}
	ref, err := s.writeChunks(ctx, io.MultiReader(bytes.NewReader(head), r), maxSize)
	if err != nil {
		return store.BlobRef{}, fmt.Errorf("pgstore: write blob: %w", s.lost(err))
	}
	return ref, nil
}

// chunkSource streams a content into COPY, one chunk a row, hashing it
// and counting its size on the way.
type chunkSource struct {
	r       io.Reader
	max     int64
	h       hash.Hash
	buf     []byte
	seq     int32
	size    int64
	cur     []byte
	err     error
	chunkID int64
}

func (c *chunkSource) Next() bool {
	if c.err != nil {
		return false
	}
	n, err := io.ReadFull(c.r, c.buf)
	if n > 0 {
		c.size += int64(n)
		if c.max >= 0 && c.size > c.max {
			c.err = fmt.Errorf("%w: more than %d bytes", store.ErrTooBig, c.max)
			return false
		}
		c.h.Write(c.buf[:n])
		c.cur = c.buf[:n]
		c.seq++
	}
	switch {
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		c.r = eofReader{}
		return n > 0
	case err != nil:
		c.err = contentError{fmt.Errorf("read content: %w", err)}
		return false
	}
	return true
}

func (c *chunkSource) Values() ([]any, error) {
	return []any{c.chunkID, c.seq - 1, c.cur}, nil
}

func (c *chunkSource) Err() error { return c.err }

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

// writeChunks stores a large content in chunks and pins its blobs row.
func (s *Store) writeChunks(ctx context.Context, r io.Reader, maxSize int64) (store.BlobRef, error) {
	var ref store.BlobRef
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return ref, err
	}
	defer tx.Rollback(context.Background()) //nolint:errcheck // after Commit, a no-op
	src := &chunkSource{r: r, max: maxSize, h: sha256.New(), buf: make([]byte, chunkSize)}
	if err := tx.QueryRow(ctx, `SELECT nextval('chunk_ids')`).Scan(&src.chunkID); err != nil {
		return ref, err
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"blob_chunks"}, []string{"chunks", "seq", "data"}, src); err != nil {
		if src.err != nil {
			return ref, src.err
		}
		return ref, err
	}
	if src.err != nil {
		return ref, src.err
	}
	ref.ID, ref.Size = store.BlobID(hex.EncodeToString(src.h.Sum(nil))), src.size
	var chunks *int64
	if err := tx.QueryRow(ctx, `INSERT INTO blobs(id, size, refcount, chunks, pinned_until)
		VALUES ($1, $2, 0, $3, now() + interval '`+blobPin+`')
		ON CONFLICT (id) DO UPDATE SET pinned_until = greatest(blobs.pinned_until, EXCLUDED.pinned_until)
		RETURNING chunks`, string(ref.ID), ref.Size, src.chunkID).Scan(&chunks); err != nil {
		return ref, err
	}
	if chunks == nil || *chunks != src.chunkID {
		// Stored already: keep that copy (pinned again), drop this one.
		if _, err := tx.Exec(ctx, `DELETE FROM blob_chunks WHERE chunks = $1`, src.chunkID); err != nil {
			return ref, err
		}
	}
	return ref, tx.Commit(ctx)
}

// OpenBlob implements store.Store. A large content comes with its
// first headRead bytes (a FETCH of header fields reads no more); the
// rest is read a range at a time, under ctx.
func (s *Store) OpenBlob(ctx context.Context, id store.BlobID) (store.Blob, error) {
	if h, ok := s.heads.get(id); ok {
		return &chunkBlob{s: s, ctx: ctx, blob: id, id: h.chunks, size: h.size, buf: h.head}, nil
	}
	var size int64
	var content, head []byte
	var chunks *int64
	err := s.readRetry(ctx, func() error {
		return s.pool.QueryRow(ctx, `SELECT b.size, b.content, b.chunks,
			(SELECT substr(c.data, 1, $2) FROM blob_chunks c WHERE c.chunks = b.chunks AND c.seq = 0)
		FROM blobs b WHERE b.id = $1`, string(id), int32(headRead)).Scan(&size, &content, &chunks, &head)
	})
	if errors.Is(err, pgx.ErrNoRows) || err == nil && content == nil && chunks == nil {
		return nil, fmt.Errorf("pgstore: open blob %s: %w", id, store.ErrNoSuchMessage)
	}
	if err != nil {
		return nil, fmt.Errorf("pgstore: open blob %s: %w", id, s.lost(err))
	}
	if content != nil {
		return inlineBlob{bytes.NewReader(content)}, nil
	}
	s.heads.put(id, *chunks, size, head)
	return &chunkBlob{s: s, ctx: ctx, blob: id, id: *chunks, size: size, buf: head}, nil
}

// headCacheBytes bounds the heads of large contents a Store keeps.
const headCacheBytes = 8 << 20

// headCache keeps the heads of large contents (up to the end of their
// header section, at most headRead bytes) with their size and chunks,
// so that a FETCH of header fields opens them without a round trip: a
// content is named by its hash, so what it holds never changes. One
// deleted meanwhile (its last message expunged) still opens from the
// cache; reading past its head then fails with ErrNoSuchMessage.
type headCache struct {
	mu      sync.Mutex
	used    int64
	lru     *list.List // of *cachedHead, most recent first; guarded by mu
	entries map[store.BlobID]*list.Element
}

type cachedHead struct {
	id           store.BlobID
	chunks, size int64
	head         []byte // read-only
}

func newHeadCache() *headCache {
	return &headCache{lru: list.New(), entries: map[store.BlobID]*list.Element{}}
}

func (c *headCache) get(id store.BlobID) (cachedHead, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[id]
	if !ok {
		return cachedHead{}, false
	}
	c.lru.MoveToFront(e)
	return *e.Value.(*cachedHead), true
}

// put keeps the head of content id, cut after its header section.
func (c *headCache) put(id store.BlobID, chunks, size int64, head []byte) {
	if i := bytes.Index(head, []byte("\r\n\r\n")); i >= 0 {
		head = head[:i+4]
	}
	head = bytes.Clone(head)
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[id]; ok {
		c.used -= int64(len(e.Value.(*cachedHead).head))
		c.lru.Remove(e)
	}
	c.entries[id] = c.lru.PushFront(&cachedHead{id: id, chunks: chunks, size: size, head: head})
	c.used += int64(len(head))
	for c.used > headCacheBytes {
		old := c.lru.Remove(c.lru.Back()).(*cachedHead)
		delete(c.entries, old.id)
		c.used -= int64(len(old.head))
	}
}

// clear forgets every content.
func (c *headCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lru.Init()
	clear(c.entries)
	c.used = 0
}

// drop forgets the contents ids.
func (c *headCache) drop(ids ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range ids {
		if e, ok := c.entries[store.BlobID(id)]; ok {
			c.used -= int64(len(e.Value.(*cachedHead).head))
			c.lru.Remove(e)
			delete(c.entries, store.BlobID(id))
		}
	}
}

// headRead is how much of a large content OpenBlob reads with it, and
// the least a ReadAt that does not follow the previous one reads.
const headRead = 16 << 10

// inlineBlob is an open small content.
type inlineBlob struct{ *bytes.Reader }

func (inlineBlob) Close() error { return nil }

// chunkBlob is an open large content. ReadAt reads the range it needs
// (a piece of a chunk: substr of the row) and keeps it for the next
// reads; a read that continues the previous one (a content streamed in
// order) reads on to the end of its last chunk.
type chunkBlob struct {
	s    *Store
	ctx  context.Context // of OpenBlob: reads end with it
	blob store.BlobID
	id   int64 // its chunks
	size int64

	mu   sync.Mutex
	off  int64  // offset of buf in the content; guarded by mu
	buf  []byte // guarded by mu
	next int64  // end of the last read; guarded by mu
}

func (b *chunkBlob) Size() int64  { return b.size }
func (b *chunkBlob) Close() error { return nil }

func (b *chunkBlob) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("pgstore: read blob: negative offset")
	}
	if off >= b.size {
		return 0, io.EOF
	}
	want := p
	if rest := b.size - off; int64(len(want)) > rest {
		want = want[:rest]
	}
	end := off + int64(len(want))
	b.mu.Lock()
	defer b.mu.Unlock()
	if off < b.off || end > b.off+int64(len(b.buf)) {
		hi := end
		if off == b.next || len(want) >= headRead {
			hi = min(((end-1)/chunkSize+1)*chunkSize, b.size) // on to the end of the chunk
		} else {
			hi = min(max(hi, off+headRead), b.size)
		}
		if err := b.load(off, hi); err != nil {
			return 0, err
		}
	}
	n := copy(want, b.buf[off-b.off:])
	b.next = off + int64(n)
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// load reads the range [lo, hi) of the content into b.buf.
func (b *chunkBlob) load(lo, hi int64) error {
	first, last := lo/chunkSize, (hi-1)/chunkSize
	rows, err := b.s.pool.Query(b.ctx, `SELECT seq, substr(data, (greatest($2 - seq * $4, 0) + 1)::int,
			(least($3 - seq * $4, $4) - greatest($2 - seq * $4, 0))::int)
		FROM blob_chunks WHERE chunks = $1 AND seq BETWEEN $5 AND $6 ORDER BY seq`,
		b.id, lo, hi, int64(chunkSize), first, last)
	if err != nil {
		return fmt.Errorf("pgstore: read blob: %w", b.s.lost(err))
	}
	buf := make([]byte, 0, hi-lo)
	var seq int64
	var data []byte
	if _, err := pgx.ForEachRow(rows, []any{&seq, &data}, func() error {
		if max(seq*chunkSize, lo) != lo+int64(len(buf)) {
			return fmt.Errorf("chunk %d missing", (lo+int64(len(buf)))/chunkSize)
		}
		buf = append(buf, data...)
		return nil
	}); err != nil {
		return fmt.Errorf("pgstore: read blob: %w", b.s.lost(err))
	}
	if len(buf) == 0 {
		// Its chunks are gone: the content was deleted (and maybe
		// stored again, under other chunks) since it was opened.
		b.s.heads.drop(string(b.blob))
		var chunks *int64
		err := b.s.pool.QueryRow(b.ctx, `SELECT chunks FROM blobs WHERE id = $1`, string(b.blob)).Scan(&chunks)
		if errors.Is(err, pgx.ErrNoRows) || err == nil && (chunks == nil || *chunks == b.id) {
			return fmt.Errorf("pgstore: read blob %s: %w", b.blob, store.ErrNoSuchMessage)
		}
		if err != nil {
			return fmt.Errorf("pgstore: read blob: %w", b.s.lost(err))
		}
		b.id = *chunks
		return b.load(lo, hi)
	}
	if int64(len(buf)) != hi-lo {
		return fmt.Errorf("pgstore: read blob: %w", io.ErrUnexpectedEOF)
	}
	b.off, b.buf = lo, buf
	return nil
}

// releaseMessages drops one reference of the contents of the messages
// that q selects as (blob, count) rows, and returns the contents left
// without one.
func (t *wtx) releaseMessages(q string, args ...any) ([]string, error) {
	rows, err := t.Query(t.ctx, `UPDATE blobs b SET refcount = b.refcount - d.n
		FROM (`+q+`) AS d(blob, n) WHERE b.id = d.blob RETURNING b.id, b.refcount`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var free []string
	for rows.Next() {
		var id string
		var n int64
		if err := rows.Scan(&id, &n); err != nil {
			return nil, err
		}
		if n <= 0 {
			free = append(free, id)
		}
	}
	return free, rows.Err()
}

// releaseBlobs drops one reference of each content in ids (repeated for
// several) and returns those left without one.
func (t *wtx) releaseBlobs(ids []string) ([]string, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	return t.releaseMessages(`SELECT x, count(*) FROM unnest($1::text[]) AS x GROUP BY x`, ids)
}

// collect deletes the contents of ids that have no reference and are not
// pinned, with their chunks (their texts go by cascade).
func (t *wtx) collect(ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	t.s.heads.drop(ids...)
	_, err := t.exec(`WITH gone AS (
			DELETE FROM blobs WHERE id = ANY($1) AND refcount <= 0 AND (pinned_until IS NULL OR pinned_until < now())
			RETURNING chunks)
		DELETE FROM blob_chunks WHERE chunks IN (SELECT chunks FROM gone WHERE chunks IS NOT NULL)`, ids)
	return err
}

// sweepBlobs deletes the unreferenced contents whose pin has expired
// (written by WriteBlob, never appended).
func (s *Store) sweepBlobs(ctx context.Context) error {
	_, err := s.pool.Exec(ctx, `WITH gone AS (
			DELETE FROM blobs WHERE refcount <= 0 AND (pinned_until IS NULL OR pinned_until < now())
			RETURNING chunks)
		DELETE FROM blob_chunks WHERE chunks IN (SELECT chunks FROM gone WHERE chunks IS NOT NULL)`)
	if err != nil {
		return fmt.Errorf("pgstore: sweep contents: %w", s.lost(err))
	}
	return nil
}

// SetAnatomy implements store.Store.
func (s *Store) SetAnatomy(ctx context.Context, id store.BlobID, anatomy []byte) error {
	if len(anatomy) == 0 {
		return nil
	}
	err := s.write(ctx, func(t *wtx) error { return t.setAnatomy(id, anatomy) })
	if err != nil {
		return fmt.Errorf("pgstore: set anatomy of blob %s: %w", id, s.lost(err))
	}
	return nil
}

// setAnatomy stores anatomy unless the blob has one of its version or a
// newer one (the first byte is the version).
func (t *wtx) setAnatomy(id store.BlobID, anatomy []byte) error {
	_, err := t.exec(`UPDATE blobs SET anatomy = $2 WHERE id = $1
		AND (anatomy IS NULL OR length(anatomy) = 0 OR get_byte(anatomy, 0) < get_byte($2, 0))`, string(id), anatomy)
	return err
}
