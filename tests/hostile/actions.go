package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"
)

// action is one kind of hostile behaviour. run does it on a fresh
// connection (already greeted) and records every response it awaited.
type action struct {
	name string
	run  func(a *actor, c *rawConn)
	// authSrc: the action fails logins on purpose, so it connects from
	// -auth-src and its failures do not slow the other actions' logins.
	authSrc bool
}

// actions is every hostile action, in the order the workers cycle through
// them (each worker starts at its own offset).
var actions = []action{
	{name: "garbage", run: garbage},
	{name: "longline", run: longLine},
	{name: "hugeliteral", run: hugeLiteral},
	{name: "cutliteral", run: cutLiteral},
	{name: "manyliterals", run: manyLiterals},
	{name: "nesting", run: nesting},
	{name: "seqset", run: seqSet},
	{name: "listpattern", run: listPattern},
	{name: "create", run: createNames},
	{name: "search", run: searchKeys},
	{name: "storekw", run: storeKeywords},
	{name: "appendmime", run: appendMIME},
	{name: "authbig", run: authBig, authSrc: true},
	{name: "idlehold", run: idleHold},
	{name: "abandon", run: nil}, // handled by the worker: it must not read the greeting
}

// actionStats counts one action and the responses its commands got.
type actionStats struct {
	Count   int64            `json:"count"`
	Kinds   map[string]int64 `json:"responses"`
	Samples []string         `json:"samples,omitempty"` // a few unexpected answers (huge+, timeout)
}

// hostileStats is shared by the workers.
type hostileStats struct {
	mu       sync.Mutex
	byAction map[string]*actionStats // guarded by mu
}

func newHostileStats() *hostileStats {
	h := &hostileStats{byAction: map[string]*actionStats{}}
	for _, a := range actions {
		h.byAction[a.name] = &actionStats{Kinds: map[string]int64{}}
	}
	h.byAction["slowloris"] = &actionStats{Kinds: map[string]int64{}}
	return h
}

func (h *hostileStats) count(name string) {
	h.mu.Lock()
	h.byAction[name].Count++
	h.mu.Unlock()
}

func (h *hostileStats) record(name string, k kind, line string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.byAction[name]
	s.Kinds[k.String()]++
	if (k == kindHuge || k == kindTimeout) && len(s.Samples) < 3 {
		if len(line) > 200 {
			line = line[:200] + "…"
		}
		s.Samples = append(s.Samples, k.String()+": "+line)
	}
}

// actor is one hostile worker.
type actor struct {
	ctx   context.Context
	cfg   *config
	reg   *registry
	rng   *rand.Rand
	stats *hostileStats
	end   time.Time // no new action after this
	name  string    // the current action
	seq   int       // distinguishes this worker's names
}

func (a *actor) record(k kind, line string) { a.stats.record(a.name, k, line) }

// cmd sends one command and records its answer.
func (a *actor) cmd(c *rawConn, line string) kind {
	k, resp := c.command(line)
	a.record(k, resp)
	return k
}

// sendAwait sends raw bytes that end a command tagged tag and records the
// answer (continuation requests count as answers too, when cont).
func (a *actor) sendAwait(c *rawConn, tag string, b []byte, cont bool) kind {
	if err := c.send(b); err != nil {
		a.record(kindClosed, err.Error())
		return kindClosed
	}
	k, resp := c.await(tag, cont)
	a.record(k, resp)
	return k
}

// login logs in as the hostile user and selects INBOX if sel.
func (a *actor) login(c *rawConn, sel bool) bool {
	if !c.login(a.cfg.hostileUser, a.cfg.pass) {
		a.record(kindNO, "login failed")
		return false
	}
	if sel {
		k, _ := c.command("SELECT INBOX")
		return k == kindOK
	}
	return true
}

// sleep waits d or until the run ends.
func (a *actor) sleep(d time.Duration) {
	t := time.NewTimer(min(d, time.Until(a.reg.hard)))
	defer t.Stop()
	select {
	case <-t.C:
	case <-a.ctx.Done():
	}
}

