// Command searchcmp runs the issue-5 search benchmark against any IMAP
// server, so that Rookery and Dovecot can be measured side by side on the
// same mailbox: the corpus of internal/benchcorpus.
//
//	searchcmp populate -addr 127.0.0.1:1143 -user alice -pass secret [-n 100000] [-conns 4]
//	searchcmp maildir  -dir /tmp/dovecot-ref-sc/mail/user1/Maildir [-n 100000] [-owner vmail]
//	searchcmp measure  -addr 127.0.0.1:1143 -user alice -pass secret [-runs 5] [-verify]
//
// populate APPENDs messages start..n-1 of the corpus with their corpus
// internal dates over plaintext LOGIN, from several connections, batching
// with MULTIAPPEND and not waiting for continuations with LITERAL+ when
// the server advertises them. maildir writes the same messages straight
// into a Dovecot Maildir's cur/ (file mtime = internal date, as Dovecot's
// maildir takes it), for when APPEND is too slow.
//
// measure EXAMINEs the mailbox, maps sequence numbers to corpus message
// numbers (through Message-ID, outside the timing), then runs each
// benchmark command once as a warm-up and -runs more times, timing each
// from sending the command to reading its tagged reply. It prints min and
// median, the number of untagged response lines, the number of results
// and a hash of the result translated into corpus message numbers, so
// that two servers holding the same corpus in different UID orders give
// the same hash for the same answer. -verify also computes the expected
// answer from the corpus and says whether each server's answer is it.
//
// Only loopback addresses are accepted.
package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"rookery/internal/benchcorpus"
)

// commands are the benchmark commands of issue 5, in the order measured.
var commands = []string{
	`SEARCH BODY "` + benchcorpus.RareWord + `"`,
	`SEARCH FROM "user1234@" SUBJECT "re:"`,
	`SORT (DATE) UTF-8 ALL`,
	`THREAD REFERENCES UTF-8 ALL`,
	`SEARCH UNSEEN LARGER 10000`,
}

const (
	maxResponse = 256 << 20 // bytes of one command's responses
	maxLiteral  = 64 << 20
	cmdTimeout  = 30 * time.Minute
)

func usage() {
	fmt.Fprintln(os.Stderr, "usage: searchcmp populate|maildir|measure [flags] (searchcmp MODE -h for the flags)")
	os.Exit(2)
}

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "populate":
		err = populate(os.Args[2:])
	case "maildir":
		err = maildir(os.Args[2:])
	case "measure":
		err = measure(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "searchcmp:", err)
		os.Exit(1)
	}
}

type account struct{ addr, user, pass, mailbox string }

func accountFlags(fs *flag.FlagSet) *account {
	a := &account{}
	fs.StringVar(&a.addr, "addr", "127.0.0.1:143", "IMAP server (loopback only, plaintext)")
	fs.StringVar(&a.user, "user", "user1", "user name")
	fs.StringVar(&a.pass, "pass", "pass", "password")
	fs.StringVar(&a.mailbox, "mailbox", "INBOX", "mailbox")
	return a
}

