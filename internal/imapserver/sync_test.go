package imapserver_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"rookery/internal/imap"
	"rookery/internal/imapnum"
	"rookery/internal/imaptest"
	"rookery/internal/store"
)

// modelMsg is one message as a client knows it: UID 0 until a FETCH named
// it, flags "" with known false until a FETCH reported them.
type modelMsg struct {
	uid   uint32
	flags string // sorted, space-separated, without \Recent
	known bool
}

// model is a client's picture of its selected mailbox, built only from what
// the server told it, with the checks a real client relies on.
type model struct {
	t    testing.TB
	name string
	msgs []modelMsg
	// noExpunge is set while a FETCH or STORE by sequence number runs.
	noExpunge bool
	qresync   bool // expunges come as VANISHED
	// keywords were announced in FLAGS responses (lower-cased): every
	// keyword a FETCH shows must be among them (RFC 9051 §7.3.5).
	keywords map[string]bool
}

var (
	fetchRE  = regexp.MustCompile(`^\* (\d+) FETCH \((.*)\)$`)
	uidRE    = regexp.MustCompile(`\bUID (\d+)`)
	flagsRE  = regexp.MustCompile(`\bFLAGS \(([^)]*)\)`)
	existsRE = regexp.MustCompile(`^\* (\d+) EXISTS$`)
	expRE    = regexp.MustCompile(`^\* (\d+) EXPUNGE$`)
	vanRE    = regexp.MustCompile(`^\* VANISHED (\(EARLIER\) )?(\S+)$`)
	kwListRE = regexp.MustCompile(`^\* FLAGS \(([^)]*)\)$`)
)

