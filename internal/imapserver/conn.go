package imapserver

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"time"

	"rookery/internal/auth"
	"rookery/internal/events"
	"rookery/internal/imap"
	"rookery/internal/imapcmd"
	"rookery/internal/imapnum"
	"rookery/internal/imapwire"
	"rookery/internal/logtext"
	"rookery/internal/mailview"
	"rookery/internal/store"
)

// state is a connection state (RFC 9051 §3).
type state uint8

const (
	stateNotAuth state = 1 << iota
	stateAuth
	stateSelected
	stateLogout
)

// writeTimeout bounds how long one write to a stalled client may block.
const writeTimeout = 2 * time.Minute

// byeGrace is how long after loginBy the BYE that ends a session which
// did not log in may take to write.
const byeGrace = 5 * time.Second

// conn is one client connection; its goroutine owns every field except
// those guarded by mu.
type conn struct {
	srv *Server
	nc  net.Conn
	// raw is the TCP socket under nc (nil for other kinds of conn), for
	// watchHangup.
	raw interface {
		SyscallConn() (syscall.RawConn, error)
		SetReadDeadline(time.Time) error
	}
	// ctx is the session's context: cancelled when the session ends or a
	// shutdown stops waiting for it. Every command runs under a context
	// derived from it (run).
	ctx    context.Context
	cancel context.CancelFunc
	ip     netip.Addr
	isTLS  bool
	rw     io.ReadWriter // what br and bw read and write (the TLS layer after STARTTLS)
	br     *bufio.Reader
	bw     *bufio.Writer
	dec    *imapwire.Decoder
	enc    *imapwire.Encoder
	log    *slog.Logger
	start  time.Time
	counts *countingConn

	// addrKey is the client address as the connection limits count it
	// (auth.AddressKey); unauth says the connection still counts as not
	// logged in.
	addrKey netip.Prefix
	unauth  bool
	// loginBy is the deadline for a successful login, PreAuthTimeout
	// after accept (zero once logged in): reads, commands and writes
	// before login end by then, whatever the client does meanwhile.
	loginBy time.Time

	state state
	acct  *store.Account      // set from stateAuth on
	sub   events.Subscription // the account's change events, from stateAuth on
	sel   *selected           // set in stateSelected only
	rev2  bool                // ENABLE IMAP4rev2 done
	utf8  bool                // ENABLE UTF8=ACCEPT or IMAP4rev2 done
	// condStore is set by the first CONDSTORE enabling command (RFC 7162
	// §3.1): from then on every FETCH response carries MODSEQ.
	condStore bool
	// qresync is set by ENABLE QRESYNC: expunges are reported as VANISHED.
	qresync bool

	// refuseLiterals makes the next synchronizing literal fail instead of
	// getting a continuation request (a command already failed).
	refuseLiterals bool

	// hangUp, when a handler sets it, ends the session with this BYE
	// text after the command's tagged response (input that cannot be
	// resynchronised).
	hangUp string

	// tag is the tag of the running command.
	tag string
	// ok is the tagged OK of the running command, set by handlers that add
	// a response code or text.
	okCode, okText string

	mu       sync.Mutex
	idle     bool // guarded by mu: waiting for the next command
	stopping bool // guarded by mu: Shutdown was called
}

// selected is what is valid only in the Selected state.
type selected struct {
	mailbox  store.Mailbox
	view     *mailview.View
	readOnly bool
	// saved is the SEARCHRES result "$" (RFC 5182) as UIDs, ascending;
	// it lives and dies with the selection.
	saved []store.UID
}

// savedUIDs is "$" (RFC 5182): the saved result without the UIDs expunged
// since (the view no longer knows them).
func (s *selected) savedUIDs() []store.UID {
	var uids []store.UID
	for _, u := range s.saved {
		if _, ok := s.view.Seq(u); ok {
			uids = append(uids, u)
		}
	}
	return uids
}