func populate(args []string) error {
	fs := flag.NewFlagSet("populate", flag.ExitOnError)
	a := accountFlags(fs)
	n := fs.Int("n", benchcorpus.DefaultN, "corpus size: messages start..n-1 are appended")
	start := fs.Int("start", 0, "first message number to append (the ones before it are not touched)")
	conns := fs.Int("conns", 4, "parallel connections")
	batch := fs.Int("batch", 50, "messages per APPEND command when the server has MULTIAPPEND")
	fs.Parse(args)
	if *n < 0 || *start < 0 || *start > *n || *conns < 1 || *conns > 64 || *batch < 1 || *batch > 10000 {
		return errors.New("populate: bad -n/-start/-conns/-batch")
	}
	var next, done atomic.Int64
	next.Store(int64(*start))
	var bytesDone atomic.Int64
	errc := make(chan error, *conns)
	t0 := time.Now()
	stop := make(chan struct{})
	go func() { // progress
		tick := time.NewTicker(5 * time.Second)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				d, el := done.Load(), time.Since(t0)
				fmt.Printf("appended %d/%d (%d MB) in %s: %.0f msg/s\n", d, *n-*start, bytesDone.Load()>>20, el.Round(time.Second), float64(d)/el.Seconds())
			}
		}
	}()
	var wg sync.WaitGroup
	var announce sync.Once
	for range *conns {
		wg.Go(func() {
			c, err := login(a)
			if err != nil {
				errc <- err
				return
			}
			defer c.logout()
			multi := *batch
			if !c.caps["MULTIAPPEND"] {
				multi = 1
			}
			announce.Do(func() {
				fmt.Printf("%s: %d connections, %d messages per APPEND, LITERAL+ %v\n", a.addr, *conns, multi, c.caps["LITERAL+"])
			})
			for {
				lo := int(next.Add(int64(multi))) - multi
				if lo >= *n {
					return
				}
				hi := min(lo+multi, *n)
				sz, err := c.appendRange(a.mailbox, lo, hi)
				if err != nil {
					errc <- fmt.Errorf("APPEND of messages %d..%d: %w", lo, hi-1, err)
					next.Store(int64(*n)) // stop the others
					return
				}
				done.Add(int64(hi - lo))
				bytesDone.Add(sz)
			}
		})
	}
	wg.Wait()
	close(stop)
	close(errc)
	el := time.Since(t0)
	fmt.Printf("appended %d messages (%d MB) in %s: %.0f msg/s\n", done.Load(), bytesDone.Load()>>20, el.Round(time.Millisecond), float64(done.Load())/el.Seconds())
	var all error
	for err := range errc {
		all = errors.Join(all, err)
	}
	return all
}

// appendRange appends messages lo..hi-1 in one APPEND (MULTIAPPEND when
// hi-lo > 1) and returns their total size.
func (c *conn) appendRange(mailbox string, lo, hi int) (int64, error) {
	tag := c.nextTag()
	var total int64
	if _, err := fmt.Fprintf(c.w, "%s APPEND %s", tag, quote(mailbox)); err != nil {
		return 0, err
	}
	for i := lo; i < hi; i++ {
		msg := benchcorpus.Message(i)
		total += int64(len(msg))
		date := benchcorpus.InternalDate(i).UTC().Format("02-Jan-2006 15:04:05 -0700")
		plus := ""
		if c.caps["LITERAL+"] {
			plus = "+"
		}
		fmt.Fprintf(c.w, " \"%s\" {%d%s}\r\n", date, len(msg), plus)
		if plus == "" {
			if err := c.w.Flush(); err != nil {
				return 0, err
			}
			if err := c.waitContinuation(tag); err != nil {
				return 0, err
			}
		}
		c.w.Write(msg)
	}
	c.w.WriteString("\r\n")
	if err := c.w.Flush(); err != nil {
		return 0, err
	}
	_, status, err := c.readUntilTagged(tag, nil)
	if err != nil {
		return 0, err
	}
	if !strings.HasPrefix(status, "OK") {
		return 0, fmt.Errorf("%s", status)
	}
	return total, nil
}

