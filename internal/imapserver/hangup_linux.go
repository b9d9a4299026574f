package imapserver

import (
	"sync/atomic"
	"syscall"
	"time"
)

// watchHangup calls cancel if the client closes or resets its end of the
// connection before stop is called, so that a long command (a SEARCH, a
// LIST, a store call) stops working for a client that left. It peeks at
// the socket (MSG_PEEK: nothing is consumed) when the poller says it is
// readable; data from the client (a pipelined command) ends the watch
// without cancelling. stop returns after the watcher has exited, so the
// session may read the connection again. Only for commands that do not
// read from the connection themselves.
func (c *conn) watchHangup(cancel func()) (stop func()) {
	if c.raw == nil {
		return func() {}
	}
	rc, err := c.raw.SyscallConn()
	if err != nil {
		return func() {}
	}
	var stopped atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		var buf [1]byte
		hangup := false
		_ = rc.Read(func(fd uintptr) bool {
			if stopped.Load() {
				return true
			}
			n, _, err := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
			switch {
			case err == syscall.EAGAIN || err == syscall.EINTR:
				return false // wait until readable
			case err != nil || n == 0:
				hangup = true // reset, or orderly EOF
			}
			return true
		})
		if hangup && !stopped.Load() {
			cancel()
		}
	}()
	return func() {
		stopped.Store(true)
		// Wake a watcher blocked in the poller; the session sets its
		// own read deadline before reading again.
		_ = c.raw.SetReadDeadline(time.Now())
		<-done
	}
}