func newConn(s *Server, nc net.Conn, isTLS bool, ip netip.Addr) *conn {
	cc := &countingConn{Conn: nc}
	now := time.Now()
	c := &conn{
		srv:     s,
		nc:      nc,
		ip:      ip,
		addrKey: auth.AddressKey(ip),
		unauth:  true,
		loginBy: now.Add(s.opts.PreAuthTimeout),
		isTLS:   isTLS,
		counts:  cc,
		start:   now,
		state:   stateNotAuth,
		log:     s.log.With("remote", nc.RemoteAddr().String()),
	}
	raw := nc
	if tc, ok := nc.(*tls.Conn); ok {
		raw = tc.NetConn()
	}
	if tcp, ok := raw.(*net.TCPConn); ok {
		c.raw = tcp
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.setupIO(cc)
	return c
}

// setupIO (re)creates the reader and writer over rw, after accept and after
// STARTTLS.
// The buffers come from the server's pools (see acquireIO), so that a burst
// of short or idling connections reuses a few buffers instead of leaving
// garbage behind.
func (c *conn) setupIO(rw io.ReadWriter) {
	c.releaseIO()
	c.rw = rw
	c.acquireIO(nil)
}

// releaseIO gives the connection's buffers back to the server's pools.
func (c *conn) releaseIO() {
	if c.br != nil {
		c.releaseReader()
	}
	if c.bw != nil {
		c.releaseWriter()
	}
}

// continueLiteral answers a synchronizing literal with a continuation request.
func (c *conn) continueLiteral(size int64) error {
	if c.refuseLiterals {
		return errLiteralRefused
	}
	c.enc.Raw("+ Ready for literal data").CRLF()
	return c.enc.Flush()
}

// errSilent tells dispatch that the handler wrote the tagged response.
var errSilent = errors.New("response already sent")

var errLiteralRefused = errors.New("literal refused after a failed command")

type deadlineWriter struct {
	c *conn
	w io.Writer
}

func (d deadlineWriter) Write(p []byte) (int, error) {
	dl := time.Now().Add(writeTimeout)
	if lb := d.c.loginBy; !lb.IsZero() && lb.Add(byeGrace).Before(dl) {
		dl = lb.Add(byeGrace)
	}
	_ = d.c.nc.SetWriteDeadline(dl)
	return d.w.Write(p)
}

// countingConn counts the bytes a session moves, for its log line.
type countingConn struct {
	net.Conn
	in, out int64
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.in += int64(n)
	return n, err
}

func (c *countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.out += int64(n)
	return n, err
}

// shutdown asks the session to say BYE once it is between commands.
func (c *conn) shutdown() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopping = true
	if c.idle {
		_ = c.nc.SetReadDeadline(time.Now())
	}
}

func (c *conn) serve() {
	defer c.close()
	if tc, ok := c.nc.(*tls.Conn); ok {
		_ = tc.SetDeadline(c.loginBy)
		if err := tc.Handshake(); err != nil {
			c.log.Debug("TLS handshake failed", "err", err)
			return
		}
		_ = tc.SetDeadline(time.Time{})
	}
	c.enc.Raw("* OK [CAPABILITY ").Raw(strings.Join(c.capabilities(), " ")).Raw("] Rookery ready").CRLF()
	if c.enc.Flush() != nil {
		return
	}
	for c.state != stateLogout {
		if !c.waitCommand() {
			return
		}
		cmd, err := imapcmd.Read(c.dec, imapcmd.Options{AppendLimit: c.srv.opts.AppendLimit}, lookup)
		if err != nil {
			if !c.readFailed(err) {
				return
			}
		} else {
			c.dispatch(cmd)
		}
		if c.enc.Flush() != nil {
			return
		}
	}
}

// waitCommand waits for the first byte of the next command: before
// login until loginBy, after it under the inactivity timer; false ends
// the session (after BYE if apt).
func (c *conn) waitCommand() bool {
	deadline := func() time.Time {
		if c.state == stateNotAuth {
			return c.loginBy
		}
		return time.Now().Add(c.srv.opts.IdleTimeout)
	}
	c.mu.Lock()
	if c.stopping {
		c.mu.Unlock()
		c.bye("Server shutting down")
		return false
	}
	if c.state == stateNotAuth && !time.Now().Before(c.loginBy) {
		// Commands already buffered do not extend the time to log in.
		c.mu.Unlock()
		c.bye(byeLoginTimeout)
		return false
	}
	c.idle = true
	waitUntil := deadline()
	grace := time.Now().Add(bufferGrace)
	if waitUntil.Before(grace) {
		grace = waitUntil
	}
	_ = c.nc.SetReadDeadline(grace)
	c.mu.Unlock()
	err := c.waitInput(waitUntil)
	c.mu.Lock()
	c.idle = false
	stopping := c.stopping
	c.mu.Unlock()
	if err != nil {
		var ne net.Error
		switch {
		case stopping:
			c.bye("Server shutting down")
		case errors.As(err, &ne) && ne.Timeout() && c.state == stateNotAuth:
			c.bye(byeLoginTimeout)
		case errors.As(err, &ne) && ne.Timeout():
			c.bye("Autologout; idle for too long")
		}
		return false
	}
	// RFC 9051 §5.4: after login the timer is reset by any activity; a
	// command being received gets the same allowance again. Before login
	// the deadline stays.
	_ = c.nc.SetReadDeadline(deadline())
	return true
}