func maildir(args []string) error {
	fs := flag.NewFlagSet("maildir", flag.ExitOnError)
	dir := fs.String("dir", "", "the Maildir (e.g. /tmp/dovecot-ref-sc/mail/user1/Maildir); cur/ new/ tmp/ are created")
	n := fs.Int("n", benchcorpus.DefaultN, "corpus size: messages start..n-1 are written")
	start := fs.Int("start", 0, "first message number")
	owner := fs.String("owner", "vmail", "user that owns the files and directories (\"\": leave as created)")
	workers := fs.Int("workers", runtime.NumCPU(), "parallel writers")
	fs.Parse(args)
	if *dir == "" || *n < 0 || *start < 0 || *start > *n || *workers < 1 || *workers > 64 {
		return errors.New("maildir: need -dir and sane -n/-start/-workers")
	}
	uid, gid := -1, -1
	if *owner != "" {
		u, err := user.Lookup(*owner)
		if err != nil {
			return err
		}
		uid, _ = strconv.Atoi(u.Uid)
		gid, _ = strconv.Atoi(u.Gid)
	}
	// The home directory above the Maildir too, when it is created here:
	// Dovecot (running as -owner) writes there.
	for _, d := range []string{filepath.Dir(*dir), *dir, filepath.Join(*dir, "cur"), filepath.Join(*dir, "new"), filepath.Join(*dir, "tmp")} {
		if _, err := os.Stat(d); err == nil {
			continue
		}
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
		if uid >= 0 {
			if err := os.Chown(d, uid, gid); err != nil {
				return err
			}
		}
	}
	var next, done, total atomic.Int64
	next.Store(int64(*start))
	t0 := time.Now()
	errc := make(chan error, *workers)
	var wg sync.WaitGroup
	for range *workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= *n {
					return
				}
				msg := benchcorpus.Message(i)
				// Dovecot's own names: <time>.M<usecs>P<pid>.<host>,S=<size>,W=<virtual size>:2,<flags>.
				// The files have CRLF line ends only, so the virtual size is the size. The leading
				// number orders new files for UID assignment.
				name := filepath.Join(*dir, "cur", fmt.Sprintf("%d.M%dP1.bench,S=%d,W=%d:2,", i, i, len(msg), len(msg)))
				err := os.WriteFile(name, msg, 0o600)
				if err == nil && uid >= 0 {
					err = os.Chown(name, uid, gid)
				}
				if err == nil {
					d := benchcorpus.InternalDate(i)
					err = os.Chtimes(name, d, d)
				}
				if err != nil {
					errc <- err
					next.Store(int64(*n))
					return
				}
				total.Add(int64(len(msg)))
				if d := done.Add(1); d%10000 == 0 {
					fmt.Printf("wrote %d/%d in %s\n", d, *n-*start, time.Since(t0).Round(time.Second))
				}
			}
		})
	}
	wg.Wait()
	close(errc)
	fmt.Printf("wrote %d messages (%d MB) into %s in %s (no fsync)\n", done.Load(), total.Load()>>20, *dir, time.Since(t0).Round(time.Millisecond))
	var all error
	for err := range errc {
		all = errors.Join(all, err)
	}
	return all
}

func measure(args []string) error {
	fs := flag.NewFlagSet("measure", flag.ExitOnError)
	a := accountFlags(fs)
	runs := fs.Int("runs", 5, "timed runs per command, after one warm-up")
	verify := fs.Bool("verify", false, "compute the expected answers from the corpus (generates every message: ~1 min) and compare")
	only := fs.String("only", "", "run only the commands containing this text")
	fs.Parse(args)
	if *runs < 1 || *runs > 1000 {
		return errors.New("measure: -runs must be 1..1000")
	}
	c, err := login(a)
	if err != nil {
		return err
	}
	defer c.logout()
	fmt.Printf("server %s: %s\n", a.addr, strings.TrimSpace(c.greeting))
	t := time.Now()
	untagged, status, err := c.command("EXAMINE " + quote(a.mailbox))
	if err != nil || !strings.HasPrefix(status, "OK") {
		return fmt.Errorf("EXAMINE: %v %s", err, status)
	}
	exists := -1
	for _, u := range untagged {
		if f := strings.Fields(string(u)); len(f) == 3 && f[2] == "EXISTS" {
			exists, _ = strconv.Atoi(f[1])
		}
	}
	fmt.Printf("EXAMINE %s: %d messages, %s\n", a.mailbox, exists, time.Since(t).Round(time.Millisecond))
	if exists <= 0 {
		return errors.New("empty mailbox")
	}
	t = time.Now()
	corpus, err := c.mapSeqs(exists)
	if err != nil {
		return err
	}
	fmt.Printf("mapped sequence numbers to corpus messages in %s\n", time.Since(t).Round(time.Millisecond))

	var expected map[string]result
	if *verify {
		t = time.Now()
		expected, err = expect(corpus)
		if err != nil {
			return err
		}
		fmt.Printf("computed expected answers in %s\n", time.Since(t).Round(time.Millisecond))
	}

	fmt.Printf("\n%-40s %9s %9s %9s %6s %8s  %-16s %s\n", "command", "warm-up", "min ms", "median", "lines", "results", "answer hash", "verify")
	for _, cmd := range commands {
		if *only != "" && !strings.Contains(cmd, *only) {
			continue
		}
		var times []float64
		var res result
		var warm float64
		for r := 0; r <= *runs; r++ {
			t := time.Now()
			untagged, status, err := c.command(cmd)
			el := float64(time.Since(t).Microseconds()) / 1000
			if err != nil {
				return fmt.Errorf("%s: %w", cmd, err)
			}
			if !strings.HasPrefix(status, "OK") {
				return fmt.Errorf("%s: %s", cmd, status)
			}
			got, err := parseResult(untagged, corpus)
			if err != nil {
				return fmt.Errorf("%s: %w", cmd, err)
			}
			if r == 0 {
				warm, res = el, got
				continue
			}
			if got != res {
				return fmt.Errorf("%s: answer changed between runs (%s, then %s)", cmd, res, got)
			}
			times = append(times, el)
		}
		slices.Sort(times)
		v := ""
		if expected != nil {
			if want := expected[cmd]; want == res {
				v = "= expected"
			} else {
				v = "EXPECTED " + want.String()
			}
		}
		fmt.Printf("%-40s %9.1f %9.1f %9.1f %6d %8d  %-16s %s\n", cmd, warm, times[0], times[len(times)/2], res.lines, res.count, res.hash, v)
	}
	return nil
}