func (a *actor) pick(xs ...int) int { return xs[a.rng.IntN(len(xs))] }

func (a *actor) unique() string {
	a.seq++
	return fmt.Sprintf("%x%x", a.rng.Uint32(), a.seq)
}

// garbage sends lines that are not IMAP, before or after login.
func garbage(a *actor, c *rawConn) {
	if a.rng.IntN(2) == 0 && !a.login(c, a.rng.IntN(2) == 0) {
		return
	}
	fixed := []string{
		"* * * *", ")))(((", `g1 "unterminated`, "g2 FETCH", "g3 SELECT", "g4 UID", "g5 LOGIN a",
		"g6 NOOP {5}x", "g7 NOOP \x00\x01\x02", "g8 FETCH 1 (BODY[", "g9 SEARCH (", "\t\t", "g10",
		"g11 UID FETCH * * *", "g12 APPEND", "g13 STORE 1 +FLAGS (\\Seen", "+ DONE", "DONE", "g14 IDLE IDLE",
		"g15 ENABLE " + strings.Repeat("X ", 2000), "g16 ID (" + strings.Repeat(`"k" "v" `, 100) + ")",
	}
	for range 1 + a.rng.IntN(8) {
		var line []byte
		if a.rng.IntN(2) == 0 {
			line = []byte(fixed[a.rng.IntN(len(fixed))])
		} else {
			line = make([]byte, 1+a.rng.IntN(300))
			for i := range line {
				line[i] = byte(a.rng.IntN(256))
				if line[i] == '\n' || line[i] == '\r' {
					line[i] = 'x'
				}
			}
		}
		if a.sendAwait(c, "", append(line, '\r', '\n'), false) > kindBAD {
			return
		}
	}
}

// longLine sends a command line longer than any server's limit.
func longLine(a *actor, c *rawConn) {
	n := a.pick(64<<10+1, 200<<10, 2<<20)
	var b []byte
	switch a.rng.IntN(3) {
	case 0:
		b = []byte("L1 NOOP " + strings.Repeat("x", n))
	case 1:
		b = []byte(`L1 LOGIN "` + strings.Repeat("y", n) + `" x`)
	default:
		if !a.login(c, true) {
			return
		}
		b = []byte("L1 FETCH 1 (" + strings.Repeat("FLAGS ", n/6) + ")")
	}
	a.sendAwait(c, "L1", append(b, '\r', '\n'), true)
}

// hugeLiteral announces a literal larger than anything allowed and never
// sends it.
func hugeLiteral(a *actor, c *rawConn) {
	lits := []string{"{4294967295}", "{4294967295+}", "~{4294967295}", "{18446744073709551616}", "{99999999999999999999}"}
	lit := lits[a.rng.IntN(len(lits))]
	var line string
	if a.rng.IntN(2) == 0 {
		line = "LOGIN " + lit
	} else {
		if !a.login(c, false) {
			return
		}
		line = "APPEND INBOX " + lit
	}
	tag := c.nextTag()
	if err := c.send([]byte(tag + " " + line + "\r\n")); err != nil {
		a.record(kindClosed, err.Error())
		return
	}
	k, resp := c.await(tag, true)
	if k == kindCont {
		k = kindHuge
	}
	a.record(k, resp)
	if k == kindHuge || strings.HasSuffix(lit, "+}") {
		// Send a little of it, then go.
		_ = c.send([]byte(strings.Repeat("z", 100<<10)))
		a.record(kindLeft, "")
	}
}

// cutLiteral announces a literal and stops half-way through it.
func cutLiteral(a *actor, c *rawConn) {
	n := a.pick(100, 50_000, 1_000_000)
	tag := c.nextTag()
	var line string
	switch a.rng.IntN(3) {
	case 0:
		n = min(n, 1000)
		line = fmt.Sprintf("%s LOGIN {%d}\r\n", tag, n)
	case 1:
		if !a.login(c, false) {
			return
		}
		line = fmt.Sprintf("%s APPEND INBOX {%d}\r\n", tag, n)
	default:
		if !a.login(c, false) {
			return
		}
		line = fmt.Sprintf("%s APPEND INBOX {%d+}\r\n", tag, n)
	}
	if !strings.Contains(line, "+}") {
		if a.sendAwait(c, tag, []byte(line), true) != kindCont {
			return
		}
	} else if err := c.send([]byte(line)); err != nil {
		a.record(kindClosed, err.Error())
		return
	}
	_ = c.send([]byte("From: x@y\r\nSubject: cut\r\n\r\n" + strings.Repeat("w", n/2)))
	a.sleep(time.Duration(a.rng.IntN(500)) * time.Millisecond)
	a.record(kindLeft, "")
}

