package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// worker is one simulated client: one connection at a time to its user's
// mailbox, operations chosen by weight until the end of the run.
type worker struct {
	id   int
	user string
	cfg  *config
	rng  *rand.Rand
	gen  *generator
	st   *stats
	stop *stopper
	ctx  context.Context

	s         *session // nil while disconnected
	mailboxes []string // selectable mailboxes from the last LIST
	appended  int
	idleWait  time.Duration // time the last IDLE spent waiting (not counted as latency)
	dropped   bool          // the connection was dropped after an error: wait before reconnecting
	nextTrim  time.Time     // no trim before this (after one that failed)
}

const headerFetch = "(UID FLAGS RFC822.SIZE BODY.PEEK[HEADER.FIELDS (FROM TO SUBJECT DATE MESSAGE-ID)])"

// run connects after delay (the ramp-up) and loops until the end of the
// run, then logs out. After a failed connection attempt, or an error that
// dropped the connection, it waits before reconnecting as mail clients
// do: 1 s, doubling up to 8 s, with jitter.
func (w *worker) run(delay time.Duration) {
	if !w.sleep(delay) {
		return
	}
	const firstBackoff = time.Second
	backoff := firstBackoff
	for time.Now().Before(w.st.end) {
		if w.s == nil {
			if w.dropped {
				w.dropped = false
				if !w.sleep(backoff/2 + time.Duration(w.rng.Int64N(int64(backoff)))) {
					return
				}
			}
			if err := w.connect(); err != nil {
				if !w.sleep(backoff/2 + time.Duration(w.rng.Int64N(int64(backoff)))) {
					return
				}
				backoff = min(2*backoff, 8*time.Second)
				continue
			}
			backoff = firstBackoff
		}
		if w.cfg.maxMessages > 0 && len(w.s.uids) > w.cfg.maxMessages && time.Now().After(w.nextTrim) {
			t := time.Now()
			err := w.trim()
			w.after(rowTrim, t, time.Since(t), err)
			if w.s != nil && len(w.s.uids) > w.cfg.maxMessages {
				// The trim failed or did not shrink the mailbox: do not
				// retry before the next operations.
				w.nextTrim = time.Now().Add(5 * time.Second)
			}
			continue
		}
		op := w.cfg.weights.pick(w.rng)
		t := time.Now()
		w.idleWait = 0
		err := w.do(op)
		for try := 0; errors.Is(err, errSkip) && try < 10; try++ {
			op = w.cfg.weights.pick(w.rng)
			err = w.do(op)
		}
		if errors.Is(err, errSkip) {
			op = opNoop
			err = w.do(op)
		}
		w.after(op, t, time.Since(t)-w.idleWait, err)
		if w.cfg.think > 0 && !w.sleep(time.Duration(w.rng.ExpFloat64()*float64(w.cfg.think))) {
			break
		}
	}
	if w.s != nil {
		w.s.logout() // errors after the end are not counted
		w.s = nil
	}
}

// sleep waits for d, or less when the run ends first; it reports whether
// the run goes on.
func (w *worker) sleep(d time.Duration) bool {
	if left := time.Until(w.st.end); d > left {
		d = left
	}
	if d > 0 {
		select {
		case <-time.After(d):
		case <-w.ctx.Done():
			return false
		}
	}
	return time.Now().Before(w.st.end)
}

// after records an operation and drops the connection after an error that
// leaves it unusable.
func (w *worker) after(row int, start time.Time, d time.Duration, err error) {
	w.st.record(row, start, d, err)
	var se *statusError
	if err != nil && !errors.As(err, &se) && w.s != nil {
		w.s.close()
		w.s = nil
		w.dropped = true
		w.st.reconnects.Add(1)
	}
}

