package imapserver

import (
	"log/slog"
	"sync"
	"time"
)

// rateLog logs a kind of event (its message) at most once per interval,
// with the number of events of that kind left unlogged since the last
// line: a flood of refused connections makes one line every few seconds,
// not one per connection. Safe for concurrent use.
type rateLog struct {
	log   *slog.Logger
	every time.Duration
	now   func() time.Time // time.Now; tests replace it

	mu      sync.Mutex
	last    map[string]time.Time // guarded by mu: last line per message
	skipped map[string]int       // guarded by mu: events not logged since
}

func newRateLog(log *slog.Logger, every time.Duration) *rateLog {
	return &rateLog{log: log, every: every, now: time.Now, last: map[string]time.Time{}, skipped: map[string]int{}}
}

// warn logs msg with args at WARN unless a line with msg was logged less
// than every ago; then it only counts it.
func (r *rateLog) warn(msg string, args ...any) {
	r.mu.Lock()
	now := r.now()
	if last, ok := r.last[msg]; ok && now.Sub(last) < r.every {
		r.skipped[msg]++
		r.mu.Unlock()
		return
	}
	skipped := r.skipped[msg]
	r.last[msg] = now
	delete(r.skipped, msg)
	r.mu.Unlock()
	if skipped > 0 {
		args = append(args, "suppressed", skipped)
	}
	r.log.Warn(msg, args...)
}
