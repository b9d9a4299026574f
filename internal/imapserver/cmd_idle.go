package imapserver

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"time"

	"rookery/internal/events"
	"rookery/internal/imap"
	"rookery/internal/imapcmd"
	"rookery/internal/imapwire"
	"rookery/internal/mailview"
)

// IDLE (RFC 2177, RFC 9051 §6.3.13). Nothing polls. With a subscription
// that can call back (events.Notifier, the in-process bus) the session
// goroutine itself reads DONE, and a change or Shutdown wakes it by moving
// the read deadline to now (idleInline); otherwise a reader goroutine reads
// DONE while the session waits on its subscription's channel. The autologout
// timer is the connection's read deadline (RFC 9051 §5.4: 30 minutes), and
// Shutdown ends an idle session with BYE.
//
// An idle connection is meant to be cheap: while idling it hands its 16 KiB
// read and write buffers back to the server's pools and reads DONE into a
// small buffer of its own (when nothing was pipelined after IDLE); a change
// borrows a write buffer for as long as it takes to report it.

// idleLineMax bounds the line a client may send while idling.
const idleLineMax = 1024

var errIdleLineTooLong = errors.New("line too long while idling")

// idleResult is what the DONE reader read.
type idleResult struct {
	line []byte // the line, without its LF
	rest []byte // bytes read after the line (a pipelined command)
	err  error
}

func cmdIdle(_ context.Context, c *conn, _ *imapcmd.Command, _ imapcmd.None) error {
	c.enc.Raw("+ idling").CRLF()
	if c.enc.Flush() != nil {
		c.state = stateLogout
		return errSilent
	}
	var br *bufio.Reader
	if c.br.Buffered() > 0 {
		br = c.br // the client sent DONE (or more) already: read it there
	} else {
		c.releaseReader()
	}
	c.releaseWriter()

	c.mu.Lock()
	stopping := c.stopping
	if !stopping {
		c.idle = true
		_ = c.nc.SetReadDeadline(time.Now().Add(c.srv.opts.IdleTimeout))
	}
	c.mu.Unlock()
	if stopping {
		c.acquireIO(nil)
		c.bye("Server shutting down")
		c.state = stateLogout
		return errSilent
	}
	mode := mailview.Mode{AllowExpunge: true, Vanished: c.qresync, Recent: !c.rev2}
	if n, ok := c.sub.(events.Notifier); ok && br == nil {
		return c.idleInline(n, mode)
	}
	done := make(chan idleResult, 1)
	go readIdleLine(br, c.rw, done)
	for {
		select {
		case <-c.sub.C():
			c.acquireWriter()
			c.flushView(mode)
			err := c.enc.Flush()
			if err != nil || c.state == stateLogout {
				// Written BYE (the mailbox went away) or a dead client:
				// stop the reader and end the session.
				_ = c.nc.Close()
				<-done
				c.endIdle(nil)
				c.state = stateLogout
				return errSilent
			}
			c.releaseWriter()
		case r := <-done:
			stopping := c.endIdle(r.rest)
			if r.err != nil {
				var ne net.Error
				switch {
				case stopping:
					c.bye("Server shutting down")
				case errors.As(r.err, &ne) && ne.Timeout():
					c.bye("Autologout; idle for too long")
				case errors.Is(r.err, errIdleLineTooLong):
					c.bye("Line too long while idling")
				}
				c.state = stateLogout
				return errSilent
			}
			// RFC 9051 §5.4: activity resets the autologout timer.
			_ = c.nc.SetReadDeadline(time.Now().Add(c.srv.opts.IdleTimeout))
			if !bytes.EqualFold(bytes.TrimSuffix(r.line, []byte("\r")), []byte("DONE")) {
				return imap.BadRequest(imap.CodeClientBug, "Expected DONE")
			}
			return nil
		}
	}
}