// result is an answer in corpus message numbers: the number of untagged
// lines, of message numbers in them, and a hash of the answer (sorted
// for SEARCH, in order for SORT, with its parentheses for THREAD).
type result struct {
	lines, count int
	hash         string
}

func (r result) String() string { return fmt.Sprintf("%d results %s", r.count, r.hash) }

var numRE = regexp.MustCompile(`\d+`)

func parseResult(untagged [][]byte, corpus []int) (result, error) {
	var r result
	var canon strings.Builder
	var set []int
	for _, u := range untagged {
		s := string(bytes.TrimRight(u, "\r\n"))
		kind, rest, _ := strings.Cut(strings.TrimPrefix(s, "* "), " ")
		if kind != "SEARCH" && kind != "SORT" && kind != "THREAD" {
			continue // e.g. an EXISTS or FLAGS update
		}
		r.lines++
		if rest == "" && strings.HasSuffix(s, " "+kind) {
			continue
		}
		var bad error
		mapped := numRE.ReplaceAllStringFunc(rest, func(d string) string {
			seq, _ := strconv.Atoi(d)
			if seq < 1 || seq > len(corpus) {
				bad = fmt.Errorf("message %s out of range", d)
				return d
			}
			r.count++
			set = append(set, corpus[seq-1])
			return strconv.Itoa(corpus[seq-1])
		})
		if bad != nil {
			return r, bad
		}
		if kind == "SEARCH" {
			continue
		}
		canon.WriteString(kind + " " + mapped + "\n")
	}
	if canon.Len() == 0 { // SEARCH: a set
		slices.Sort(set)
		for _, x := range set {
			canon.WriteString(strconv.Itoa(x) + " ")
		}
	}
	r.hash = shortHash(canon.String())
	return r, nil
}

func shortHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return fmt.Sprintf("%x", h[:8])
}