func (w *worker) do(op int) error {
	switch op {
	case opFetchHdr:
		return w.fetchHeaders()
	case opFetchBody:
		return w.fetchBody()
	case opStore:
		return w.store()
	case opExpunge:
		return w.expunge()
	case opAppend:
		return w.append()
	case opList:
		return w.list()
	case opStatus:
		return w.status()
	case opIdle:
		return w.idle()
	case opSearch:
		return w.search()
	case opNoop:
		_, err := w.s.exec("NOOP", nil)
		return err
	case opRelogin:
		err := w.s.logout()
		w.s = nil
		if err == nil {
			err = w.connect()
		}
		w.dropped = err != nil
		return err
	}
	return fmt.Errorf("operation %d", op)
}

// connect opens a connection, logs in and selects the mailbox (after a
// LIST the first time, as a client starting up does).
func (w *worker) connect() error {
	s, err := dial(w.ctx, w.cfg, w.stop, w.id)
	if err != nil {
		w.st.connFail(err)
		return err
	}
	s.user = w.user
	t := time.Now()
	err = s.login()
	w.st.record(rowLogin, t, time.Since(t), err)
	if err == nil {
		w.st.loggedIn(t)
		if len(w.mailboxes) == 0 {
			w.s = s
			err = w.list()
			w.s = nil
		}
	}
	if err == nil {
		err = s.selectMailbox()
	}
	if err != nil {
		s.close()
		w.st.connFail(err)
		return err
	}
	if w.st.greeting.Load() == nil {
		g := s.greeting
		w.st.greeting.CompareAndSwap(nil, &g)
	}
	w.s = s
	return nil
}

// recentUID returns a known UID among the newest -window messages, or 0.
func (w *worker) recentUID() uint32 {
	u := w.s.uids
	lo := max(0, len(u)-w.cfg.window)
	for range 8 {
		if len(u) == 0 {
			return 0
		}
		if x := u[lo+w.rng.IntN(len(u)-lo)]; x != 0 {
			return x
		}
	}
	for i := len(u) - 1; i >= lo; i-- {
		if u[i] != 0 {
			return u[i]
		}
	}
	return 0
}

// fetchHeaders fetches what a message list shows for the newest -window
// messages: UID FETCH from the UID of the oldest of them (by sequence
// number when that UID is not known yet, e.g. after many new messages).
func (w *worker) fetchHeaders() error {
	n := len(w.s.uids)
	if n == 0 {
		return errSkip
	}
	lo := max(1, n-w.cfg.window+1)
	var err error
	if u := w.s.uids[lo-1]; u != 0 {
		_, err = w.s.exec("UID FETCH "+strconv.FormatUint(uint64(u), 10)+":* "+headerFetch, nil)
	} else {
		_, err = w.s.exec("FETCH "+strconv.Itoa(lo)+":* "+headerFetch, nil)
	}
	return err
}

// fetchBody opens a message: the whole of it, or its first part.
func (w *worker) fetchBody() error {
	u := w.recentUID()
	if u == 0 {
		return errSkip
	}
	item := "BODY.PEEK[]"
	if w.rng.IntN(10) < 3 {
		item = "BODY.PEEK[1]"
	}
	_, err := w.s.exec(fmt.Sprintf("UID FETCH %d (%s)", u, item), nil)
	return err
}

// store changes one flag of one message: mostly \Seen (reading), also
// \Flagged and a keyword.
func (w *worker) store() error {
	u := w.recentUID()
	if u == 0 {
		return errSkip
	}
	flag, set := `\Seen`, w.rng.IntN(4) != 0
	switch x := w.rng.IntN(100); {
	case x < 30:
		flag, set = `\Flagged`, w.rng.IntN(2) == 0
	case x < 45:
		flag, set = `$Label1`, w.rng.IntN(2) == 0
	}
	sign := "+"
	if !set {
		sign = "-"
	}
	_, err := w.s.exec(fmt.Sprintf("UID STORE %d %sFLAGS (%s)", u, sign, flag), nil)
	return err
}