// idleInline idles without a second goroutine: the session reads DONE
// itself, and a change wakes it by moving the read deadline to now (so does
// Shutdown); the autologout time is remembered and the deadline re-armed
// with it after each wake-up.
func (c *conn) idleInline(n events.Notifier, mode mailview.Mode) error {
	logoutAt := time.Now().Add(c.srv.opts.IdleTimeout)
	n.SetNotify(func() { _ = c.nc.SetReadDeadline(time.Now()) })
	defer n.SetNotify(nil)
	var buf [64]byte
	var acc []byte
	for {
		select {
		case <-c.sub.C():
			c.acquireWriter()
			c.flushView(mode)
			if err := c.enc.Flush(); err != nil || c.state == stateLogout {
				c.endIdle(nil)
				c.state = stateLogout
				return errSilent
			}
			c.releaseWriter()
		default:
		}
		c.mu.Lock()
		stopping := c.stopping
		if !stopping {
			_ = c.nc.SetReadDeadline(logoutAt)
		}
		c.mu.Unlock()
		if stopping {
			c.endIdle(nil)
			c.bye("Server shutting down")
			c.state = stateLogout
			return errSilent
		}
		if len(c.sub.C()) > 0 {
			continue // signalled before the deadline was re-armed
		}
		k, err := c.rw.Read(buf[:])
		acc = append(acc, buf[:k]...)
		if i := bytes.IndexByte(acc, '\n'); i >= 0 {
			c.endIdle(acc[i+1:])
			_ = c.nc.SetReadDeadline(time.Now().Add(c.srv.opts.IdleTimeout))
			if !bytes.EqualFold(bytes.TrimSuffix(acc[:i], []byte("\r")), []byte("DONE")) {
				return imap.BadRequest(imap.CodeClientBug, "Expected DONE")
			}
			return nil
		}
		var ne net.Error
		switch {
		case err == nil && len(acc) > idleLineMax:
			c.endIdle(nil)
			c.bye("Line too long while idling")
		case err == nil:
			continue
		case errors.As(err, &ne) && ne.Timeout():
			if time.Now().Before(logoutAt) {
				continue // woken by a change or by Shutdown
			}
			c.endIdle(nil)
			c.bye("Autologout; idle for too long")
		default:
			c.endIdle(nil)
		}
		c.state = stateLogout
		return errSilent
	}
}

// endIdle leaves the idle state, takes buffers back (rest are bytes the
// reader read past DONE) and reports whether Shutdown was called.
func (c *conn) endIdle(rest []byte) (stopping bool) {
	c.mu.Lock()
	c.idle = false
	stopping = c.stopping
	c.mu.Unlock()
	c.acquireIO(rest)
	return stopping
}

// readIdleLine reads one line from br, or when br is nil from r through a
// small buffer, and sends it to done.
func readIdleLine(br *bufio.Reader, r io.Reader, done chan<- idleResult) {
	if br != nil {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			err = errIdleLineTooLong
		}
		done <- idleResult{line: bytes.TrimSuffix(bytes.Clone(line), []byte("\n")), err: err}
		return
	}
	var buf [64]byte
	var acc []byte
	for {
		n, err := r.Read(buf[:])
		acc = append(acc, buf[:n]...)
		if i := bytes.IndexByte(acc, '\n'); i >= 0 {
			done <- idleResult{line: acc[:i], rest: acc[i+1:]}
			return
		}
		if err == nil && len(acc) > idleLineMax {
			err = errIdleLineTooLong
		}
		if err != nil {
			done <- idleResult{err: err}
			return
		}
	}
}

// releaseReader gives the empty read buffer back to the server's pool.
func (c *conn) releaseReader() {
	c.br.Reset(nil)
	c.srv.readers.Put(c.br)
	c.br, c.dec = nil, nil
}

// releaseWriter gives the flushed write buffer back to the server's pool.
func (c *conn) releaseWriter() {
	c.bw.Reset(nil)
	c.srv.writers.Put(c.bw)
	c.bw, c.enc = nil, nil
}

// acquireWriter takes a write buffer for the connection.
func (c *conn) acquireWriter() {
	if c.bw != nil {
		return
	}
	w := deadlineWriter{c: c, w: c.rw}
	if bw, ok := c.srv.writers.Get().(*bufio.Writer); ok {
		bw.Reset(w)
		c.bw = bw
	} else {
		c.bw = bufio.NewWriterSize(w, 16<<10)
	}
	c.enc = imapwire.NewEncoder(c.bw)
	c.enc.UTF8 = c.utf8
}

// acquireIO takes read and write buffers again after idling; rest are bytes
// already read from the connection, to be read first.
func (c *conn) acquireIO(rest []byte) {
	c.acquireWriter()
	if c.br != nil {
		return
	}
	var src io.Reader = c.rw
	if len(rest) > 0 {
		src = io.MultiReader(bytes.NewReader(rest), c.rw)
	}
	if br, ok := c.srv.readers.Get().(*bufio.Reader); ok {
		br.Reset(src)
		c.br = br
	} else {
		c.br = bufio.NewReaderSize(src, 16<<10)
	}
	if len(rest) > 0 {
		// Into the buffer now, from rest alone (one read of the
		// bytes.Reader): Buffered then tells that input is pending
		// (waitInput, and STARTTLS's check for injected commands).
		_, _ = c.br.Peek(min(len(rest), c.br.Size()))
	}
	c.dec = imapwire.NewDecoder(c.br, imapwire.Limits{MaxLine: c.srv.opts.MaxLine})
	c.dec.OnSyncLiteral(c.continueLiteral)
}