// expect computes each command's answer from the corpus, for the messages
// the mailbox holds (corpus[seq-1]): SEARCH and SORT by what the
// generator put into the messages, THREAD as the reply chains of five the
// generator writes (each thread's root has a distinct subject, so no
// subject merging).
func expect(corpus []int) (map[string]result, error) {
	present := map[int]bool{}
	maxI := -1
	for _, i := range corpus {
		if i < 0 {
			return nil, errors.New("-verify: the mailbox holds messages that are not from the corpus")
		}
		present[i] = true
		maxI = max(maxI, i)
	}
	if len(present) != len(corpus) || maxI != len(corpus)-1 {
		return nil, errors.New("-verify: the mailbox does not hold exactly corpus messages 0..n-1 once each")
	}
	n := len(corpus)
	large := make([]bool, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range runtime.NumCPU() {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				large[i] = len(benchcorpus.Message(i)) > 10000
			}
		})
	}
	wg.Wait()
	set := func(keep func(i int) bool) result {
		var b strings.Builder
		r := result{lines: 1}
		for i := range n {
			if keep(i) {
				b.WriteString(strconv.Itoa(i) + " ")
				r.count++
			}
		}
		r.hash = shortHash(b.String())
		return r
	}
	exp := map[string]result{
		commands[0]: set(benchcorpus.Rare),
		commands[1]: set(func(i int) bool { return benchcorpus.Sender(i) == 1234 && i%5 != 0 }),
		commands[4]: set(func(i int) bool { return large[i] }),
	}
	// SORT (DATE): the Date: header grows with the message number.
	var b strings.Builder
	b.WriteString("SORT")
	for i := range n {
		b.WriteString(" " + strconv.Itoa(i))
	}
	exp[commands[2]] = result{lines: 1, count: n, hash: shortHash(b.String() + "\n")}
	// THREAD REFERENCES: (5k 5k+1 … 5k+4) in date order.
	b.Reset()
	b.WriteString("THREAD ")
	for k := 0; k < n; k += 5 {
		b.WriteString("(")
		for i := k; i < min(k+5, n); i++ {
			if i > k {
				b.WriteString(" ")
			}
			b.WriteString(strconv.Itoa(i))
		}
		b.WriteString(")")
	}
	exp[commands[3]] = result{lines: 1, count: n, hash: shortHash(b.String() + "\n")}
	return exp, nil
}

var msgidRE = regexp.MustCompile(`<(\d+)@bench\.example>`)

// mapSeqs returns, for each sequence number s, the corpus message number
// of message s (from its Message-ID), or -1.
func (c *conn) mapSeqs(exists int) ([]int, error) {
	corpus := make([]int, exists)
	for i := range corpus {
		corpus[i] = -1
	}
	untagged, status, err := c.command("FETCH 1:* (BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(status, "OK") {
		return nil, fmt.Errorf("FETCH: %s", status)
	}
	unknown := 0
	for _, u := range untagged {
		f := strings.Fields(string(u[:min(len(u), 40)]))
		if len(f) < 3 || f[2] != "FETCH" {
			continue
		}
		seq, err := strconv.Atoi(f[1])
		if err != nil || seq < 1 || seq > exists {
			continue
		}
		if m := msgidRE.FindSubmatch(u); m != nil {
			corpus[seq-1], _ = strconv.Atoi(string(m[1]))
		}
	}
	for _, x := range corpus {
		if x < 0 {
			unknown++
		}
	}
	if unknown > 0 {
		fmt.Printf("warning: %d messages are not from the corpus (no <i@bench.example> Message-ID)\n", unknown)
	}
	return corpus, nil
}

// conn is a raw IMAP client connection: commands are written as lines and
// responses read whole (literals included), so that a command's time is
// that of its complete response.
type conn struct {
	nc       net.Conn
	r        *bufio.Reader
	w        *bufio.Writer
	tag      int
	caps     map[string]bool
	greeting string
}