// expunge deletes one message: \Deleted, then UID EXPUNGE of it (EXPUNGE
// without UIDPLUS). Mailboxes are not emptied below 10 messages.
func (w *worker) expunge() error {
	if len(w.s.uids) < 10 {
		return errSkip
	}
	u := w.recentUID()
	if u == 0 {
		return errSkip
	}
	return w.expungeUIDs(strconv.FormatUint(uint64(u), 10))
}

func (w *worker) expungeUIDs(set string) error {
	if _, err := w.s.exec("UID STORE "+set+` +FLAGS.SILENT (\Deleted)`, nil); err != nil {
		return err
	}
	cmd := "EXPUNGE"
	if w.s.caps["UIDPLUS"] {
		cmd = "UID EXPUNGE " + set
	}
	_, err := w.s.exec(cmd, nil)
	return err
}

// trim expunges the oldest messages down to 90% of -max-messages.
func (w *worker) trim() error {
	n := len(w.s.uids)
	k := n - w.cfg.maxMessages*9/10
	if k <= 0 {
		return nil
	}
	if _, err := w.s.exec(fmt.Sprintf("FETCH 1:%d (UID)", k), nil); err != nil {
		return err
	}
	var uids []uint32
	for _, u := range w.s.uids[:min(k, len(w.s.uids))] {
		if u != 0 {
			uids = append(uids, u)
		}
	}
	if len(uids) == 0 {
		return nil
	}
	return w.expungeUIDs(uidSet(uids))
}

// uidSet writes ascending UIDs as a compact set ("1:4,7,9:10").
func uidSet(uids []uint32) string {
	uids = slices.Clone(uids)
	slices.Sort(uids)
	uids = slices.Compact(uids)
	var b strings.Builder
	for i := 0; i < len(uids); {
		j := i
		for j+1 < len(uids) && uids[j+1] == uids[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatUint(uint64(uids[i]), 10))
		if j > i {
			b.WriteByte(':')
			b.WriteString(strconv.FormatUint(uint64(uids[j]), 10))
		}
		i = j + 1
	}
	return b.String()
}

// append APPENDs a new message to the mailbox (mail arriving or a copy
// moved in), \Seen for some (sent copies).
func (w *worker) append() error {
	w.appended++
	id := fmt.Sprintf("%d.%d.%d.mixload", w.cfg.seed, w.id, w.appended)
	msg := w.gen.message(w.rng, time.Now(), id)
	flags := ""
	if w.rng.IntN(10) < 3 {
		flags = `(\Seen) `
	}
	return w.s.appendMessage(w.cfg.mailbox, flags, msg)
}

// appendMessage sends APPEND with a non-synchronising literal when the
// server has LITERAL+ (or LITERAL- and the message is ≤ 4096 bytes),
// else waits for the continuation request.
func (s *session) appendMessage(mailbox, flags string, msg []byte) error {
	sync := !s.caps["LITERAL+"] && !(s.caps["LITERAL-"] && len(msg) <= 4096)
	plus := "+"
	if sync {
		plus = ""
	}
	line := fmt.Sprintf("APPEND %s %s{%d%s}", quote(mailbox), flags, len(msg), plus)
	tag := s.nextTag()
	if err := s.nc.SetDeadline(s.deadline(0)); err != nil {
		return err
	}
	s.w.WriteString(tag + " " + line + "\r\n")
	if sync {
		if err := s.w.Flush(); err != nil {
			return err
		}
		for cont := false; !cont; {
			r, err := s.read()
			if err != nil {
				return err
			}
			switch r.kind {
			case '+':
				cont = true
			case 't':
				if r.tag != tag {
					return protoErr("response tagged %q while waiting for %q", r.tag, tag)
				}
				if r.keyword == "OK" {
					return protoErr("APPEND OK before the message was sent")
				}
				return &statusError{status: r.keyword, cmd: line, resp: shorten(strings.TrimSpace(string(s.buf)))}
			}
		}
	}
	s.w.Write(msg)
	s.w.WriteString("\r\n")
	if err := s.w.Flush(); err != nil {
		return err
	}
	_, err := s.readTagged(tag, line, nil)
	return err
}

