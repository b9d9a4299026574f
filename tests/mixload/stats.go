package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// stats collects what the workers measure. Operations that start inside
// the measurement window [start, end) are counted in the rows; errors
// outside it are counted apart (outside) so that none goes unreported.
type stats struct {
	t0, start, end time.Time // run began, warm-up over, measurement over

	rows [numRows]row

	logins     atomic.Int64 // successful LOGINs in the window
	connFails  atomic.Int64 // connections that could not be set up (whole run)
	reconnects atomic.Int64 // connections dropped after an error (whole run)
	greeting   atomic.Pointer[string]

	mu        sync.Mutex
	outside   int64    // errors outside the window; guarded by mu
	connErrs  []string // first connection failures; guarded by mu
	otherErrs []string // first errors outside the window; guarded by mu
}

// row is one command's numbers.
type row struct {
	mu      sync.Mutex
	h       histogram // latencies of successful operations
	no, bad int64     // tagged NO, BAD
	timeout int64     // no complete response within -timeout
	proto   int64     // responses the parser rejects, or that contradict the session state
	io      int64     // connection closed or reset, BYE
	samples []string  // the first errors, with the time they happened
}

const maxSamples = 5

// errClass names the kind of an error for the report.
func errClass(err error) string {
	var se *statusError
	var ne net.Error
	switch {
	case errors.As(err, &se):
		return se.status
	case errors.Is(err, errProto):
		return "proto"
	case errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	}
	return "io"
}

func (st *stats) record(r int, start time.Time, d time.Duration, err error) {
	in := !start.Before(st.start) && start.Before(st.end)
	if !in {
		if err != nil {
			st.mu.Lock()
			st.outside++
			if len(st.otherErrs) < maxSamples {
				st.otherErrs = append(st.otherErrs, fmt.Sprintf("%s at %.1fs: %s: %v", rowNames[r], start.Sub(st.t0).Seconds(), errClass(err), err))
			}
			st.mu.Unlock()
		}
		return
	}
	row := &st.rows[r]
	row.mu.Lock()
	defer row.mu.Unlock()
	if err == nil {
		row.h.add(d)
		return
	}
	switch errClass(err) {
	case "NO":
		row.no++
	case "BAD":
		row.bad++
	case "proto":
		row.proto++
	case "timeout":
		row.timeout++
	default:
		row.io++
	}
	if len(row.samples) < maxSamples {
		row.samples = append(row.samples, fmt.Sprintf("at %.1fs after %.0f ms: %s: %v", start.Sub(st.t0).Seconds(), float64(d.Microseconds())/1000, errClass(err), err))
	}
}

func (st *stats) loggedIn(t time.Time) {
	if !t.Before(st.start) && t.Before(st.end) {
		st.logins.Add(1)
	}
}

func (st *stats) connFail(err error) {
	st.connFails.Add(1)
	st.mu.Lock()
	if len(st.connErrs) < maxSamples {
		st.connErrs = append(st.connErrs, fmt.Sprintf("at %.1fs: %v", time.Since(st.t0).Seconds(), err))
	}
	st.mu.Unlock()
}

// stopper ends the run for good: it closes every registered connection
// (unblocking any read or write) and refuses new ones.
type stopper struct {
	hard time.Time // no command may run past this

	mu      sync.Mutex
	stopped bool                  // guarded by mu
	conns   map[*session]net.Conn // guarded by mu
}

func newStopper(hard time.Time) *stopper {
	return &stopper{hard: hard, conns: map[*session]net.Conn{}}
}

func (sp *stopper) register(s *session, nc net.Conn) bool {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if sp.stopped {
		return false
	}
	sp.conns[s] = nc
	return true
}

func (sp *stopper) unregister(s *session) {
	sp.mu.Lock()
	delete(sp.conns, s)
	sp.mu.Unlock()
}

// closeAll closes the connections still open and returns how many.
func (sp *stopper) closeAll() int {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	sp.stopped = true
	n := len(sp.conns)
	for s, nc := range sp.conns {
		nc.Close()
		delete(sp.conns, s)
	}
	return n
}