// bufferGrace is how long a connection keeps its buffers while waiting
// for the next command (waitInput).
const bufferGrace = 100 * time.Millisecond

// waitInputSize is what waitInput reads without the connection's
// buffers: most commands fit, and the rest of a longer one follows
// through the read buffer.
const waitInputSize = 512

// waitInput waits until the client sent something or the read deadline,
// which waitCommand set to bufferGrace at most, passed. A client that
// stays silent for bufferGrace while the decoder is between commands
// does not get its buffers held for it: the connection gives its 16 KiB
// read and write buffers back to the server's pools, as while idling
// (cmd_idle.go), and waits on until the real deadline, until, reading
// the first bytes of the next command into a small array. A session
// waiting for its client's next command then holds 6 to 11 KiB
// (goroutine stack included) instead of 40, and most of max_conns
// connections do that most of the time; a busy session keeps its
// buffers and pays nothing. The buffers are taken again before
// waitInput returns, error or not.
func (c *conn) waitInput(until time.Time) error {
	_, err := c.br.Peek(1)
	var ne net.Error
	if err == nil || !errors.As(err, &ne) || !ne.Timeout() || c.br.Buffered() > 0 || !c.dec.Between() {
		return err
	}
	c.mu.Lock()
	if c.stopping || !time.Now().Before(until) {
		c.mu.Unlock()
		return err // Shutdown, or the real deadline
	}
	_ = c.nc.SetReadDeadline(until)
	c.mu.Unlock()
	c.releaseIO()
	var buf [waitInputSize]byte
	for {
		n, err := c.rw.Read(buf[:])
		if n > 0 || err != nil {
			c.acquireIO(bytes.Clone(buf[:n]))
			if n > 0 {
				return nil // an error comes again at the next read
			}
			return err
		}
	}
}

// byeLoginTimeout ends a session that did not log in by loginBy.
const byeLoginTimeout = "Autologout; no login within the time allowed"

func (c *conn) bye(text string) {
	c.enc.Raw("* BYE ").Raw(text).CRLF()
	_ = c.enc.Flush()
}

func (c *conn) close() {
	c.cancel()
	if c.sub != nil {
		c.sub.Close()
	}
	if c.acct != nil {
		c.srv.releaseUser(c.acct.Name)
	}
	// Uncounted before the socket closes: a client that sees the close
	// may connect again at once.
	c.srv.release(c.addrKey, c.unauth)
	_ = c.nc.Close()
	c.releaseIO()
	// After login, c.log carries the user.
	c.log.Info("session ended", "duration", time.Since(c.start).Round(time.Millisecond),
		"bytes_in", c.counts.in, "bytes_out", c.counts.out)
}

// readFailed answers a command that could not be read; false ends the
// session.
func (c *conn) readFailed(err error) bool {
	var syn *imapcmd.SyntaxError
	var unk *imapcmd.UnknownCommandError
	tag := "*"
	switch {
	case errors.As(err, &unk):
		tag = unk.Tag
		c.tagged(tag, "BAD", imap.CodeClientBug, "Unknown command "+sanitize(unk.Name))
	case errors.As(err, &syn):
		if syn.Tag != "" {
			tag = syn.Tag
		}
		switch {
		case errors.Is(err, imapwire.ErrTooBig):
			c.tagged(tag, "BAD", imap.CodeTooBig, "Literal too big")
		case errors.Is(err, imapwire.ErrLineTooLong):
			c.tagged(tag, "BAD", imap.CodeTooBig, "Command line too long")
		case errors.Is(err, errLiteralRefused):
			c.tagged(tag, "BAD", "", "Literal refused")
		default:
			c.tagged(tag, "BAD", imap.CodeClientBug, "Syntax error: "+sanitize(syn.Msg))
		}
	case errors.Is(err, imapwire.ErrLineTooLong):
		c.tagged(tag, "BAD", imap.CodeTooBig, "Command line too long")
	case errors.Is(err, imapwire.ErrTooBig):
		c.tagged(tag, "BAD", imap.CodeTooBig, "Literal too big")
	default:
		// I/O error or closed connection.
		return false
	}
	if errors.Is(err, errLiteralRefused) {
		return true
	}
	if derr := c.dec.DiscardLine(); derr != nil {
		var ne net.Error
		if !errors.Is(derr, io.EOF) && !(errors.As(derr, &ne) && ne.Timeout()) {
			c.bye("Cannot recover from the previous error")
		}
		return false
	}
	return true
}

