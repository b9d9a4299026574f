package auth

import (
	"crypto/tls"
	"fmt"
	"os"
	"strings"
)

// SCRAMSHA256Plus is the SASL name of SCRAM-SHA-256 with channel binding
// (RFC 5802 §6, RFC 7677).
const SCRAMSHA256Plus = "SCRAM-SHA-256-PLUS"

// TLSExporter is the channel binding type of RFC 9266, the one Rookery
// offers: tls-unique is undefined for TLS 1.3, tls-server-end-point binds
// only the certificate.
const TLSExporter = "tls-exporter"

// ChannelBinding is the data a SCRAM exchange is bound to (RFC 5056): its
// type name and the bytes both ends derive from their own view of the TLS
// connection.
type ChannelBinding struct {
	Type string
	Data []byte
}

// tlsExporterLabel is the exporter label of RFC 9266 §2.
const tlsExporterLabel = "EXPORTER-Channel-Binding"

// TLSExporterBinding returns the tls-exporter channel binding of a TLS
// connection after its handshake (RFC 9266: 32 bytes exported with the label
// "EXPORTER-Channel-Binding" and no context). ok is false when the
// connection cannot offer it safely: handshake not complete, or TLS 1.2
// without the extended master secret (RFC 9266 §3; crypto/tls then refuses
// to export unless GODEBUG=tlsunsafeekm=1, which is checked too).
func TLSExporterBinding(cs tls.ConnectionState) (cb ChannelBinding, ok bool) {
	if !cs.HandshakeComplete || cs.Version < tls.VersionTLS12 {
		return ChannelBinding{}, false
	}
	if cs.Version < tls.VersionTLS13 && unsafeEKM() {
		// The exporter would be handed out even without the extended
		// master secret, where it does not identify the connection.
		return ChannelBinding{}, false
	}
	data, err := cs.ExportKeyingMaterial(tlsExporterLabel, nil, 32)
	if err != nil {
		return ChannelBinding{}, false
	}
	return ChannelBinding{Type: TLSExporter, Data: data}, true
}

// unsafeEKM reports whether GODEBUG lets crypto/tls export keying material
// from TLS 1.2 connections without the extended master secret.
func unsafeEKM() bool {
	for s := range strings.SplitSeq(os.Getenv("GODEBUG"), ",") {
		if strings.TrimSpace(s) == "tlsunsafeekm=1" {
			return true
		}
	}
	return false
}

// Server-error values of RFC 5802 §7 that the server reports for channel
// binding failures.
const (
	scramCBMismatch    = "channel-bindings-dont-match"
	scramCBUnsupported = "unsupported-channel-binding-type"
	scramCBDowngrade   = "server-does-support-channel-binding"
	scramOtherError    = "other-error"
)

// SCRAMError is a SCRAM exchange refused for a reason RFC 5802 §7 names
// with a server-error value ("e=" attribute). Rookery ends a failed
// exchange without a server-final-message (RFC 5802 §5.1 allows it, and
// IMAP has no failure outcome with data): the value goes to the log and to
// the text of the IMAP failure. It wraps ErrInvalidCredentials.
type SCRAMError struct {
	Value  string // e.g. "channel-bindings-dont-match"
	Reason string // for the log
}

func (e *SCRAMError) Error() string {
	return fmt.Sprintf("SCRAM: %s (e=%s)", e.Reason, e.Value)
}

func (e *SCRAMError) Unwrap() error { return ErrInvalidCredentials }

// cbFail records a failed attempt (log, throttle, metrics hook) and
// returns its SCRAMError.
func (s *scramServer) cbFail(value, reason string) error {
	s.a.fail(s.ctx, nil, s.user, s.remote, s.mech, reason+" (e="+value+")")
	return &SCRAMError{Value: value, Reason: reason}
}

// checkCBFlag applies RFC 5802 §6 to the client's gs2-cbind-flag (cb, with
// isP and name for "p=name") and sets the binding data expected in c=.
func (s *scramServer) checkCBFlag(cb, name string, isP bool) error {
	switch {
	case !s.plus && isP:
		// Binding asked for with the mechanism that has none.
		return s.cbFail(scramOtherError, "channel binding requested with "+s.mech)
	case !s.plus && cb == "y" && s.offered != nil:
		// The client could bind and believes the server cannot, but
		// -PLUS was advertised: someone removed it from the list.
		return s.cbFail(scramCBDowngrade, "downgrade: client supports channel binding, server offered it")
	case !s.plus:
		return nil
	case !isP:
		// -PLUS without binding contradicts itself.
		return s.cbFail(scramOtherError, "no channel binding requested with "+s.mech)
	case s.offered == nil || name != s.offered.Type:
		return s.cbFail(scramCBUnsupported, "channel binding type "+name)
	}
	s.cbData = s.offered.Data
	return nil
}

// validCBName reports whether n is a cb-name: 1*(ALPHA / DIGIT / "." / "-").
func validCBName(n string) bool {
	if n == "" {
		return false
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}
