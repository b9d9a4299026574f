package imapserver_test

import (
	"fmt"
	"maps"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"rookery/internal/imapnum"
	"rookery/internal/imaptest"
)

// uidCache is what an offline QRESYNC client keeps: UID → flags, and the
// mailbox's UIDVALIDITY and HIGHESTMODSEQ.
type uidCache struct {
	uidValidity string
	modSeq      uint64
	flags       map[uint32]string
}

var (
	qrUIDValidityRE = regexp.MustCompile(`^\* OK \[UIDVALIDITY (\d+)\]`)
	highestRE       = regexp.MustCompile(`^\* OK \[HIGHESTMODSEQ (\d+)\]`)
	modseqRE        = regexp.MustCompile(`\bMODSEQ \((\d+)\)`)
)

// absorb applies the lines of a response to the cache.
func (u *uidCache) absorb(t *testing.T, lines []string) {
	t.Helper()
	for _, l := range lines {
		if g := qrUIDValidityRE.FindStringSubmatch(l); g != nil {
			u.uidValidity = g[1]
		}
		if g := highestRE.FindStringSubmatch(l); g != nil {
			u.modSeq, _ = strconv.ParseUint(g[1], 10, 64)
		}
		if g := vanRE.FindStringSubmatch(l); g != nil {
			set, err := imapnum.Parse(g[2])
			if err != nil {
				t.Fatalf("bad VANISHED %q", l)
			}
			for uid := range u.flags {
				if set.Contains(uid) {
					delete(u.flags, uid)
				}
			}
		}
		if g := fetchRE.FindStringSubmatch(l); g != nil {
			um := uidRE.FindStringSubmatch(g[2])
			fm := flagsRE.FindStringSubmatch(g[2])
			if um == nil {
				t.Fatalf("FETCH without UID in a QRESYNC session: %q", l)
			}
			uid, _ := strconv.ParseUint(um[1], 10, 32)
			if fm != nil {
				u.flags[uint32(uid)] = normFlags(fm[1])
			}
			if m := modseqRE.FindStringSubmatch(g[2]); m != nil {
				ms, _ := strconv.ParseUint(m[1], 10, 64)
				u.modSeq = max(u.modSeq, ms)
			}
		}
	}
}

func (u *uidCache) maxUID() uint32 {
	var m uint32
	for uid := range u.flags {
		m = max(m, uid)
	}
	return m
}

func (u *uidCache) knownUIDs() string {
	uids := make([]uint32, 0, len(u.flags))
	for uid := range u.flags {
		uids = append(uids, uid)
	}
	sortUIDs(uids)
	return imapnum.Compact(uids).String()
}

func sortUIDs(u []uint32) {
	for i := 1; i < len(u); i++ {
		for j := i; j > 0 && u[j] < u[j-1]; j-- {
			u[j], u[j-1] = u[j-1], u[j]
		}
	}
}

// fullState reads UID → flags with a fresh session.
func fullState(t *testing.T, srv *imaptest.Server) map[uint32]string {
	c := srv.Dial(t)
	defer c.Close()
	c.ReadLine()
	c.Login("alice", "pass")
	c.Send("f1 ENABLE QRESYNC")
	c.ReadUntilTagged("f1")
	c.Send("f2 EXAMINE INBOX")
	c.ReadUntilTagged("f2")
	c.Send("f3 UID FETCH 1:* (UID FLAGS)")
	u := &uidCache{flags: map[uint32]string{}}
	u.absorb(t, c.ReadUntilTagged("f3"))
	return u.flags
}

// TestQResyncReplay: a client caches a mailbox, goes away while another
// session changes flags, expunges and appends, then comes back with SELECT
// (QRESYNC ...) and a fetch of the new UIDs; its replayed cache must equal a
// fresh full fetch.
func TestQResyncReplay(t *testing.T) {
	for _, withKnown := range []bool{false, true} {
		t.Run(fmt.Sprint("known-uids=", withKnown), func(t *testing.T) {
			srv := imaptest.StartServer(t)
			w := srv.Dial(t)
			defer w.Close()
			w.ReadLine()
			w.Login("alice", "pass")
			for i := 0; i < 20; i++ {
				w.Sendf("w%d APPEND INBOX {%d+}", i, len("msg "+strconv.Itoa(i)))
				w.Sendf("msg %d", i)
				w.ReadUntilTagged(fmt.Sprintf("w%d", i))
			}
			w.Send("s1 SELECT INBOX")
			w.ReadUntilTagged("s1")

			// The client syncs once and disconnects.
			c := srv.Dial(t)
			c.ReadLine()
			c.Login("alice", "pass")
			c.Send("a1 ENABLE QRESYNC")
			c.ReadUntilTagged("a1")
			cache := &uidCache{flags: map[uint32]string{}}
			c.Send("a2 SELECT INBOX")
			cache.absorb(t, c.ReadUntilTagged("a2"))
			c.Send("a3 UID FETCH 1:* (UID FLAGS)")
			cache.absorb(t, c.ReadUntilTagged("a3"))
			c.Close()
			if len(cache.flags) != 20 || cache.uidValidity == "" || cache.modSeq == 0 {
				t.Fatalf("first sync: %+v", cache)
			}

			// Changes while it is away: flags, expunges (some of them of
			// messages with changed flags), appends, an append expunged
			// again, a move.
			for _, cmd := range []string{
				`UID STORE 1:5 +FLAGS (\Seen)`,
				`UID STORE 3,7 +FLAGS ($Work \Flagged)`,
				`UID STORE 4:6,9 +FLAGS.SILENT (\Deleted)`,
				`EXPUNGE`,
				`UID STORE 2 -FLAGS (\Seen)`,
				`UID MOVE 10 Archive`,
			} {
				w.Send("x " + cmd)
				w.ReadUntilTagged("x")
			}
			for i := 0; i < 3; i++ {
				w.Send("x APPEND INBOX {3+}")
				w.Send("new")
				w.ReadUntilTagged("x")
			}
			w.Send(`x UID STORE 22 +FLAGS.SILENT (\Deleted)`)
			w.ReadUntilTagged("x")
			w.Send(`x UID EXPUNGE 22`)
			w.ReadUntilTagged("x")
			w.Send(`x UID STORE 21 +FLAGS ($Later)`)
			w.ReadUntilTagged("x")

			// It comes back.
			c = srv.Dial(t)
			defer c.Close()
			c.ReadLine()
			c.Login("alice", "pass")
			c.Send("b1 ENABLE QRESYNC")
			c.ReadUntilTagged("b1")
			param := fmt.Sprintf("%s %d", cache.uidValidity, cache.modSeq)
			if withKnown {
				param += " " + cache.knownUIDs()
			}
			c.Sendf("b2 SELECT INBOX (QRESYNC (%s))", param)
			lines := c.ReadUntilTagged("b2")
			if !strings.Contains(strings.Join(lines, "\n"), "* VANISHED (EARLIER) ") {
				t.Errorf("no VANISHED (EARLIER) in %q", lines)
			}
			cache.absorb(t, lines)
			c.Sendf("b3 UID FETCH %d:* (UID FLAGS)", cache.maxUID()+1)
			cache.absorb(t, c.ReadUntilTagged("b3"))

			want := fullState(t, srv)
			if !maps.Equal(cache.flags, want) {
				t.Fatalf("replayed cache\n%v\nfresh fetch\n%v", cache.flags, want)
			}
		})
	}
}