// sanitize keeps client-provided text printable on one response line.
func sanitize(s string) string {
	if len(s) > 200 {
		s = s[:200]
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, s)
}

func (c *conn) tagged(tag, status, code, text string) {
	c.enc.Raw(tag).SP().Raw(status).SP()
	if code != "" {
		c.enc.Raw("[").Raw(code).Raw("] ")
	}
	c.enc.Raw(text).CRLF()
}

func (c *conn) untagged(status, code, text string) { c.tagged("*", status, code, text) }

// dispatch runs one command through the state gate, its handler, the
// pending-change flush and the tagged response.
func (c *conn) dispatch(cmd *imapcmd.Command) {
	spec, ok := commands[cmd.Name]
	if !ok || (cmd.UID && spec.uid == nil) {
		c.rejectArgs(cmd)
		if c.state == stateLogout {
			return
		}
		c.tagged(cmd.Tag, "BAD", imap.CodeClientBug, "Unknown command")
		return
	}
	if spec.states&c.state == 0 {
		c.rejectArgs(cmd)
		if c.state == stateLogout {
			return
		}
		c.tagged(cmd.Tag, "BAD", imap.CodeClientBug, "Command not valid in this state")
		return
	}
	c.okCode, c.okText, c.tag = "", "", cmd.Tag
	start := time.Now()
	err := c.run(spec, cmd)
	c.srv.opts.Hooks.command(spec.name, cmd.UID, err, start)
	if errors.Is(err, errSilent) {
		return
	}
	if c.state == stateLogout {
		if err == nil && cmd.Name == "LOGOUT" {
			c.tagged(cmd.Tag, "OK", "", "LOGOUT completed")
		}
		return
	}
	c.flushPending(cmd, spec)
	if c.hangUp != "" {
		defer func() {
			c.bye(c.hangUp)
			c.state = stateLogout
		}()
	}
	if err != nil {
		c.respondError(cmd, err)
		return
	}
	text := c.okText
	if text == "" {
		text = spec.name + " completed"
		if cmd.UID {
			text = "UID " + text
		}
	}
	c.tagged(cmd.Tag, "OK", c.okCode, text)
}

// rejectArgs skips what remains of a command that will not run.
func (c *conn) rejectArgs(cmd *imapcmd.Command) {
	if app, ok := cmd.Args.(*imapcmd.Append); ok {
		c.drainAppend(app)
	}
}

// run calls the handler, turning a panic into a SERVERBUG error.
func (c *conn) run(spec *command, cmd *imapcmd.Command) (err error) {
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("panic in command handler", "command", spec.name, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			err = &imap.Error{Kind: imap.No, Code: imap.CodeServerBug, Text: "Internal error"}
		}
	}()
	var ctx context.Context
	var cancel context.CancelFunc
	if c.state == stateNotAuth {
		// LOGIN waiting for its turn (auth.Throttle) or a hash slot
		// gives up when the time to log in is over.
		ctx, cancel = context.WithDeadline(c.ctx, c.loginBy)
	} else {
		ctx, cancel = context.WithCancel(c.ctx)
	}
	defer cancel()
	if !spec.readsConn {
		defer c.watchWhileRunning(cancel)()
	}
	if cmd.UID {
		return spec.uid.run(ctx, c, cmd)
	}
	return spec.run(ctx, c, cmd)
}

// hangupWatchDelay is how long a command runs before watchHangup starts
// looking for a client that left: most commands end sooner and never pay
// for a watcher.
const hangupWatchDelay = 50 * time.Millisecond

// watchWhileRunning arms watchHangup for a command that runs longer than
// hangupWatchDelay; the returned func disarms it (and waits for the
// watcher) when the command ends.
func (c *conn) watchWhileRunning(cancel context.CancelFunc) (end func()) {
	var mu sync.Mutex
	var stop func()
	ended := false
	t := time.AfterFunc(hangupWatchDelay, func() {
		mu.Lock()
		defer mu.Unlock()
		if !ended {
			stop = c.watchHangup(cancel)
		}
	})
	return func() {
		t.Stop()
		mu.Lock()
		ended = true
		s := stop
		mu.Unlock()
		if s != nil {
			s()
		}
	}
}