// manyLiterals sends one command of many string literals, all
// non-synchronizing (LITERAL+) but perhaps the last: a literal costs the
// command line only its announcement, so a line within any line limit
// can carry thousands of them, which a server holds until the command
// runs unless it bounds their sum.
func manyLiterals(a *actor, c *rawConn) {
	if !a.login(c, true) {
		return
	}
	size := a.pick(1<<10, 64<<10)
	n := a.pick(3, 5, 100, 1000)
	tag := c.nextTag()
	head := tag + " SEARCH"
	if a.rng.IntN(2) == 0 {
		head = tag + " UID SEARCH CHARSET UTF-8 NOT SEEN"
	}
	lit := fmt.Appendf(nil, " TEXT {%d+}\r\n%s", size, strings.Repeat("v", size))
	if err := c.send([]byte(head)); err != nil {
		a.record(kindClosed, err.Error())
		return
	}
	for range n {
		if err := c.send(lit); err != nil {
			// The server may close after refusing: then the answer is read below.
			break
		}
	}
	if a.rng.IntN(2) == 0 {
		// A synchronizing literal last: refused without a continuation
		// request once the others are too much.
		if a.sendAwait(c, tag, []byte(" TEXT {1}\r\n"), true) == kindCont {
			a.sendAwait(c, tag, []byte("x\r\n"), false)
		}
		return
	}
	a.sendAwait(c, tag, []byte("\r\n"), false)
}

// nesting sends deeply nested parenthesised lists in FETCH and SEARCH.
func nesting(a *actor, c *rawConn) {
	if !a.login(c, true) {
		return
	}
	d := a.pick(31, 33, 100, 101, 1000, 20_000)
	open, shut := strings.Repeat("(", d), strings.Repeat(")", d)
	lines := []string{
		"FETCH 1 " + open + "FLAGS" + shut,
		"SEARCH " + open + "ALL" + shut,
		"UID SEARCH " + open + "OR ALL SEEN" + shut,
		"FETCH 1 (BODY.PEEK[HEADER.FIELDS " + open + "SUBJECT" + shut + "])",
		"SEARCH " + open + "ALL", // unbalanced
		"STORE 1 +FLAGS " + open + `\Seen` + shut,
	}
	a.cmd(c, lines[a.rng.IntN(len(lines))])
}

// seqSet sends sequence sets of many ranges.
func seqSet(a *actor, c *rawConn) {
	if !a.login(c, true) {
		return
	}
	const size = 60 << 10
	var set string
	switch a.rng.IntN(4) {
	case 0:
		set = strings.Repeat("1:*,", size/4) + "1:*"
	case 1:
		var sb strings.Builder
		for i := 1; sb.Len() < size; i += 2 {
			sb.WriteString(strconv.Itoa(i))
			sb.WriteByte(',')
		}
		set = sb.String() + "1"
	case 2:
		var sb strings.Builder
		for sb.Len() < size {
			fmt.Fprintf(&sb, "%d:%d,", a.rng.Uint32(), a.rng.Uint32())
		}
		set = sb.String() + "4294967295:1"
	default:
		set = "1:4294967295"
	}
	lines := []string{
		"FETCH " + set + " (FLAGS)",
		"UID FETCH " + set + " (UID RFC822.SIZE)",
		"SEARCH " + set,
		"UID SEARCH UID " + set,
		`STORE ` + set + ` +FLAGS.SILENT (\Seen)`,
		"COPY " + set + " INBOX",
	}
	a.cmd(c, lines[a.rng.IntN(len(lines))])
}

