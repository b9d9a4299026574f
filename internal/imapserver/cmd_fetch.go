package imapserver

import (
	"bytes"
	"context"
	"io"
	"strconv"

	"rookery/internal/imap"
	"rookery/internal/imapcmd"
	"rookery/internal/imapnum"
	"rookery/internal/store"
)

// fetchChunk bounds how many messages one store read gathers, so a FETCH
// of a huge mailbox holds neither a long transaction nor all rows at once.
const fetchChunk = 512

// dateTimeLayout is the IMAP date-time format (RFC 9051 date-time).
const dateTimeLayout = "02-Jan-2006 15:04:05 -0700"

// fetchable reports whether the server answers item; body sections other
// than the whole message, HEADER and TEXT arrive with message anatomy.
func fetchable(it imapcmd.FetchItem) bool {
	switch it.Name {
	case "FLAGS", "UID", "INTERNALDATE", "RFC822.SIZE", "RFC822", "RFC822.HEADER", "RFC822.TEXT", "MODSEQ", "SAVEDATE":
		return true
	case "BODY", "BODY[]":
		// imapcmd names a body section BODY with a Section; BODY without
		// one asks for the structure.
		s := it.Section
		return s != nil && len(s.Part) == 0 && (s.Specifier == "" || s.Specifier == "HEADER" || s.Specifier == "TEXT")
	}
	return false
}

func cmdFetch(ctx context.Context, c *conn, cmd *imapcmd.Command) error {
	args := cmd.Args.(*imapcmd.Fetch)
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
		case ((it.Name == "BODY" || it.Name == "BODY[]") && !it.Peek) || it.Name == "RFC822" || it.Name == "RFC822.TEXT":
			setSeen = true
		}
	}
	uids, err := c.targetUIDs(cmd, args.Set)
	if err != nil || len(uids) == 0 {
		return err
	}
	view := c.sel.view
	seen := map[store.UID]bool{}
	if setSeen && !c.sel.readOnly {
		// RFC 9051 §6.4.5: a non-PEEK body fetch sets \Seen, and the new
		// flags are reported in the same FETCH response.
		res, err := c.srv.opts.Store.StoreFlags(ctx, c.sel.mailbox.ID, imapnum.Compact(uids),
			store.FlagsAdd, store.Flags{Sys: store.FlagSeen}, 0)
		if err != nil {
			return err
		}
		for _, m := range res.Updated {
			seen[m.UID] = true
			view.Reported(m.UID, m.ModSeq)
		}
	}
	f := fetcher{c: c, ctx: ctx, items: args.Items, uidFirst: cmd.UID && !hasUID}
	msgs := make([]store.Message, 0, min(len(uids), fetchChunk))
	for start := 0; start < len(uids); start += fetchChunk {
		chunk := uids[start:min(start+fetchChunk, len(uids))]
		msgs = msgs[:0]
		err := c.srv.opts.Store.Fetch(ctx, c.sel.mailbox.ID, imapnum.Compact(chunk), func(m store.Message) error {
			msgs = append(msgs, m)
			return nil
		})
		if err != nil {
			return err
		}
		for _, m := range msgs {
			seq, ok := view.Seq(m.UID)
			if !ok {
				continue
			}
			if err := f.write(seq, m, seen[m.UID] && !hasFlags); err != nil {
				return err
			}
		}
	}
	return nil
}

// fetcher writes FETCH responses for one command.
type fetcher struct {
	c        *conn
	ctx      context.Context
	items    []imapcmd.FetchItem
	uidFirst bool // UID FETCH without UID among the items
}

func (f *fetcher) write(seq uint32, m store.Message, addFlags bool) error {
	// Whatever can fail is done before the first byte of the response:
	// an error after it would leave a partial line that the tagged NO
	// would continue, and the client could no longer parse the stream.
	var blob store.Blob
	hdrEnd := int64(-1)
	for _, it := range f.items {
		if !needsBlob(it) {
			continue
		}
		if blob == nil {
			b, err := f.c.srv.opts.Store.OpenBlob(f.ctx, m.Blob)
			if err != nil {
				return err
			}
			blob = b
			defer blob.Close()
		}
		if hdrEnd < 0 && needsHeaderEnd(it) {
			h, err := headerEnd(blob)
			if err != nil {
				return err
			}
			hdrEnd = h
		}
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
	for _, it := range f.items {
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
		default:
			if err := f.body(it, blob, hdrEnd); err != nil {
				return err
			}
		}
	}
	if addFlags {
		sp()
		f.flags(m)
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
	case "UID", "FLAGS", "INTERNALDATE", "SAVEDATE", "RFC822.SIZE", "MODSEQ":
		return false
	}
	return true
}

// needsHeaderEnd reports whether a FETCH item needs the header's end.
func needsHeaderEnd(it imapcmd.FetchItem) bool {
	switch it.Name {
	case "RFC822.HEADER", "RFC822.TEXT":
		return true
	}
	return it.Section != nil && (it.Section.Specifier == "HEADER" || it.Section.Specifier == "TEXT")
}

// body writes a body item: the whole message, its header or its text.
// hdrEnd is the offset after the header, computed when needsHeaderEnd.
func (f *fetcher) body(it imapcmd.FetchItem, blob store.Blob, hdrEnd int64) error {
	e := f.c.enc
	size := blob.Size()
	var off, n int64
	var name string
	spec := ""
	if it.Section != nil {
		spec = it.Section.Specifier
	}
	switch it.Name {
	case "RFC822":
		name, off, n = "RFC822", 0, size
	case "RFC822.HEADER":
		name, spec = "RFC822.HEADER", "HEADER"
	case "RFC822.TEXT":
		name, spec = "RFC822.TEXT", "TEXT"
	default:
		name = "BODY[" + spec + "]"
	}
	switch spec {
	case "":
		off, n = 0, size
	case "HEADER", "TEXT":
		h := hdrEnd
		if spec == "HEADER" {
			off, n = 0, h
		} else {
			off, n = h, size-h
		}
	}
	if p := it.Partial; p != nil {
		name += "<" + strconv.FormatUint(uint64(p.Offset), 10) + ">"
		o := min(int64(p.Offset), n)
		off, n = off+o, min(n-o, int64(p.Count))
	}
	e.Raw(name).SP()
	e.Literal(n, io.NewSectionReader(blob, off, n))
	return e.Err()
}

// headerEnd finds the end of the message header (after the empty line), or
// the message size if there is no body.
func headerEnd(r store.Blob) (int64, error) {
	const chunk = 32 << 10
	buf := make([]byte, chunk+3)
	var carry int
	for off := int64(0); off < r.Size(); off += chunk {
		n, err := r.ReadAt(buf[carry:carry+chunk], off)
		if err != nil && err != io.EOF {
			return 0, err
		}
		data := buf[:carry+n]
		base := off - int64(carry)
		if i := bytes.Index(data, []byte("\r\n\r\n")); i >= 0 {
			return base + int64(i) + 4, nil
		}
		if i := bytes.Index(data, []byte("\n\n")); i >= 0 {
			return base + int64(i) + 2, nil
		}
		carry = min(3, len(data))
		copy(buf, data[len(data)-carry:])
	}
	return r.Size(), nil
}
