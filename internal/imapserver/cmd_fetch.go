package imapserver

import (
	"context"
	"errors"

	"rookery/internal/anatomy"
	"rookery/internal/imap"
	"rookery/internal/imapcmd"
	"rookery/internal/imapnum"
	"rookery/internal/store"
)

// fetchChunk bounds how many messages one store read gathers, so a FETCH
// of a huge mailbox holds neither a long transaction nor all rows at once.
const fetchChunk = 512

// contentChunk is fetchChunk for FETCHes that read contents, and
// contentBatchBytes bounds what one batch of them holds: the contents
// read with the rows (up to 256 KiB each in sqlitestore) stay in memory
// until their responses are written, which a client that reads slowly
// can put off for long (each write may take writeTimeout); 64 of them
// could be 16 MiB per connection. 1 MiB is still 64 messages of 16 KiB
// per store read.
const (
	contentChunk      = 64
	contentBatchBytes = 1 << 20
)

// contentBatch returns how many of msgs, the first included, are read
// and written at once when their contents are needed: as many as fit in
// contentBatchBytes by their sizes.
func contentBatch(msgs []store.Message) int {
	var sum int64
	for i, m := range msgs {
		if sum += m.Size; sum > contentBatchBytes && i > 0 {
			return i
		}
	}
	return len(msgs)
}

// dateTimeLayout is the IMAP date-time format (RFC 9051 date-time).
const dateTimeLayout = "02-Jan-2006 15:04:05 -0700"

// fetchable reports whether the server answers item.
func fetchable(it imapcmd.FetchItem) bool {
	switch it.Name {
	case "FLAGS", "UID", "INTERNALDATE", "RFC822.SIZE", "RFC822", "RFC822.HEADER", "RFC822.TEXT", "MODSEQ", "SAVEDATE",
		"ENVELOPE", "BODYSTRUCTURE", "BODY", "BINARY", "BINARY.SIZE", "PREVIEW",
		"EMAILID", "THREADID":
		// imapcmd names a body section BODY with a Section; BODY without
		// one asks for the structure.
		return true
	}
	return false
}

func cmdFetch(ctx context.Context, c *conn, cmd *imapcmd.Command, args *imapcmd.Fetch) error {
	setSeen := false
	hasFlags, hasUID := false, false
	for _, it := range args.Items {
		if !fetchable(it) {
			return imap.BadRequest(imap.CodeClientBug, "FETCH item %s is not supported", it.Name)
		}
		switch {
		case it.Name == "FLAGS":
			hasFlags = true
		case it.Name == "UID":
			hasUID = true
		case (it.Name == "BODY" && it.Section != nil || it.Name == "BINARY") && !it.Peek || it.Name == "RFC822" || it.Name == "RFC822.TEXT":
			setSeen = true
		}
	}
	uids, err := c.targetUIDs(cmd, args.Set, args.Saved)
	if err != nil {
		return err
	}
	// CONDSTORE/QRESYNC (condstore.go): CHANGEDSINCE narrows uids and may
	// already hold their messages (changed).
	uids, changed, err := c.fetchModifiers(ctx, cmd, args, uids, setSeen)
	if err != nil || len(uids) == 0 {
		return err
	}
	f := fetcher{c: c, ctx: ctx, items: args.Items, uidFirst: cmd.UID && !hasUID, hasFlags: hasFlags,
		setSeen: setSeen && !c.sel.readOnly}
	for _, it := range args.Items {
		f.hasModSeq = f.hasModSeq || it.Name == "MODSEQ"
	}
	// Only items answered from the anatomy read it: FETCH 1:* (UID FLAGS)
	// stays a scan of the messages table.
	var needAnatomy, needContent bool
	for _, it := range args.Items {
		needAnatomy = needAnatomy || needsAnatomy(it)
		needContent = needContent || readsContent(it)
	}
	chunkSize := fetchChunk
	if needContent {
		// Small contents come with the rows; fewer per chunk bounds the
		// memory they hold.
		chunkSize = contentChunk
	}
	msgs := make([]store.Message, 0, min(len(uids), chunkSize))
	for start := 0; start < len(uids); start += chunkSize {
		chunk := uids[start:min(start+chunkSize, len(uids))]
		msgs = msgs[:0]
		if changed != nil {
			msgs = append(msgs, changed[start:start+len(chunk)]...)
		} else if err := c.srv.opts.Store.Fetch(ctx, c.sel.mailbox.ID, imapnum.Compact(chunk), func(m store.Message) error {
			msgs = append(msgs, m)
			return nil
		}); err != nil {
			return err
		}
		for rest := msgs; len(rest) > 0; {
			n := len(rest)
			if needContent {
				n = contentBatch(rest)
			}
			batch := rest[:n]
			rest = rest[n:]
			if needAnatomy || needContent {
				var err error
				if batch, err = f.withBodies(batch, needContent); err != nil {
					return err
				}
			}
			if err := f.writeChunk(batch); err != nil {
				return err
			}
		}
	}
	return nil
}