// listPattern sends LIST patterns made of wildcards, and many patterns.
func listPattern(a *actor, c *rawConn) {
	if !a.login(c, false) {
		return
	}
	n := a.pick(100, 2000, 20_000, 40_000)
	var line string
	switch a.rng.IntN(5) {
	case 0:
		line = `LIST "" "` + strings.Repeat("%*", n) + `X"`
	case 1:
		pats := make([]string, a.pick(32, 33, 1000))
		for i := range pats {
			pats[i] = `"` + strings.Repeat("*%", 1+a.rng.IntN(20)) + `"`
		}
		line = `LIST "" (` + strings.Join(pats, " ") + ")"
	case 2:
		line = `LIST (SUBSCRIBED RECURSIVEMATCH) "" "` + strings.Repeat("*a", min(n, 500)) + `" RETURN (CHILDREN STATUS (MESSAGES UNSEEN SIZE))`
	case 3:
		line = `LSUB "` + strings.Repeat("%", min(n, 1000)) + `" "*"`
	default:
		line = `LIST "" "*" RETURN (STATUS (MESSAGES UIDNEXT SIZE DELETED))`
	}
	a.cmd(c, line)
}

// createNames creates mailboxes with deep and long names (and RENAMEs
// them).
func createNames(a *actor, c *rawConn) {
	if !a.login(c, false) {
		return
	}
	u := a.unique()
	var name string
	switch a.rng.IntN(5) {
	case 0:
		name = "d" + u + strings.Repeat("/x", a.pick(10, 63, 65, 1000, 10_000))
	case 1:
		name = "l" + u + strings.Repeat("n", a.pick(1000, 1025, 5000, 60_000))
	case 2:
		name = "u" + u + "&AAA-&-" + strings.Repeat("&AMk-", 200) // (in)valid modified UTF-7
	case 3:
		name = "w" + u + strings.Repeat("/"+strings.Repeat("q", 30), 30)
	default:
		name = "r" + u + "/a/b/c"
		if a.cmd(c, "CREATE "+quote(name)) == kindOK {
			a.cmd(c, "RENAME "+quote("r"+u)+" "+quote("s"+u+strings.Repeat("/z", 40)))
		}
		return
	}
	a.cmd(c, "CREATE "+quote(name))
}

// searchKeys sends SEARCH, SORT and THREAD with deep OR/NOT trees, many
// keys and long needles.
func searchKeys(a *actor, c *rawConn) {
	if !a.login(c, true) {
		return
	}
	d := a.pick(50, 99, 101, 5000)
	needle := strings.Repeat("a", a.pick(1000, 30_000, 60_000))
	tag := c.nextTag()
	switch a.rng.IntN(7) {
	case 0:
		a.cmd(c, "SEARCH "+strings.Repeat("OR ALL ", d)+"ALL")
	case 1:
		a.cmd(c, "SEARCH "+strings.Repeat("OR ", d)+strings.Repeat("SUBJECT x ", d+1))
	case 2:
		a.cmd(c, "SEARCH "+strings.Repeat("NOT ", d)+"ALL")
	case 3:
		a.cmd(c, `SEARCH BODY "`+needle+`"`)
	case 4:
		a.cmd(c, "SEARCH "+strings.Repeat("TEXT xyz ", 6000))
	case 5:
		if a.sendAwait(c, tag, fmt.Appendf(nil, "%s SEARCH CHARSET UTF-8 TEXT {%d}\r\n", tag, len(needle)), true) == kindCont {
			a.sendAwait(c, tag, []byte(needle+"\r\n"), false)
		}
	default:
		if a.rng.IntN(2) == 0 {
			a.cmd(c, `SORT (REVERSE SUBJECT FROM DATE) UTF-8 OR BODY "`+needle[:1000]+`" `+strings.Repeat("NOT ", 90)+"ALL")
		} else {
			a.cmd(c, `THREAD REFERENCES UTF-8 `+strings.Repeat("OR HEADER X-A b ", 90)+"ALL")
		}
	}
}