// respondError is the one place where errors become tagged responses.
func (c *conn) respondError(cmd *imapcmd.Command, err error) {
	var ie *imap.Error
	if !errors.As(err, &ie) {
		ie = storeError(err, c.srv.opts.MailboxLimits)
		if errors.Is(err, store.ErrUnavailable) {
			c.log.Warn("command failed: storage unavailable", "command", logtext.Clip(cmd.Name), "user", c.userName(), "err", logtext.Err(err))
		}
	}
	if ie == nil {
		c.log.Error("command failed", "command", logtext.Clip(cmd.Name), "user", c.userName(), "err", logtext.Err(err))
		ie = &imap.Error{Kind: imap.No, Code: imap.CodeServerBug, Text: "Internal server error"}
	}
	switch ie.Kind {
	case imap.Bye:
		c.bye(ie.Text)
		c.state = stateLogout
	case imap.Bad:
		c.tagged(cmd.Tag, "BAD", ie.Code, ie.Text)
	default:
		c.tagged(cmd.Tag, "NO", ie.Code, ie.Text)
	}
}

// storeError maps store sentinels to responses; nil for unexpected errors.
// l gives the numbers of the limit responses.
func storeError(err error, l store.MailboxLimits) *imap.Error {
	switch {
	case errors.Is(err, store.ErrNameTooLong):
		return imap.Errorf(imap.CodeLimit, "Mailbox name too long (at most %d bytes)", l.MaxNameBytes)
	case errors.Is(err, store.ErrNameTooDeep):
		return imap.Errorf(imap.CodeLimit, "Mailbox hierarchy too deep (at most %d levels)", l.MaxDepth)
	case errors.Is(err, store.ErrTooManyMailboxes):
		// The MAILBOX quota resource (RFC 9208 §5.3): OVERQUOTA, "the
		// user would be over quota after the operation" (RFC 9051 §7.1).
		return imap.Errorf(imap.CodeOverQuota, "Too many mailboxes (at most %d)", l.MaxMailboxes)
	case errors.Is(err, store.ErrTooManySubscriptions):
		return imap.Errorf(imap.CodeLimit, "Too many subscriptions (at most %d)", l.MaxMailboxes)
	case errors.Is(err, store.ErrTooManyKeywords):
		// RFC 9051 §7.1: LIMIT, a server limit that cannot be raised by
		// the user (not OVERQUOTA, which RFC 9208 resources report).
		return imap.Errorf(imap.CodeLimit, "Too many keywords in the mailbox (at most %d)", l.MaxKeywords)
	case errors.Is(err, store.ErrKeywordTooLong):
		return imap.Errorf(imap.CodeLimit, "Keyword too long (at most %d bytes)", l.MaxKeywordBytes)
	case errors.Is(err, store.ErrNoSuchMailbox):
		return imap.Errorf(imap.CodeNonExistent, "Mailbox does not exist")
	case errors.Is(err, store.ErrMailboxExists):
		return imap.Errorf(imap.CodeAlreadyExists, "Mailbox already exists")
	case errors.Is(err, store.ErrMailboxNoSelect):
		return imap.Errorf(imap.CodeCannot, "Mailbox is not selectable")
	case errors.Is(err, store.ErrHasChildren):
		return imap.Errorf(imap.CodeHasChildren, "Mailbox has children")
	case errors.Is(err, store.ErrInvalidName):
		return imap.Errorf(imap.CodeCannot, "Invalid mailbox name")
	case errors.Is(err, store.ErrInboxDelete):
		return imap.Errorf(imap.CodeCannot, "INBOX cannot be deleted")
	case errors.Is(err, store.ErrOverQuota):
		return imap.Errorf(imap.CodeOverQuota, "Quota exceeded")
	case errors.Is(err, store.ErrTooBig):
		return imap.Errorf(imap.CodeTooBig, "Message too big")
	case errors.Is(err, store.ErrSpecialUseInvalid):
		return imap.Errorf(imap.CodeUseAttr, "Unsupported special-use attribute")
	case errors.Is(err, store.ErrNoSuchAccount):
		return imap.Errorf(imap.CodeUnavailable, "Account no longer exists")
	case errors.Is(err, store.ErrUnavailable):
		return imap.Errorf(imap.CodeUnavailable, "Storage temporarily unavailable, try again later")
	case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, context.DeadlineExceeded):
		return imap.Errorf(imap.CodeUnavailable, "Timed out")
	case errors.Is(err, context.Canceled):
		// The client left or the server is shutting down.
		return imap.Errorf(imap.CodeUnavailable, "Command cancelled")
	}
	return nil
}

