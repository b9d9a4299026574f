package lmtp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"github.com/emersion/go-smtp"

	"rookery/internal/delivery"
	"rookery/internal/logtext"
	"rookery/internal/store"
)

// Options configure a Server.
type Options struct {
	Agent *delivery.Agent
	// Hostname is announced in the greeting (default the OS host name).
	Hostname string
	// MaxRecipients bounds RCPT TO per transaction (default 100).
	MaxRecipients int
	// Timeout bounds each read and write (default 5 minutes, RFC 5321
	// §4.5.3.2.7's DATA block timeout).
	Timeout time.Duration
	Logger  *slog.Logger
}

// Server is an LMTP server.
type Server struct {
	s   *smtp.Server
	log *slog.Logger
}

// New returns a server; Serve runs it on a listener.
func New(opts Options) *Server {
	if opts.Hostname == "" {
		opts.Hostname, _ = os.Hostname()
		if opts.Hostname == "" {
			opts.Hostname = "localhost"
		}
	}
	if opts.MaxRecipients <= 0 {
		opts.MaxRecipients = 100
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 5 * time.Minute
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	srv := &Server{log: log}
	s := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{agent: opts.Agent, log: log.With("proto", "lmtp", "remote", c.Conn().RemoteAddr().String())}, nil
	}))
	s.LMTP = true
	s.Domain = opts.Hostname
	s.MaxRecipients = opts.MaxRecipients
	// RFC 5321 limits lines to 1000 octets, but real mail (unfolded HTML)
	// has longer ones; refusing them would bounce mail for no good reason.
	s.MaxLineLength = 256 << 10
	if m := opts.Agent.MaxSize(); m > 0 {
		s.MaxMessageBytes = m
	}
	s.ReadTimeout = opts.Timeout
	s.WriteTimeout = opts.Timeout
	s.ErrorLog = slogPrinter{log}
	srv.s = s
	return srv
}

// Serve accepts connections on ln (TCP or Unix) until Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	err := s.s.Serve(ln)
	if errors.Is(err, smtp.ErrServerClosed) {
		return ErrServerClosed
	}
	return err
}

// ErrServerClosed is returned by Serve after Shutdown.
var ErrServerClosed = errors.New("lmtp: server closed")

// Shutdown stops accepting and waits for running transactions until ctx
// is done, then closes the remaining connections.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.s.Shutdown(ctx)
	if err != nil {
		_ = s.s.Close()
	}
	return err
}

type slogPrinter struct{ log *slog.Logger }

// go-smtp's messages may quote what the client sent: clipped.
func (p slogPrinter) Printf(format string, v ...any) {
	p.log.Warn(logtext.Clip(fmt.Sprintf(format, v...)))
}
func (p slogPrinter) Println(v ...any) { p.log.Warn(logtext.Clip(fmt.Sprint(v...))) }

// session is one LMTP connection's transaction state.
type session struct {
	agent *delivery.Agent
	log   *slog.Logger

	env   delivery.Envelope
	rcpts []delivery.Recipient
}

var _ smtp.LMTPSession = (*session)(nil)

func (s *session) Reset() {
	s.env = delivery.Envelope{}
	s.rcpts = nil
}

func (s *session) Logout() error { return nil }

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	s.env = delivery.Envelope{From: from, HasFrom: true}
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	r, err := s.agent.Resolve(context.Background(), to)
	if err != nil {
		s.log.Info("recipient refused", "rcpt", logtext.Clip(to), "err", logtext.Err(err))
		return s.reply(err)
	}
	s.rcpts = append(s.rcpts, r)
	return nil
}

func (s *session) Data(r io.Reader) error {
	// Not used in LMTP mode (LMTPData is), kept for the interface.
	errs := s.agent.Deliver(context.Background(), s.env, s.rcpts, r)
	return s.reply(errors.Join(errs...))
}

func (s *session) LMTPData(r io.Reader, status smtp.StatusCollector) error {
	start := time.Now()
	errs := s.agent.Deliver(context.Background(), s.env, s.rcpts, r)
	for i, rc := range s.rcpts {
		// go-smtp keys statuses by the address as given in RCPT TO.
		status.SetStatus(rc.Address, s.reply(errs[i]))
	}
	s.log.Info("lmtp delivery", "from", logtext.Clip(s.env.From), "rcpts", len(s.rcpts), "duration", time.Since(start).Round(time.Millisecond))
	return nil
}

var delivered = &smtp.SMTPError{Code: 250, EnhancedCode: smtp.EnhancedCode{2, 0, 0}, Message: "Delivered"}

// reply maps a delivery error to an LMTP reply (RFC 3463 enhanced codes).
func (s *session) reply(err error) error {
	if err == nil {
		return delivered
	}
	var se *smtp.SMTPError
	if errors.As(err, &se) { // from go-smtp's reader: size limit, aborted transfer
		return se
	}
	temp := s.agent.Temporary(err)
	code := func(perm, tmp int, class, subject, detail int, msg string) error {
		c := perm
		if temp {
			c, class = tmp, 4
		}
		return &smtp.SMTPError{Code: c, EnhancedCode: smtp.EnhancedCode{class, subject, detail}, Message: msg}
	}
	switch {
	case errors.Is(err, delivery.ErrBadAddress):
		return code(553, 453, 5, 1, 3, "Bad recipient address syntax")
	case errors.Is(err, delivery.ErrBadMailbox):
		return code(550, 450, 5, 1, 1, "Bad destination mailbox name")
	case errors.Is(err, delivery.ErrUnknownUser):
		return code(550, 450, 5, 1, 1, "No such user")
	case errors.Is(err, store.ErrOverQuota):
		return code(552, 452, 5, 2, 2, "Mailbox full: quota exceeded")
	case errors.Is(err, store.ErrTooBig):
		return code(552, 452, 5, 3, 4, "Message too big")
	case errors.Is(err, delivery.ErrEmpty):
		return code(554, 451, 5, 6, 0, "Empty message: no header field and no body")
	}
	s.log.Error("delivery failed", "err", logtext.Err(err))
	return code(451, 451, 4, 3, 0, "Temporary failure, try again later")
}

// Listen opens an LMTP listener: "unix:/path" or an absolute path is a
// Unix socket (a stale socket file is replaced; mode 0660), anything else
// TCP host:port.
func Listen(addr string) (net.Listener, error) {
	path, isUnix := strings.CutPrefix(addr, "unix:")
	if !isUnix && strings.HasPrefix(addr, "/") {
		path, isUnix = addr, true
	}
	if !isUnix {
		return net.Listen("tcp", addr)
	}
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSocket != 0 {
		// A socket left by a previous run: nobody answers on it.
		if c, err := net.Dial("unix", path); err == nil {
			_ = c.Close()
			return nil, fmt.Errorf("listen unix %s: a server is already running there", path)
		}
		_ = os.Remove(path)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, 0o660); err != nil {
		_ = ln.Close()
		return nil, err
	}
	return ln, nil
}