// list refreshes the folder list.
func (w *worker) list() error {
	var names []string
	_, err := w.s.exec(`LIST "" "*"`, func(r *response) error {
		if r.keyword != "LIST" {
			return nil
		}
		name, selectable, err := parseList(r.rest)
		if err != nil {
			return err
		}
		if selectable && !strings.ContainsAny(name, "\r\n\"\\") && len(names) < 1000 {
			names = append(names, name)
		}
		return nil
	})
	if err == nil {
		w.mailboxes = names
	}
	return err
}

// status asks for the unread counts of 2–3 other mailboxes, one STATUS
// after the other.
func (w *worker) status() error {
	var others []string
	for _, m := range w.mailboxes {
		if !strings.EqualFold(m, w.cfg.mailbox) {
			others = append(others, m)
		}
	}
	n := 2 + w.rng.IntN(2)
	var pickFrom []string
	if len(others) >= n {
		w.rng.Shuffle(len(others), func(i, j int) { others[i], others[j] = others[j], others[i] })
		pickFrom = others[:n]
	} else {
		pickFrom = append(others, w.cfg.mailbox) // the selected one too
	}
	for _, m := range pickFrom {
		if _, err := w.s.exec("STATUS "+quote(m)+" (MESSAGES UNSEEN UIDNEXT)", nil); err != nil {
			return err
		}
	}
	return nil
}

// search looks for unread messages or by a subject word.
func (w *worker) search() error {
	var err error
	check := func(r *response) error {
		if r.keyword == "SEARCH" {
			_, err := parseSearch(r.rest)
			return err
		}
		return nil
	}
	if w.rng.IntN(2) == 0 {
		_, err = w.s.exec("UID SEARCH UNSEEN", check)
	} else {
		_, err = w.s.exec("UID SEARCH SUBJECT "+quote(pick(w.rng, subjectWords)), check)
	}
	return err
}

// idle IDLEs for 100–1000 ms (never past the end of the run), then sends
// DONE. w.idleWait is set to the time between the continuation request
// and DONE, which is not the server's latency.
func (w *worker) idle() error {
	s := w.s
	if !s.caps["IDLE"] {
		return errSkip
	}
	wait := time.Duration(100+w.rng.IntN(901)) * time.Millisecond
	wait = min(wait, time.Until(w.st.end))
	if wait < 10*time.Millisecond {
		return errSkip
	}
	tag := s.nextTag()
	if err := s.nc.SetDeadline(s.deadline(wait)); err != nil {
		return err
	}
	s.w.WriteString(tag + " IDLE\r\n")
	if err := s.w.Flush(); err != nil {
		return err
	}
	for cont := false; !cont; {
		r, err := s.read()
		if err != nil {
			return err
		}
		switch r.kind {
		case '+':
			cont = true
		case 't':
			if r.tag != tag {
				return protoErr("response tagged %q while waiting for %q", r.tag, tag)
			}
			if r.keyword == "OK" {
				return protoErr("IDLE OK before DONE")
			}
			return &statusError{status: r.keyword, cmd: "IDLE", resp: shorten(strings.TrimSpace(string(s.buf)))}
		}
	}
	idleAt := time.Now()
	var doneAt atomic.Int64
	fired := make(chan struct{})
	nc := s.nc
	timer := time.AfterFunc(wait, func() {
		defer close(fired)
		doneAt.Store(time.Now().UnixNano())
		nc.Write([]byte("DONE\r\n"))
	})
	_, err := s.readTagged(tag, "IDLE", nil)
	if timer.Stop() {
		if err == nil {
			err = protoErr("IDLE ended before DONE")
		}
		return err
	}
	<-fired // DONE written (or failed: the connection is broken then)
	w.idleWait = time.Unix(0, doneAt.Load()).Sub(idleAt)
	return err
}
