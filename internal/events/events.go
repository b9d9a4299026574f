// Package events carries wake-ups about committed changes from the store to
// the sessions that watch an account. Events are hints: the truth stays in the
// store, and a session that is woken asks the store for changes since the last
// mod-sequence it knows. A subscriber that falls behind loses individual
// events but is told so (Overflowed), and must then resynchronise everything.
//
// Bus is an interface because the PostgreSQL backend publishes the same events
// across nodes; Memory is the in-process implementation.
package events

import (
	"slices"
	"sync"
)

// Event says that a mailbox of an account changed, up to ModSeq.
type Event struct {
	Account int64
	Mailbox int64
	// ModSeq is the mailbox's highest mod-sequence after the change; 0 for
	// changes to the mailbox list itself (create, delete, rename).
	ModSeq uint64
}

// Bus delivers events to subscribers of an account.
type Bus interface {
	// Publish sends ev to every subscriber of ev.Account. It never blocks.
	Publish(ev Event)
	// Subscribe starts receiving events of an account.
	Subscribe(account int64) Subscription
}

// Subscription receives one account's events.
type Subscription interface {
	// C is signalled (coalesced) when events are pending.
	C() <-chan struct{}
	// Drain returns and clears the pending events; overflowed is true when
	// some were dropped because too many were pending.
	Drain() (evs []Event, overflowed bool)
	// Close stops the subscription.
	Close()
}

// Notifier is implemented by subscriptions that can call a function each
// time they are signalled, for a waiter that cannot select on C: an idling
// IMAP session blocked in a read of its connection is woken this way
// without a goroutine of its own. f must not block.
type Notifier interface {
	// SetNotify sets f (nil removes it).
	SetNotify(f func())
}

// maxPending bounds the events kept per subscriber.
const maxPending = 256

// Memory is an in-process Bus.
type Memory struct {
	mu   sync.Mutex
	subs map[int64]map[*memSub]struct{} // guarded by mu
}

// NewMemory returns an empty in-process bus.
func NewMemory() *Memory {
	return &Memory{subs: make(map[int64]map[*memSub]struct{})}
}

// Publish implements Bus.
func (m *Memory) Publish(ev Event) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for s := range m.subs[ev.Account] {
		s.push(ev)
	}
}

// Subscribe implements Bus.
func (m *Memory) Subscribe(account int64) Subscription {
	s := &memSub{bus: m, account: account, c: make(chan struct{}, 1)}
	m.mu.Lock()
	defer m.mu.Unlock()
	set := m.subs[account]
	if set == nil {
		set = make(map[*memSub]struct{})
		m.subs[account] = set
	}
	set[s] = struct{}{}
	return s
}

type memSub struct {
	bus     *Memory
	account int64
	c       chan struct{}

	mu         sync.Mutex
	pending    []Event // guarded by mu
	overflowed bool    // guarded by mu
	notify     func()  // guarded by mu
}

func (s *memSub) push(ev Event) {
	s.mu.Lock()
	if len(s.pending) >= maxPending {
		s.overflowed = true
		s.pending = s.pending[:0]
	} else if !s.overflowed {
		s.pending = append(s.pending, ev)
	}
	notify := s.notify
	s.mu.Unlock()
	select {
	case s.c <- struct{}{}:
	default:
	}
	// After the signal, so that a woken waiter finds it.
	if notify != nil {
		notify()
	}
}

// SetNotify implements Notifier.
func (s *memSub) SetNotify(f func()) {
	s.mu.Lock()
	s.notify = f
	s.mu.Unlock()
}

func (s *memSub) C() <-chan struct{} { return s.c }

func (s *memSub) Drain() ([]Event, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	evs, of := s.pending, s.overflowed
	s.pending, s.overflowed = nil, false
	return evs, of
}

func (s *memSub) Close() {
	s.bus.mu.Lock()
	defer s.bus.mu.Unlock()
	if set := s.bus.subs[s.account]; set != nil {
		delete(set, s)
		if len(set) == 0 {
			delete(s.bus.subs, s.account)
		}
	}
}

// Accounts returns the accounts that have subscribers, ascending: what a
// bus fed from elsewhere (pgstore's listener) catches up on after it
// lost events.
func (m *Memory) Accounts() []int64 {
	m.mu.Lock()
	out := make([]int64, 0, len(m.subs))
	for a := range m.subs {
		out = append(out, a)
	}
	m.mu.Unlock()
	slices.Sort(out)
	return out
}
