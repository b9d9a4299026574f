package tests

import (
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// notifyWait bounds how long an observer polls with NOOP for a change.
const notifyWait = 10 * time.Second

// observer is a second session whose unilateral data arrives on channels.
type observer struct {
	c        *imapclient.Client
	exists   chan uint32
	expunges chan uint32
	fetches  chan *imapclient.FetchMessageBuffer
}

func newObserver(t *testing.T, s *serverProc, mode dialMode, user string) *observer {
	o := &observer{
		exists:   make(chan uint32, 100),
		expunges: make(chan uint32, 100),
		fetches:  make(chan *imapclient.FetchMessageBuffer, 100),
	}
	o.c = login(t, s, mode, user, &imapclient.UnilateralDataHandler{
		Mailbox: func(d *imapclient.UnilateralDataMailbox) {
			if d.NumMessages != nil {
				o.exists <- *d.NumMessages
			}
		},
		Expunge: func(seq uint32) { o.expunges <- seq },
		// Called on its own goroutine; the message must be consumed.
		Fetch: func(msg *imapclient.FetchMessageData) {
			buf, err := msg.Collect()
			if err == nil {
				o.fetches <- buf
			}
		},
	})
	return o
}

// poll sends NOOP until ready reports true or notifyWait passes. The server
// publishes a change before it answers the command that made it, so one NOOP
// should do; more are counted and reported.
func (o *observer) poll(t *testing.T, what string, ready func() bool) {
	t.Helper()
	deadline := time.Now().Add(notifyWait)
	for n := 1; ; n++ {
		must(t, o.c.Noop().Wait(), "observer NOOP")
		// Unsolicited FETCH is handed to its handler on another goroutine.
		if ready() || waitBriefly(ready) {
			if n > 1 {
				t.Errorf("%s: the observer needed %d NOOPs; the first after the change should report it", what, n)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: the observer saw nothing within %v", what, notifyWait)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func waitBriefly(ready func() bool) bool {
	for i := 0; i < 20; i++ {
		time.Sleep(10 * time.Millisecond)
		if ready() {
			return true
		}
	}
	return false
}

// TestTwoSessions has session A change INBOX while session B, which has it
// selected, polls with NOOP and must see EXISTS, FETCH FLAGS and EXPUNGE.
func TestTwoSessions(t *testing.T) {
	t.Parallel()
	s := startServer(t, testUser{"shared", "shared secret"})
	a := login(t, s, implicitTLS, "shared", nil)
	b := newObserver(t, s, startTLS, "shared")

	sel, err := b.c.Select("INBOX", nil).Wait()
	must(t, err, "B: SELECT INBOX")
	if sel.NumMessages != 0 {
		t.Fatalf("B: new INBOX has %d messages", sel.NumMessages)
	}
	drain(b.exists)

	msgs := testMessages("notify")
	var uids []imap.UID
	for _, m := range msgs[:2] {
		uids = append(uids, appendMsg(t, a, "INBOX", m).UID)
	}
	var lastExists uint32
	b.poll(t, "two APPENDs", func() bool {
		for {
			select {
			case n := <-b.exists:
				lastExists = n
			default:
				return lastExists == 2
			}
		}
	})
	if n := b.c.Mailbox().NumMessages; n != 2 {
		t.Errorf("B: client counts %d messages after EXISTS, want 2", n)
	}
	got := fetchAll(t, b.c, imap.SeqSetNum(1, 2))
	for i := range got {
		checkMessage(t, "B sees A's message", got[i], msgs[i], msgs[i].flags)
	}

	// A flags message 2; B sees an unsolicited FETCH with the new flags.
	_, err = a.Select("INBOX", nil).Wait()
	must(t, err, "A: SELECT INBOX")
	_, err = a.Store(imap.UIDSetNum(uids[1]), &imap.StoreFlags{
		Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted},
	}, nil).Collect()
	must(t, err, "A: UID STORE +FLAGS.SILENT \\Deleted")
	var flagged *imapclient.FetchMessageBuffer
	b.poll(t, "STORE by A", func() bool {
		select {
		case flagged = <-b.fetches:
			return true
		default:
			return false
		}
	})
	if flagged.SeqNum != 2 || !hasFlag(flagged.Flags, imap.FlagDeleted) {
		t.Errorf("B: unsolicited FETCH seq %d FLAGS %v, want seq 2 with \\Deleted", flagged.SeqNum, flagged.Flags)
	}

	// A expunges message 2 by UID; B sees EXPUNGE 2.
	exp, err := a.UIDExpunge(imap.UIDSetNum(uids[1])).Collect()
	must(t, err, "A: UID EXPUNGE")
	if len(exp) != 1 || exp[0] != 2 {
		t.Errorf("A: UID EXPUNGE reported %v, want [2]", exp)
	}
	var expunged []uint32
	b.poll(t, "EXPUNGE by A", func() bool {
		for {
			select {
			case n := <-b.expunges:
				expunged = append(expunged, n)
			default:
				return len(expunged) > 0
			}
		}
	})
	if len(expunged) != 1 || expunged[0] != 2 {
		t.Errorf("B: saw EXPUNGE %v, want [2]", expunged)
	}
	if n := b.c.Mailbox().NumMessages; n != 1 {
		t.Errorf("B: client counts %d messages after EXPUNGE, want 1", n)
	}

	// A appends a third message; B's next command reports it, with a UID
	// above every earlier one.
	d := appendMsg(t, a, "INBOX", msgs[2])
	if d.UID <= uids[1] {
		t.Errorf("APPENDUID %d after expunged UID %d: UIDs must not be reused", d.UID, uids[1])
	}
	lastExists = 0
	b.poll(t, "third APPEND", func() bool {
		for {
			select {
			case n := <-b.exists:
				lastExists = n
			default:
				return lastExists == 2
			}
		}
	})
	got = fetchAll(t, b.c, imap.SeqSetNum(1, 2))
	if len(got) != 2 || got[0].UID != uids[0] || got[1].UID != d.UID {
		t.Fatalf("B: FETCH 1:2 returned %d messages, want UIDs %d and %d", len(got), uids[0], d.UID)
	}
	checkMessage(t, "B sees the third message", got[1], msgs[2], msgs[2].flags)

	must(t, a.Logout().Wait(), "A: LOGOUT")
	must(t, b.c.Logout().Wait(), "B: LOGOUT")
}

func drain[T any](ch chan T) {
	for {
		select {
		case <-ch:
		default:
			return
		}
	}
}