func (c *conn) userName() string {
	if c.acct == nil {
		return ""
	}
	return c.acct.Name
}

// mode is how pending mailbox changes may be reported after cmd.
func (c *conn) mode(cmd *imapcmd.Command, spec *command) mailview.Mode {
	return mailview.Mode{
		AllowExpunge: !(spec.noExpungeBySeq && !cmd.UID),
		Vanished:     c.qresync,
		Recent:       !c.rev2,
	}
}

// flushPending brings the selected mailbox's view up to date with the store
// and reports what the client may be told after cmd.
func (c *conn) flushPending(cmd *imapcmd.Command, spec *command) {
	c.flushView(c.mode(cmd, spec))
}

// flushView brings the view up to date and reports what mode allows.
func (c *conn) flushView(mode mailview.Mode) {
	if c.sel == nil {
		if c.sub != nil {
			c.sub.Drain()
		}
		return
	}
	if err := c.syncView(c.ctx); err != nil {
		if errors.Is(err, store.ErrNoSuchMailbox) {
			c.bye("Selected mailbox was deleted")
			c.state = stateLogout
			return
		}
		c.log.Error("mailbox sync failed", "err", logtext.Err(err))
		return
	}
	c.sel.view.Flush(viewSink{c}, mode)
}

// syncView applies the store's changes to the view when an event says there
// are any.
func (c *conn) syncView(ctx context.Context) error {
	evs, overflowed := c.sub.Drain()
	need := overflowed
	v := c.sel.view
	for _, ev := range evs {
		if store.MailboxID(ev.Mailbox) == v.Mailbox() && (ev.ModSeq == 0 || ev.ModSeq > v.HighestModSeq()) {
			need = true
		}
	}
	if !need {
		return nil
	}
	before := v.MaxUID()
	ch, err := c.srv.opts.Store.Changes(ctx, v.Mailbox(), v.HighestModSeq())
	if err != nil {
		return err
	}
	v.Apply(ch)
	c.sel.mailbox = ch.Mailbox
	if !c.sel.readOnly && ch.UIDNext > before+1 {
		lo, hi, err := c.srv.opts.Store.ClaimRecent(ctx, v.Mailbox())
		if err != nil {
			return err
		}
		v.AddRecent(lo, hi)
	}
	return nil
}

// viewSink writes a view's pending changes as untagged responses.
type viewSink struct{ c *conn }

func (s viewSink) Expunge(seq uint32) {
	s.c.enc.Raw("* ").Number(seq).Raw(" EXPUNGE").CRLF()
}

func (s viewSink) Vanished(uids imapnum.Set) {
	s.c.enc.Raw("* VANISHED ").Raw(uids.String()).CRLF()
}

func (s viewSink) Exists(n uint32) { s.c.enc.Raw("* ").Number(n).Raw(" EXISTS").CRLF() }

func (s viewSink) Recent(n uint32) { s.c.enc.Raw("* ").Number(n).Raw(" RECENT").CRLF() }

func (s viewSink) Keywords(all []string) { s.c.writeKeywords(all) }

func (s viewSink) Flags(seq uint32, m store.Message, recent bool) {
	e := s.c.enc
	e.Raw("* ").Number(seq).Raw(" FETCH (UID ").Number(m.UID).Raw(" FLAGS ")
	writeFlags(e, imap.FlagNames(m.Flags, recent && !s.c.rev2))
	if s.c.condStore {
		// RFC 7162 §3.1.4: once CONDSTORE is enabled every untagged FETCH
		// carries the message's mod-sequence.
		e.Raw(" MODSEQ (").Number64(m.ModSeq).Raw(")")
	}
	e.Raw(")").CRLF()
}

// writeFlags writes a parenthesised flag list.
func writeFlags(e *imapwire.Encoder, flags []string) {
	e.Raw("(")
	for i, f := range flags {
		if i > 0 {
			e.SP()
		}
		e.Raw(f)
	}
	e.Raw(")")
}