func login(a *account) (*conn, error) {
	host, _, err := net.SplitHostPort(a.addr)
	if err != nil {
		return nil, err
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("%s: only loopback IP addresses are allowed", a.addr)
	}
	nc, err := net.DialTimeout("tcp", a.addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	c := &conn{nc: nc, r: bufio.NewReaderSize(nc, 64<<10), w: bufio.NewWriterSize(nc, 256<<10), caps: map[string]bool{}}
	nc.SetDeadline(time.Now().Add(time.Minute))
	g, err := c.readResponse()
	if err != nil {
		nc.Close()
		return nil, err
	}
	c.greeting = string(g)
	_, status, err := c.command("LOGIN " + quote(a.user) + " " + quote(a.pass))
	if err == nil && !strings.HasPrefix(status, "OK") {
		err = fmt.Errorf("LOGIN: %s", status)
	}
	if err != nil {
		nc.Close()
		return nil, err
	}
	untagged, _, err := c.command("CAPABILITY")
	if err != nil {
		nc.Close()
		return nil, err
	}
	for _, u := range untagged {
		if f := strings.Fields(string(u)); len(f) > 1 && f[1] == "CAPABILITY" {
			for _, cp := range f[2:] {
				c.caps[strings.ToUpper(cp)] = true
			}
		}
	}
	return c, nil
}

func (c *conn) logout() {
	c.command("LOGOUT")
	c.nc.Close()
}

func (c *conn) nextTag() string {
	c.tag++
	return "t" + strconv.Itoa(c.tag)
}

// command sends one command line (no literals) and returns the untagged
// responses and the tagged status ("OK ...", "NO ...", "BAD ...").
func (c *conn) command(line string) ([][]byte, string, error) {
	tag := c.nextTag()
	c.nc.SetDeadline(time.Now().Add(cmdTimeout))
	if _, err := c.w.WriteString(tag + " " + line + "\r\n"); err != nil {
		return nil, "", err
	}
	if err := c.w.Flush(); err != nil {
		return nil, "", err
	}
	var untagged [][]byte
	_, status, err := c.readUntilTagged(tag, &untagged)
	return untagged, status, err
}

// readUntilTagged reads responses up to the one tagged tag; untagged
// ones are kept in *keep when keep is not nil. It stops with an error
// after maxResponse bytes.
func (c *conn) readUntilTagged(tag string, keep *[][]byte) (int, string, error) {
	c.nc.SetDeadline(time.Now().Add(cmdTimeout))
	total := 0
	for total < maxResponse {
		resp, err := c.readResponse()
		if err != nil {
			return total, "", err
		}
		total += len(resp)
		if rest, ok := bytes.CutPrefix(resp, []byte(tag+" ")); ok {
			return total, strings.TrimRight(string(rest), "\r\n"), nil
		}
		if keep != nil && bytes.HasPrefix(resp, []byte("* ")) {
			*keep = append(*keep, resp)
		}
	}
	return total, "", fmt.Errorf("response to %s longer than %d bytes", tag, maxResponse)
}

// waitContinuation reads up to a "+" continuation request; a tagged
// response to tag instead is an error.
func (c *conn) waitContinuation(tag string) error {
	for range 10000 {
		resp, err := c.readResponse()
		if err != nil {
			return err
		}
		if bytes.HasPrefix(resp, []byte("+")) {
			return nil
		}
		if rest, ok := bytes.CutPrefix(resp, []byte(tag+" ")); ok {
			return fmt.Errorf("%s", bytes.TrimSpace(rest))
		}
	}
	return errors.New("no continuation request")
}

// readResponse reads one response: a line, and when it ends in a literal
// {n}, the n bytes and the rest of the response after them.
func (c *conn) readResponse() ([]byte, error) {
	var resp []byte
	for len(resp) < maxResponse {
		line, err := c.r.ReadSlice('\n')
		resp = append(resp, line...)
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			return nil, err
		}
		n, ok := literalSize(resp)
		if !ok {
			return resp, nil
		}
		if n > maxLiteral {
			return nil, fmt.Errorf("literal of %d bytes", n)
		}
		start := len(resp)
		resp = slices.Grow(resp, n)[:start+n]
		if _, err := io.ReadFull(c.r, resp[start:]); err != nil {
			return nil, err
		}
	}
	return nil, fmt.Errorf("response longer than %d bytes", maxResponse)
}

// literalSize reports whether resp ends in "{n}\r\n" (or "{n+}", "~{n}").
func literalSize(resp []byte) (int, bool) {
	s := bytes.TrimRight(resp, "\r\n")
	if !bytes.HasSuffix(s, []byte("}")) {
		return 0, false
	}
	open := bytes.LastIndexByte(s, '{')
	if open < 0 {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimSuffix(string(s[open+1:len(s)-1]), "+"))
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
