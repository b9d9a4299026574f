package anatomy

import "unsafe"

// MemSize is about how many bytes of heap the tree under p holds, p
// included: every Part and Envelope, the backing arrays of its slices (by
// capacity) and its strings, each allocation rounded up as the Go
// allocator does for small objects. A decoded tree takes 6 to 11 times
// its encoding (Marshal): a cache of decoded anatomies must count them
// with MemSize, not by their encoded length.
func (p *Part) MemSize() int64 {
	var n int64
	p.Walk(func(q *Part) {
		n += allocSize(unsafe.Sizeof(Part{}))
		for _, s := range [...]string{q.Type, q.Subtype, q.ID, q.Description, q.Location, q.MD5, q.Encoding, q.Disposition} {
			n += allocSize(uintptr(len(s)))
		}
		n += paramsSize(q.Params) + paramsSize(q.DispositionParams)
		if cap(q.Language) > 0 {
			n += allocSize(uintptr(cap(q.Language)) * unsafe.Sizeof(""))
			for _, s := range q.Language {
				n += allocSize(uintptr(len(s)))
			}
		}
		if cap(q.Parts) > 0 {
			n += allocSize(uintptr(cap(q.Parts)) * unsafe.Sizeof(q))
		}
		if e := q.Envelope; e != nil {
			n += allocSize(unsafe.Sizeof(*e))
			for _, s := range [...]string{e.Date, e.Subject, e.InReplyTo, e.MessageID} {
				n += allocSize(uintptr(len(s)))
			}
			for _, l := range [...][]Address{e.From, e.Sender, e.ReplyTo, e.To, e.Cc, e.Bcc} {
				if cap(l) == 0 {
					continue
				}
				n += allocSize(uintptr(cap(l)) * unsafe.Sizeof(Address{}))
				for _, a := range l {
					n += allocSize(uintptr(len(a.Name))) + allocSize(uintptr(len(a.Route))) +
						allocSize(uintptr(len(a.Mailbox))) + allocSize(uintptr(len(a.Host)))
				}
			}
		}
	})
	return n
}

func paramsSize(ps []Param) int64 {
	if cap(ps) == 0 {
		return 0
	}
	n := allocSize(uintptr(cap(ps)) * unsafe.Sizeof(Param{}))
	for _, p := range ps {
		n += allocSize(uintptr(len(p.Name))) + allocSize(uintptr(len(p.Value))) + allocSize(uintptr(len(p.Raw)))
	}
	return n
}

// allocSize is about what an allocation of n bytes takes: 0 for none,
// rounded up to 8 bytes below 16, to 16 up to 1 KiB, and one eighth more
// beyond (the spacing of the allocator's size classes).
func allocSize(n uintptr) int64 {
	switch {
	case n == 0:
		return 0
	case n < 16:
		return int64(n+7) &^ 7
	case n <= 1024:
		return int64(n+15) &^ 15
	}
	return int64(n + n/8)
}