// withBodies gives msgs the anatomies (and, with content, the inline
// contents) their items need: from the server's blobCache, else read from
// the store (FetchContent or FetchAnatomy, for the missing ones only) and
// cached. A message gone from the store meanwhile is dropped (no data for
// it, like one expunged before the FETCH). f.roots then holds the
// anatomies of msgs alone: those of earlier batches are let go, so that a
// FETCH of a whole mailbox does not keep every message's anatomy until
// its end (the cache keeps what fits its bound).
func (f *fetcher) withBodies(msgs []store.Message, content bool) ([]store.Message, error) {
	cache := f.c.srv.blobCache
	if f.roots == nil {
		f.roots = make(map[store.BlobID]*anatomy.Part)
	}
	clear(f.roots)
	var miss []store.UID
	missed := make(map[store.UID]bool)
	for i := range msgs {
		cb, ok := cache.get(msgs[i].Blob)
		if !ok || (content && !cb.hasContent) {
			miss = append(miss, msgs[i].UID)
			missed[msgs[i].UID] = true
			continue
		}
		f.roots[cb.id] = cb.root
		msgs[i].Content = cb.content
	}
	if len(miss) == 0 {
		return msgs, nil
	}
	read := f.c.srv.opts.Store.FetchAnatomy
	if content {
		read = f.c.srv.opts.Store.FetchContent
	}
	got := make(map[store.UID]store.Message, len(miss))
	err := read(f.ctx, f.c.sel.mailbox.ID, imapnum.Compact(miss), func(m store.Message) error {
		got[m.UID] = m
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := msgs[:0]
	for _, m := range msgs {
		if !missed[m.UID] {
			out = append(out, m)
			continue
		}
		g, ok := got[m.UID]
		if !ok {
			continue // expunged since the metadata was read
		}
		m.Content = g.Content
		if root, err := anatomy.Unmarshal(g.Anatomy); err == nil {
			f.roots[m.Blob] = cache.put(m.Blob, root, g.Content, content).root
		} // else: parsed from the content when prepared (fetcher.anatomy)
		out = append(out, m)
	}
	return out, nil
}

// expungedMeanwhile reports whether err says that a message's content is
// gone: another session expunged the message after its row was read, and
// its content file went with the commit. It is answered like a message
// expunged before the read: no data for it (RFC 2180 §4.1.2), and the
// EXPUNGE follows when the protocol allows.
func expungedMeanwhile(err error) bool { return errors.Is(err, store.ErrNoSuchMessage) }

// fetcher writes FETCH responses for one command.
type fetcher struct {
	c         *conn
	ctx       context.Context
	items     []imapcmd.FetchItem
	uidFirst  bool // UID FETCH without UID among the items
	hasModSeq bool // MODSEQ is among the items
	hasFlags  bool // FLAGS is among the items
	setSeen   bool // a non-PEEK body item sets \Seen (mailbox read-write)
	// roots holds the decoded anatomies of the batch of messages being
	// written, by content (withBodies).
	roots map[store.BlobID]*anatomy.Part
}

// writeChunk writes the FETCH responses of msgs (in UID order; messages
// the view does not hold are skipped). Whatever can fail for a message
// (an [UNKNOWN-CTE] part, a content that cannot be read) is done before
// the first byte of its response: an error after it would leave a
// partial line that the tagged NO would continue. A failing message ends
// the command with its error after the responses of the messages before
// it, and RFC 9051 §6.4.5's implicit \Seen is set only on the messages
// whose response is sent, so it is prepared for every message of the
// chunk before \Seen is set on them (with their new flags in the same
// response).
func (f *fetcher) writeChunk(msgs []store.Message) error {
	view := f.c.sel.view
	if !f.setSeen {
		for _, m := range msgs {
			seq, ok := view.Seq(m.UID)
			if !ok {
				continue
			}
			d, err := f.prepare(m)
			if err == nil {
				err = f.write(seq, m, d, false)
			}
			d.close()
			if err != nil && !expungedMeanwhile(err) {
				return err
			}
		}
		return nil
	}
	type ready struct {
		seq uint32
		m   store.Message
		d   *msgData
	}
	var rs []ready
	defer func() {
		for _, r := range rs {
			r.d.close()
		}
	}()
	var failed error
	for _, m := range msgs {
		seq, ok := view.Seq(m.UID)
		if !ok {
			continue
		}
		d, err := f.prepare(m)
		if err != nil {
			d.close()
			if expungedMeanwhile(err) {
				continue
			}
			failed = err
			break
		}
		rs = append(rs, ready{seq, m, d})
	}
	if len(rs) > 0 {
		uids := make([]store.UID, len(rs))
		for i, r := range rs {
			uids[i] = r.m.UID
		}
		res, err := f.c.srv.opts.Store.StoreFlags(f.ctx, f.c.sel.mailbox.ID, imapnum.Compact(uids),
			store.FlagsAdd, store.Flags{Sys: store.FlagSeen}, 0)
		if err != nil {
			return err
		}
		updated := make(map[store.UID]store.Message, len(res.Updated))
		for _, u := range res.Updated {
			updated[u.UID] = u
			view.Reported(u.UID, u.ModSeq)
		}
		f.c.applyOwnStore(res)
		for _, r := range rs {
			u, changed := updated[r.m.UID]
			if changed {
				r.m.Flags, r.m.ModSeq = u.Flags, u.ModSeq
			}
			if err := f.write(r.seq, r.m, r.d, changed && !f.hasFlags); err != nil {
				return err
			}
		}
	}
	return failed
}

// write writes the FETCH response of message m, whose items d holds
// prepared.
func (f *fetcher) write(seq uint32, m store.Message, d *msgData, addFlags bool) error {
	if f.hasFlags || addFlags {
		f.c.announceKeywords(m.Flags)
	}
	e := f.c.enc
	e.Raw("* ").Number(seq).Raw(" FETCH (")
	first := true
	sp := func() {
		if !first {
			e.SP()
		}
		first = false
	}
	if f.uidFirst {
		sp()
		e.Raw("UID ").Number(m.UID)
	}
	for i, it := range f.items {
		sp()
		switch it.Name {
		case "UID":
			e.Raw("UID ").Number(m.UID)
		case "FLAGS":
			f.flags(m)
		case "INTERNALDATE":
			e.Raw("INTERNALDATE ").Quoted(m.InternalDate.Format(dateTimeLayout))
		case "SAVEDATE":
			e.Raw("SAVEDATE ")
			if m.SaveDate.IsZero() {
				e.Raw("NIL")
			} else {
				e.Quoted(m.SaveDate.Format(dateTimeLayout))
			}
		case "RFC822.SIZE":
			e.Raw("RFC822.SIZE ").Number64(uint64(m.Size))
		case "MODSEQ":
			e.Raw("MODSEQ (").Number64(m.ModSeq).Raw(")")
		case "EMAILID":
			e.Raw("EMAILID (").Raw(imap.EmailID(m.Blob)).Raw(")")
		case "THREADID":
			// RFC 8474 §5.2: NIL when the server does not thread.
			e.Raw("THREADID NIL")
		default:
			if err := f.writeItem(it, d, d.items[i]); err != nil {
				return err
			}
		}
	}
	if addFlags {
		sp()
		f.flags(m)
		if f.c.condStore && !f.hasModSeq {
			// RFC 7162 §3.1.4.1: with CONDSTORE enabled, a FETCH response
			// reporting changed flags carries MODSEQ.
			e.Raw(" MODSEQ (").Number64(m.ModSeq).Raw(")")
		}
	}
	e.Raw(")").CRLF()
	return e.Err()
}

func (f *fetcher) flags(m store.Message) {
	e := f.c.enc
	e.Raw("FLAGS ")
	writeFlags(e, imap.FlagNames(m.Flags, f.c.sel.view.IsRecent(m.UID) && !f.c.rev2))
}

// needsBlob reports whether a FETCH item reads the message content.
func needsBlob(it imapcmd.FetchItem) bool {
	switch it.Name {
	case "UID", "FLAGS", "INTERNALDATE", "SAVEDATE", "RFC822.SIZE", "MODSEQ", "EMAILID", "THREADID":
		return false
	}
	return true
}
