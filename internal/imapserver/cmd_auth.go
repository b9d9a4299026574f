package imapserver

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"net"
	"strings"
	"time"

	"github.com/emersion/go-sasl"

	"rookery/internal/auth"
	"rookery/internal/imap"
	"rookery/internal/imapcmd"
	"rookery/internal/imapwire"
	"rookery/internal/store"
)

// plaintextAllowed reports whether credentials may be sent on this
// connection as it is now.
func (c *conn) plaintextAllowed() bool {
	if c.isTLS {
		return true
	}
	switch c.srv.opts.PlaintextAuth {
	case PlaintextAlways:
		return true
	case PlaintextNever:
		return false
	default:
		return c.ip.IsLoopback()
	}
}

// channelBinding returns the connection's tls-exporter channel binding
// (RFC 9266) for SCRAM-SHA-256-PLUS, or nil when there is none: no TLS, or
// TLS 1.2 without the extended master secret.
func (c *conn) channelBinding() *auth.ChannelBinding {
	if !c.isTLS {
		return nil
	}
	tc, ok := c.nc.(*tls.Conn) // implicit TLS
	if !ok {
		tc, ok = c.rw.(*tls.Conn) // after STARTTLS
	}
	if !ok {
		return nil
	}
	cb, ok := auth.TLSExporterBinding(tc.ConnectionState())
	if !ok {
		return nil
	}
	return &cb
}

func cmdStartTLS(_ context.Context, c *conn, _ *imapcmd.Command, _ imapcmd.None) error {
	if c.isTLS {
		return imap.BadRequest(imap.CodeClientBug, "TLS is already active")
	}
	if c.srv.opts.TLS == nil {
		return imap.Errorf(imap.CodeUnavailable, "TLS is not configured")
	}
	if c.br.Buffered() > 0 {
		// RFC 9051 §6.2.1: data pipelined after STARTTLS could be a
		// plaintext injection; refuse it.
		return &imap.Error{Kind: imap.Bye, Text: "Data received after STARTTLS"}
	}
	c.tagged(c.tag, "OK", "", "Begin TLS negotiation now")
	if err := c.enc.Flush(); err != nil {
		return err
	}
	tc := tls.Server(c.counts, c.srv.opts.TLS)
	_ = c.nc.SetDeadline(c.loginBy)
	if err := tc.Handshake(); err != nil {
		c.log.Debug("STARTTLS handshake failed", "err", err)
		c.state = stateLogout
		return errSilent
	}
	_ = c.nc.SetDeadline(time.Time{})
	c.isTLS = true
	c.setupIO(tc)
	return errSilent
}

func cmdLogin(ctx context.Context, c *conn, cmd *imapcmd.Command, args *imapcmd.Login) error {
	if !c.plaintextAllowed() {
		return imap.Errorf(imap.CodePrivacyReq, "Plaintext login is disabled: use STARTTLS or port 993")
	}
	acct, err := c.srv.opts.Auth.Login(ctx, args.Username, args.Password, c.nc.RemoteAddr())
	if err != nil {
		return loginError(err)
	}
	return c.loggedIn(acct)
}

func loginError(err error) error {
	if se, ok := errors.AsType[*auth.SCRAMError](err); ok {
		// RFC 5802's server-error value, in place of the
		// server-final-message a failed exchange does not send.
		return imap.Errorf(imap.CodeAuthFailed, "Authentication failed (e=%s)", se.Value)
	}
	if errors.Is(err, auth.ErrInvalidCredentials) {
		return imap.Errorf(imap.CodeAuthFailed, "Authentication failed")
	}
	if errors.Is(err, auth.ErrAuthorizationFailed) {
		// RFC 5530 §3: the authorization identity was refused.
		return imap.Errorf(imap.CodeAuthzFailed, "Authorization identity refused")
	}
	if errors.Is(err, auth.ErrMalformedPlain) {
		return imap.Errorf(imap.CodeAuthFailed, "Malformed PLAIN response")
	}
	if errors.Is(err, auth.ErrSCRAMProtocol) {
		return imap.Errorf(imap.CodeAuthFailed, "Malformed SCRAM message")
	}
	if errors.Is(err, auth.ErrThrottled) {
		// Too many attempts already wait for their turn on this address
		// or account (auth.Throttle): nothing was checked.
		return imap.Errorf(imap.CodeUnavailable, "Too many login attempts in progress; try again later")
	}
	return err
}

// loggedIn moves the session to the Authenticated state.
func (c *conn) loggedIn(acct store.Account) error {
	if !c.srv.admitUser(acct.Name) {
		c.srv.opts.Hooks.connRefused(refuseConnsPerUser.limit)
		return imap.Errorf(imap.CodeLimit, "%s", refuseConnsPerUser.text)
	}
	c.srv.authenticated(c.addrKey)
	c.unauth = false
	c.loginBy = time.Time{}
	c.acct = &acct
	c.sub = c.srv.opts.Bus.Subscribe(int64(acct.ID))
	c.state = stateAuth
	c.log = c.log.With("user", acct.Name)
	c.okCode = "CAPABILITY " + strings.Join(c.capabilities(), " ")
	c.okText = "Logged in"
	return nil
}

