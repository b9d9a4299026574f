package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"

	"rookery/internal/anatomy"
	"rookery/internal/search"
	"rookery/internal/searchtext"
	"rookery/internal/store"
)

// captureMax is how much of a message Write keeps in memory for text
// extraction: most messages fit.
const captureMax = 2 << 20

// captureBufs holds capture buffers between writes: growing a fresh one
// to the size of each message (and zeroing it) cost concurrent APPENDs
// more than copying into it. It is a cache of scratch memory only.
var captureBufs sync.Pool

// textCapture keeps the first bytes of a message being written so that
// its text can be extracted without reading it back; a larger message is
// read back from the store. Memory per concurrent write is bounded by max.
type textCapture struct {
	buf  bytes.Buffer
	max  int
	over bool
}

func (c *textCapture) Write(p []byte) (int, error) {
	if !c.over {
		if c.buf.Len()+len(p) > c.max {
			c.over = true
			c.buf = bytes.Buffer{}
		} else {
			c.buf.Write(p)
		}
	}
	return len(p), nil
}

// Write stores the message read from r with st.WriteBlob (maxSize as
// there) and returns its reference with Anatomy and Text filled from the
// same bytes, parsed while they stream into the store, for st.Append to
// store. A failure to extract the text is logged to log (nil: discarded)
// and leaves Text nil: the message is stored and found by scanning.
func Write(ctx context.Context, st store.Store, r io.Reader, maxSize int64, log *slog.Logger) (store.BlobRef, error) {
	parser := anatomy.NewParser()
	capture := &textCapture{max: captureMax}
	if b, ok := captureBufs.Get().(*bytes.Buffer); ok {
		capture.buf = *b
	}
	defer func() {
		if !capture.over && capture.buf.Cap() <= captureMax {
			capture.buf.Reset()
			captureBufs.Put(&capture.buf)
		}
	}()
	ref, err := st.WriteBlob(ctx, io.TeeReader(r, io.MultiWriter(parser, capture)), maxSize)
	if err != nil {
		return store.BlobRef{}, err
	}
	root := parser.Close()
	ref.Anatomy = anatomy.Marshal(root)
	text, err := writtenText(ctx, st, ref.ID, root, capture)
	if err != nil {
		if log != nil {
			log.Warn("extracting search text", "blob", ref.ID, "err", err)
		}
		return ref, nil
	}
	ref.Text = text
	return ref, nil
}

// writtenText extracts the text of a message just written: from the
// captured bytes, or from the store when they did not fit.
func writtenText(ctx context.Context, st store.Store, id store.BlobID, root *anatomy.Part, c *textCapture) (*store.IndexText, error) {
	if !c.over {
		return extract(bytes.NewReader(c.buf.Bytes()), root)
	}
	b, err := st.OpenBlob(ctx, id)
	if err != nil {
		return nil, err
	}
	defer b.Close()
	return extract(b, root)
}

// extract returns the index text of a message with its sent date parsed
// (store.SortFields.Sent), so that a store keeps the values it is given.
func extract(msg io.ReaderAt, root *anatomy.Part) (*store.IndexText, error) {
	text, err := searchtext.Extract(msg, root)
	if err != nil {
		return nil, err
	}
	if d, ok := search.ParseDate(text.Sort.Date); ok {
		text.Sort.Sent = d
	}
	return text, nil
}

// reindexBatch is how many contents one SetBlobIndex call writes (one
// writer transaction of the embedded store).
const reindexBatch = 256

// Reindex rebuilds the index texts (and stores anatomies that are
// missing or of an older encoding) of the contents of one account's
// messages, or of every content when account is "", and returns once
// their texts are indexed (st.WaitIndexed). It returns how many contents
// it indexed. It runs beside a live server: each batch is one
// SetBlobIndex, and a content removed meanwhile is skipped (and logged
// to log, nil: discarded).
func Reindex(ctx context.Context, st store.Store, account string, log *slog.Logger) (int, error) {
	blobs, err := st.BlobsToIndex(ctx, account)
	if err != nil {
		return 0, fmt.Errorf("reindex: %w", err)
	}
	return reindex(ctx, st, blobs, log)
}

// ReindexContents is Reindex for the contents ids only (those a store's
// check found without their index text, store.Finding.Reindex): each is
// parsed again, its text extracted and stored with SetBlobIndex, and it
// returns once they are indexed. A content gone meanwhile is skipped.
func ReindexContents(ctx context.Context, st store.Store, ids []store.BlobID, log *slog.Logger) (int, error) {
	blobs := make([]store.BlobIndex, len(ids))
	for i, id := range ids {
		blobs[i] = store.BlobIndex{ID: id}
	}
	return reindex(ctx, st, blobs, log)
}

// reindex stores the texts of blobs, reindexBatch at a time, and waits
// until they are indexed.
func reindex(ctx context.Context, st store.Store, blobs []store.BlobIndex, log *slog.Logger) (int, error) {
	n := 0
	for start := 0; start < len(blobs); start += reindexBatch {
		var docs []store.BlobIndex
		for _, b := range blobs[start:min(start+reindexBatch, len(blobs))] {
			d, err := reindexOne(ctx, st, b)
			if errors.Is(err, store.ErrNoSuchMessage) {
				if log != nil {
					log.Warn("reindex: message content missing", "blob", b.ID, "err", err)
				}
				continue
			}
			if err != nil {
				return n, fmt.Errorf("reindex blob %s: %w", b.ID, err)
			}
			docs = append(docs, d)
		}
		if err := st.SetBlobIndex(ctx, docs); err != nil {
			return n, fmt.Errorf("reindex: %w", err)
		}
		n += len(docs)
	}
	// Return with the texts in the index, not only queued for it.
	if err := st.WaitIndexed(ctx); err != nil {
		return n, fmt.Errorf("reindex: %w", err)
	}
	return n, nil
}

// reindexOne computes one content's text, and its anatomy when the
// stored one is missing or cannot be decoded (an older encoding).
func reindexOne(ctx context.Context, st store.Store, b store.BlobIndex) (store.BlobIndex, error) {
	f, err := st.OpenBlob(ctx, b.ID)
	if err != nil {
		return store.BlobIndex{}, err
	}
	defer f.Close()
	out := store.BlobIndex{ID: b.ID}
	out.Text, out.Anatomy, err = ContentText(f, f.Size(), b.Anatomy)
	return out, err
}

// ContentText returns the index text of the message content msg of size
// bytes whose stored anatomy is anat: the anatomy is parsed again only
// when anat is missing or cannot be decoded (an older encoding), and
// then returned as parsed, for the store to keep; parsed is nil
// otherwise. A copy of an installation (`rookery store copy`) uses it
// for contents whose source store cannot give their text back.
func ContentText(msg io.ReaderAt, size int64, anat []byte) (text *store.IndexText, parsed []byte, err error) {
	root, err := anatomy.Unmarshal(anat)
	if len(anat) == 0 || err != nil {
		if root, err = anatomy.Parse(io.NewSectionReader(msg, 0, size)); err != nil {
			return nil, nil, err
		}
		parsed = anatomy.Marshal(root)
	}
	text, err = extract(msg, root)
	return text, parsed, err
}