// normFlags sorts a flag list and drops \Recent (per-session).
func normFlags(s string) string {
	var out []string
	for _, f := range strings.Fields(s) {
		if !strings.EqualFold(f, `\Recent`) {
			out = append(out, f)
		}
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

// apply updates the model with one untagged line.
func (m *model) apply(line string) {
	m.t.Helper()
	if g := kwListRE.FindStringSubmatch(line); g != nil {
		if m.keywords == nil {
			m.keywords = map[string]bool{}
		}
		for _, f := range strings.Fields(g[1]) {
			m.keywords[strings.ToLower(f)] = true
		}
		return
	}
	if g := existsRE.FindStringSubmatch(line); g != nil {
		n, _ := strconv.Atoi(g[1])
		if n < len(m.msgs) {
			m.t.Fatalf("%s: EXISTS %d below the %d messages known: %q", m.name, n, len(m.msgs), line)
		}
		for len(m.msgs) < n {
			m.msgs = append(m.msgs, modelMsg{})
		}
		return
	}
	if g := expRE.FindStringSubmatch(line); g != nil {
		n, _ := strconv.Atoi(g[1])
		if m.noExpunge {
			m.t.Fatalf("%s: EXPUNGE during a command by sequence number: %q", m.name, line)
		}
		if n < 1 || n > len(m.msgs) {
			m.t.Fatalf("%s: EXPUNGE of unknown sequence number %d (have %d)", m.name, n, len(m.msgs))
		}
		m.msgs = slices.Delete(m.msgs, n-1, n)
		return
	}
	if g := vanRE.FindStringSubmatch(line); g != nil {
		if m.noExpunge {
			m.t.Fatalf("%s: VANISHED during a command by sequence number: %q", m.name, line)
		}
		set, err := imapnum.Parse(g[2])
		if err != nil {
			m.t.Fatalf("%s: bad VANISHED %q", m.name, line)
		}
		if g[1] != "" {
			m.msgs = slices.DeleteFunc(m.msgs, func(x modelMsg) bool { return x.uid != 0 && set.Contains(x.uid) })
			return
		}
		// Every UID of a live VANISHED must be a message the client
		// knows: by UID, or as one announced by EXISTS whose UID it has
		// not fetched yet, placed between the known UIDs around it.
		for _, r := range set {
			for u := r.Start; u <= r.Stop; u++ {
				if i := slices.IndexFunc(m.msgs, func(x modelMsg) bool { return x.uid == u }); i >= 0 {
					m.msgs = slices.Delete(m.msgs, i, i+1)
					continue
				}
				slot := -1
				for i, x := range m.msgs {
					if x.uid > u {
						break
					}
					if x.uid == 0 {
						slot = i
					} else {
						slot = -1
					}
				}
				if slot < 0 {
					m.t.Fatalf("%s: VANISHED of UID %d the client cannot place", m.name, u)
				}
				m.msgs = slices.Delete(m.msgs, slot, slot+1)
			}
		}
		return
	}
	if g := fetchRE.FindStringSubmatch(line); g != nil {
		n, _ := strconv.Atoi(g[1])
		if n < 1 || n > len(m.msgs) {
			m.t.Fatalf("%s: FETCH of unknown sequence number %d (have %d): %q", m.name, n, len(m.msgs), line)
		}
		e := &m.msgs[n-1]
		if u := uidRE.FindStringSubmatch(g[2]); u != nil {
			uid64, _ := strconv.ParseUint(u[1], 10, 32)
			uid := uint32(uid64)
			if e.uid != 0 && e.uid != uid {
				m.t.Fatalf("%s: sequence %d was UID %d, now FETCH says UID %d", m.name, n, e.uid, uid)
			}
			e.uid = uid
		}
		if f := flagsRE.FindStringSubmatch(g[2]); f != nil {
			e.flags, e.known = normFlags(f[1]), true
			for _, k := range strings.Fields(f[1]) {
				if !strings.HasPrefix(k, `\`) && !m.keywords[strings.ToLower(k)] {
					m.t.Fatalf("%s: keyword %s in a FETCH before any FLAGS announced it: %q", m.name, k, line)
				}
			}
		}
		m.checkOrder()
	}
}

// checkOrder: known UIDs ascend strictly with the sequence numbers (so no
// message is seen twice).
func (m *model) checkOrder() {
	m.t.Helper()
	var last uint32
	for i, e := range m.msgs {
		if e.uid == 0 {
			continue
		}
		if e.uid <= last {
			m.t.Fatalf("%s: UID %d at sequence %d after UID %d", m.name, e.uid, i+1, last)
		}
		last = e.uid
	}
}

// syncClient is a raw client that keeps a model.
type syncClient struct {
	*imaptest.Client
	m   *model
	tag int
}

// run sends a command and applies every untagged line until its tagged
// response, which must be OK (or NO when mayFail).
func (c *syncClient) run(line string, noExpunge bool) []string {
	c.tag++
	tag := "t" + strconv.Itoa(c.tag)
	c.Send(tag + " " + line)
	c.m.noExpunge = noExpunge
	lines := c.until(tag)
	c.m.noExpunge = false
	// A QRESYNC client learns the UIDs of new messages at once: a later
	// VANISHED names UIDs, and it must be able to place them.
	for c.m.qresync && slices.ContainsFunc(c.m.msgs, func(x modelMsg) bool { return x.uid == 0 }) {
		c.tag++
		tag := "t" + strconv.Itoa(c.tag)
		c.Send(tag + " UID FETCH 1:* (UID)")
		c.until(tag)
	}
	return lines
}

func (c *syncClient) until(tag string) []string {
	var lines []string
	for {
		l := c.ReadLine()
		if strings.HasPrefix(l, tag+" ") {
			if !strings.HasPrefix(l, tag+" OK") {
				c.m.t.Fatalf("%s: %s (model has %d messages)", c.m.name, l, len(c.m.msgs))
			}
			return lines
		}
		lines = append(lines, l)
		c.m.apply(l)
	}
}

func (c *syncClient) knownUID(r *rand.Rand) uint32 {
	var uids []uint32
	for _, e := range c.m.msgs {
		if e.uid != 0 {
			uids = append(uids, e.uid)
		}
	}
	if len(uids) == 0 {
		return 0
	}
	return uids[r.IntN(len(uids))]
}

// storeTruth reads alice's INBOX from the store: UIDs and normalised flags.
func storeTruth(t testing.TB, srv *imaptest.Server) []modelMsg {
	ctx := context.Background()
	acct, err := srv.Store.Account(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	mb, err := srv.Store.Mailbox(ctx, acct.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	var out []modelMsg
	err = srv.Store.Fetch(ctx, mb.ID, imapnum.Set{{Start: 1, Stop: ^uint32(0) - 1}}, func(m store.Message) error {
		out = append(out, modelMsg{uid: m.UID, flags: normFlags(strings.Join(imap.FlagNames(m.Flags, false), " ")), known: true})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestConcurrentSessions runs sessions doing random APPEND, STORE, EXPUNGE
// and MOVE on one mailbox while they also FETCH and IDLE, each checking that
// what it is told stays consistent (no EXPUNGE during FETCH/STORE by
// sequence number, no unknown sequence numbers, no UID seen twice) and, once
// every writer stopped, that its model converged to the store's state.
func TestConcurrentSessions(t *testing.T) {
	srv := imaptest.StartServer(t)
	const sessions = 8
	ops := 60
	if testing.Short() {
		ops = 20
	}
	var writing sync.WaitGroup
	writing.Add(sessions)
	deadline := time.Now().Add(30 * time.Second)
	var all sync.WaitGroup
	for i := 0; i < sessions; i++ {
		all.Add(1)
		go func() {
			defer all.Done()
			t := goTB{t}
			{
				doneWriting := sync.OnceFunc(writing.Done)
				defer doneWriting()
				r := rand.New(rand.NewPCG(uint64(i), 42))
				c := &syncClient{Client: srv.Dial(t), m: &model{t: t, name: fmt.Sprint("session ", i)}}
				defer c.Close()
				c.ReadLine() // greeting
				c.Login("alice", "pass")
				switch i % 3 {
				case 1:
					c.run("ENABLE QRESYNC", false)
					c.m.qresync = true
				case 2:
					c.run("ENABLE CONDSTORE", false)
				}
				c.run("SELECT INBOX", false)
				c.run("UID FETCH 1:* (UID FLAGS)", false)
				// Keywords new to the mailbox appear throughout the run, by
				// STORE and by APPEND, so every session must be told of
				// them before it sees them.
				flags := []string{`\Seen`, `\Flagged`, `\Answered`, `$Work`}
				for k := range 6 {
					flags = append(flags, fmt.Sprintf("$K%d", k*sessions+i))
				}
				for n := 0; n < ops && time.Now().Before(deadline); n++ {
					switch op := r.IntN(10); {
					case op < 2:
						body := fmt.Sprintf("message %d-%d", i, n)
						kw := ""
						if r.IntN(2) == 0 {
							kw = "(" + flags[3+r.IntN(len(flags)-3)] + ") "
						}
						c.run(fmt.Sprintf("APPEND INBOX %s{%d+}\r\n%s", kw, len(body), body), false)
					case op < 4:
						if len(c.m.msgs) == 0 {
							continue
						}
						seq := r.IntN(len(c.m.msgs)) + 1
						sign := "+-"[r.IntN(2):][:1]
						silent := ""
						if r.IntN(3) == 0 {
							silent = ".SILENT"
						}
						flag := flags[r.IntN(len(flags))]
						c.run(fmt.Sprintf("STORE %d %sFLAGS%s (%s)", seq, sign, silent, flag), true)
						if silent != "" {
							c.applyOwn(seq, sign, flag)
						}
					case op < 5:
						if u := c.knownUID(r); u != 0 {
							c.run(fmt.Sprintf("UID STORE %d +FLAGS.SILENT (\\Deleted)", u), false)
							c.run(fmt.Sprintf("UID EXPUNGE %d", u), false)
						}
					case op < 6:
						if u := c.knownUID(r); u != 0 {
							c.run(fmt.Sprintf("UID MOVE %d Archive", u), false)
						}
					case op < 8:
						if len(c.m.msgs) > 0 { // "*" in an empty mailbox is BAD
							c.run("FETCH 1:* (UID FLAGS)", true)
						}
					case op < 9:
						c.tag++
						tag := "t" + strconv.Itoa(c.tag)
						c.Send(tag + " IDLE")
						for l := c.ReadLine(); l != "+ idling"; l = c.ReadLine() {
							c.m.apply(l)
						}
						time.Sleep(time.Duration(r.IntN(20)) * time.Millisecond)
						c.Send("DONE")
						c.until(tag)
					default:
						c.run("NOOP", false)
					}
				}
				doneWriting()
				writing.Wait()
				truth := storeTruth(t, srv)
				c.run("NOOP", false)
				// Learn the UIDs of messages only announced by EXISTS;
				// flags stay as the model has them.
				c.run("UID FETCH 1:* (UID)", false)
				if len(c.m.msgs) != len(truth) {
					t.Fatalf("%s: %d messages, store has %d", c.m.name, len(c.m.msgs), len(truth))
				}
				for k, e := range c.m.msgs {
					if e.uid != truth[k].uid {
						t.Fatalf("%s: sequence %d is UID %d, store says %d", c.m.name, k+1, e.uid, truth[k].uid)
					}
					if e.known && e.flags != truth[k].flags {
						t.Errorf("%s: UID %d flags %q, store says %q", c.m.name, e.uid, e.flags, truth[k].flags)
					}
				}
			}
		}()
	}
	all.Wait()
}

// goTB lets a session goroutine fail the test: Fatal marks the test
// failed and ends only that goroutine.
type goTB struct{ testing.TB }

func (g goTB) Fatalf(format string, args ...any) {
	g.TB.Helper()
	g.TB.Errorf(format, args...)
	runtime.Goexit()
}

func (g goTB) Fatal(args ...any) {
	g.TB.Helper()
	g.TB.Error(args...)
	runtime.Goexit()
}

// applyOwn applies a .SILENT STORE's flag change to the model (the server
// reports nothing for it unless someone else changed the message, and then
// the flags it reports already include the change).
func (c *syncClient) applyOwn(seq int, sign, flag string) {
	if seq > len(c.m.msgs) || !c.m.msgs[seq-1].known {
		return
	}
	e := &c.m.msgs[seq-1]
	set := strings.Fields(e.flags)
	set = slices.DeleteFunc(set, func(f string) bool { return f == flag })
	if sign == "+" {
		set = append(set, flag)
	}
	e.flags = normFlags(strings.Join(set, " "))
}