// storeKeywords stores thousands of new keywords on every message.
func storeKeywords(a *actor, c *rawConn) {
	if !a.login(c, true) {
		return
	}
	n := a.pick(100, 1000, 5000)
	u := a.unique()
	kws := make([]string, n)
	for i := range kws {
		kws[i] = fmt.Sprintf("k%.4s%d", u, i)
	}
	a.cmd(c, "STORE 1:* +FLAGS ("+strings.Join(kws, " ")+")")
	if a.rng.IntN(2) == 0 {
		a.cmd(c, "FETCH 1:* (FLAGS)")
	}
}

// brokenMessage returns one of the broken MIME messages.
func brokenMessage(rng *rand.Rand) (string, []byte) {
	head := "From: Hostile <h@example.org>\r\nTo: v@example.org\r\nDate: Mon, 1 Jan 2026 00:00:00 +0000\r\nSubject: hostile\r\n"
	var sb strings.Builder
	switch i := rng.IntN(6); i {
	case 0: // boundaries never closed
		sb.WriteString(head + "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n")
		for j := range 200 {
			fmt.Fprintf(&sb, "--b\r\nContent-Type: multipart/alternative; boundary=b%d\r\n\r\n--b%d\r\nContent-Type: text/plain\r\n\r\npart %d\r\n", j, j, j)
		}
		return "unterminated", []byte(sb.String())
	case 1: // 1000 levels of multipart
		sb.WriteString(head + "MIME-Version: 1.0\r\n")
		for j := range 1000 {
			fmt.Fprintf(&sb, "Content-Type: multipart/mixed; boundary=n%d\r\n\r\n--n%d\r\n", j, j)
		}
		sb.WriteString("Content-Type: text/plain\r\n\r\ndeep\r\n")
		for j := 999; j >= 0; j-- {
			fmt.Fprintf(&sb, "--n%d--\r\n", j)
		}
		return "nested1000", []byte(sb.String())
	case 2: // one giant header line
		sb.WriteString(head + "X-Giant: " + strings.Repeat("g", 300<<10) + "\r\n\r\nbody\r\n")
		return "giantheader", []byte(sb.String())
	case 3: // many header fields
		sb.WriteString(head)
		for j := range 20_000 {
			fmt.Fprintf(&sb, "X-F%d: v\r\n", j)
		}
		sb.WriteString("\r\nbody\r\n")
		return "manyfields", []byte(sb.String())
	case 4: // 20,000 parts
		sb.WriteString(head + "Content-Type: multipart/mixed; boundary=p\r\n\r\n")
		for range 20_000 {
			sb.WriteString("--p\r\n\r\nx\r\n")
		}
		sb.WriteString("--p--\r\n")
		return "manyparts", []byte(sb.String())
	default: // RFC 2231 continuations, encoded words, broken base64
		sb.WriteString(head + "Content-Type: text/plain; ")
		for j := range 3000 {
			fmt.Fprintf(&sb, "title*%d*=utf-8''%%E2%%82; ", j)
		}
		sb.WriteString("\r\nContent-Transfer-Encoding: base64\r\nSubject: " + strings.Repeat("=?utf-8?B?4oKs?= ", 2000) + "\r\n\r\n")
		sb.WriteString(strings.Repeat("!!!!====\r\n", 1000))
		return "params", []byte(sb.String())
	}
}

// appendMIME appends a broken message, fetches its structure, and now and
// then expunges the hostile user's INBOX so that disk use stays bounded.
func appendMIME(a *actor, c *rawConn) {
	if !a.login(c, true) {
		return
	}
	_, msg := brokenMessage(a.rng)
	tag := c.nextTag()
	if a.sendAwait(c, tag, fmt.Appendf(nil, "%s APPEND INBOX {%d}\r\n", tag, len(msg)), true) != kindCont {
		return
	}
	if a.sendAwait(c, tag, append(msg, '\r', '\n'), false) != kindOK {
		return
	}
	a.cmd(c, "NOOP")
	a.cmd(c, "FETCH * (BODYSTRUCTURE ENVELOPE BODY.PEEK[1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1] BINARY.PEEK[1] PREVIEW)")
	if a.rng.IntN(4) == 0 {
		a.cmd(c, `STORE 1:* +FLAGS.SILENT (\Deleted)`)
		a.cmd(c, "EXPUNGE")
	}
}