func cmdAuthenticate(ctx context.Context, c *conn, cmd *imapcmd.Command, args *imapcmd.Authenticate) error {
	var acct *store.Account
	setAcct := func(a store.Account) { acct = &a }
	var srv sasl.Server
	switch args.Mechanism {
	case sasl.Plain:
		srv = c.srv.opts.Auth.PlainServer(ctx, c.nc.RemoteAddr(), setAcct)
	case auth.LoginMechanism:
		srv = c.srv.opts.Auth.LoginServer(ctx, c.nc.RemoteAddr(), setAcct)
	case auth.SCRAMSHA256:
		srv = c.srv.opts.Auth.SCRAMServer(ctx, c.nc.RemoteAddr(), c.channelBinding(), setAcct)
	case auth.SCRAMSHA256Plus:
		cb := c.channelBinding()
		if cb == nil {
			// Not offered here (no TLS, or no safe binding data).
			return imap.Errorf(imap.CodeCannot, "Unsupported authentication mechanism")
		}
		srv = c.srv.opts.Auth.SCRAMPlusServer(ctx, c.nc.RemoteAddr(), *cb, setAcct)
	default:
		return imap.Errorf(imap.CodeCannot, "Unsupported authentication mechanism")
	}
	if !c.plaintextAllowed() {
		return imap.Errorf(imap.CodePrivacyReq, "Plaintext authentication is disabled: use STARTTLS or port 993")
	}
	var resp []byte
	if args.HasInitial {
		resp = args.InitialResponse
		if resp == nil {
			resp = []byte{}
		}
	}
	for i := 0; ; i++ {
		challenge, done, err := srv.Next(resp)
		if err != nil {
			return loginError(err)
		}
		if done {
			break
		}
		if i >= 4 {
			return imap.Errorf(imap.CodeAuthFailed, "Too many SASL steps")
		}
		c.enc.Raw("+ ").Raw(base64.StdEncoding.EncodeToString(challenge)).CRLF()
		if err := c.enc.Flush(); err != nil {
			return err
		}
		line, err := c.dec.ReadLine(c.srv.opts.MaxLine)
		if err != nil {
			return c.saslReadFailed(err)
		}
		if string(line) == "*" {
			return imap.BadRequest("", "Authentication cancelled")
		}
		resp, err = base64.StdEncoding.DecodeString(string(line))
		if err != nil {
			return imap.BadRequest(imap.CodeClientBug, "Invalid base64 in SASL response")
		}
	}
	if acct == nil {
		return imap.Errorf(imap.CodeAuthFailed, "Authentication failed")
	}
	return c.loggedIn(*acct)
}

// saslReadFailed answers a SASL response that could not be read. Longer
// than MaxLine: BAD [TOOBIG], and the rest of the line is skipped like
// that of an oversized command (readFailed); past imapwire.MaxSkip the
// connection cannot be resynchronised and ends with BYE. Anything else
// (the client left, the login deadline passed) ends the session without
// a tagged response: the client is gone or out of time, and neither is
// the server's error.
func (c *conn) saslReadFailed(err error) error {
	if errors.Is(err, imapwire.ErrLineTooLong) {
		if derr := c.dec.DiscardLine(); derr != nil {
			c.hangUp = "Cannot recover from an oversized SASL response"
		}
		return imap.BadRequest(imap.CodeTooBig, "SASL response too long")
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		c.bye("Autologout; authentication took too long")
	}
	c.log.Debug("AUTHENTICATE ended by the connection", "err", err)
	c.state = stateLogout
	return errSilent
}

func cmdEnable(_ context.Context, c *conn, cmd *imapcmd.Command, args *imapcmd.Enable) error {
	var enabled []string
	for _, capName := range args.Caps {
		switch capName {
		case "IMAP4REV2":
			if !c.rev2 {
				c.rev2, c.utf8 = true, true
				enabled = append(enabled, "IMAP4rev2")
			}
		case "UTF8=ACCEPT":
			if !c.utf8 {
				c.utf8 = true
				enabled = append(enabled, "UTF8=ACCEPT")
			}
		case "CONDSTORE":
			if !c.condStore {
				c.condStore = true
				enabled = append(enabled, "CONDSTORE")
			}
		case "QRESYNC":
			// QRESYNC implies CONDSTORE (RFC 7162 §3.2.3).
			if !c.qresync {
				c.qresync, c.condStore = true, true
				enabled = append(enabled, "QRESYNC")
			}
		}
	}
	c.enc.UTF8 = c.utf8
	c.enc.Raw("* ENABLED")
	for _, e := range enabled {
		c.enc.SP().Raw(e)
	}
	c.enc.CRLF()
	return nil
}