// authBig sends AUTHENTICATE responses far larger than any credential.
func authBig(a *actor, c *rawConn) {
	big := base64.StdEncoding.EncodeToString([]byte("\x00nobody" + strings.Repeat("p", a.pick(10_000, 100_000, 1_000_000))))
	tag := c.nextTag()
	switch a.rng.IntN(5) {
	case 0: // SASL-IR
		a.sendAwait(c, tag, []byte(tag+" AUTHENTICATE PLAIN "+big+"\r\n"), true)
	case 1:
		if a.sendAwait(c, tag, []byte(tag+" AUTHENTICATE PLAIN\r\n"), true) == kindCont {
			a.sendAwait(c, tag, []byte(big+"\r\n"), true)
		}
	case 2:
		first := "n,,n=" + strings.Repeat("u", a.pick(1000, 60_000)) + ",r=" + strings.Repeat("r", 40_000)
		if a.sendAwait(c, tag, []byte(tag+" AUTHENTICATE SCRAM-SHA-256\r\n"), true) == kindCont {
			a.sendAwait(c, tag, []byte(base64.StdEncoding.EncodeToString([]byte(first))+"\r\n"), true)
		}
	case 3:
		if a.sendAwait(c, tag, []byte(tag+" AUTHENTICATE LOGIN\r\n"), true) == kindCont {
			for range 20 { // answers to a challenge that never ends?
				if a.sendAwait(c, tag, []byte(base64.StdEncoding.EncodeToString([]byte(strings.Repeat("n", 10_000)))+"\r\n"), true) != kindCont {
					break
				}
			}
		}
	default: // not base64 at all
		if a.sendAwait(c, tag, []byte(tag+" AUTHENTICATE PLAIN\r\n"), true) == kindCont {
			a.sendAwait(c, tag, []byte(strings.Repeat("%%%%", 10_000)+"\r\n"), true)
		}
	}
}

// idleHold starts IDLE and leaves without DONE (sometimes after sending
// something else instead).
func idleHold(a *actor, c *rawConn) {
	if !a.login(c, true) {
		return
	}
	tag := c.nextTag()
	if a.sendAwait(c, tag, []byte(tag+" IDLE\r\n"), true) != kindCont {
		return
	}
	a.sleep(time.Duration(a.rng.Int64N(int64(a.cfg.hold) + 1)))
	switch a.rng.IntN(3) {
	case 0:
		a.sendAwait(c, tag, []byte("DONX"+strings.Repeat("!", 100<<10)+"\r\n"), false)
	case 1:
		a.sendAwait(c, tag, []byte("DONE\x00\r\n"), false)
	default:
		a.record(kindLeft, "")
	}
}

// abandon opens a connection and leaves it: at once, after the greeting,
// half a TLS handshake, or silent for up to -hold.
func abandon(a *actor, src string) {
	d := net.Dialer{Timeout: a.cfg.timeout}
	if src != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(src)}
	}
	nc, err := d.DialContext(a.ctx, "tcp", a.cfg.addr)
	if err != nil {
		a.record(kindClosed, err.Error())
		return
	}
	if !a.reg.add(nc) {
		_ = nc.Close()
		return
	}
	defer func() { a.reg.remove(nc); _ = nc.Close() }()
	switch a.rng.IntN(4) {
	case 0:
	case 1:
		_ = nc.SetReadDeadline(earliest(time.Now().Add(a.cfg.timeout), a.reg.hard))
		buf := make([]byte, 512)
		_, _ = nc.Read(buf)
	case 2:
		_, _ = nc.Write([]byte{0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00})
		a.sleep(time.Duration(a.rng.Int64N(int64(a.cfg.hold) + 1)))
	default:
		a.sleep(time.Duration(a.rng.Int64N(int64(a.cfg.hold) + 1)))
	}
	a.record(kindLeft, "")
}
