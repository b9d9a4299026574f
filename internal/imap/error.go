package imap

import "fmt"

// Kind is the status of a tagged response an Error turns into.
type Kind int

// Kinds of error responses.
const (
	No  Kind = iota // NO: the command failed
	Bad             // BAD: protocol or syntax error
	Bye             // BYE: the server closes the connection
)

// Response codes (RFC 9051 §7.1, RFC 5530 and extensions).
const (
	CodeAlert          = "ALERT"
	CodeAlreadyExists  = "ALREADYEXISTS"
	CodeAuthFailed     = "AUTHENTICATIONFAILED"
	CodeCannot         = "CANNOT"
	CodeClientBug      = "CLIENTBUG"
	CodeInUse          = "INUSE"
	CodeLimit          = "LIMIT"
	CodeNonExistent    = "NONEXISTENT"
	CodeNoPerm         = "NOPERM"
	CodeOverQuota      = "OVERQUOTA"
	CodePrivacyReq     = "PRIVACYREQUIRED"
	CodeServerBug      = "SERVERBUG"
	CodeTooBig         = "TOOBIG"
	CodeTryCreate      = "TRYCREATE"
	CodeUnavailable    = "UNAVAILABLE"
	CodeUseAttr        = "USEATTR"
	CodeExpungeIssued  = "EXPUNGEISSUED"
	CodeContactAdmin   = "CONTACTADMIN"
	CodeHasChildren    = "HASCHILDREN"
	CodeUnknownCTE     = "UNKNOWN-CTE"
	CodeBadCharset     = "BADCHARSET"
	CodeClosed         = "CLOSED"
	CodeNotSaved       = "NOTSAVED"
	CodeCorruption     = "CORRUPTION"
	CodeExpired        = "EXPIRED"
	CodeAuthzFailed    = "AUTHORIZATIONFAILED"
	CodeInvalidHeaders = "INVALID"
)

// Error is a failure that becomes a tagged NO or BAD (or an untagged BYE).
type Error struct {
	Kind Kind
	Code string // response code without brackets, "" for none
	Text string
}

func (e *Error) Error() string {
	k := [...]string{"NO", "BAD", "BYE"}[e.Kind]
	if e.Code != "" {
		return fmt.Sprintf("%s [%s] %s", k, e.Code, e.Text)
	}
	return k + " " + e.Text
}

// Errorf returns a NO error with a response code.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Kind: No, Code: code, Text: fmt.Sprintf(format, args...)}
}

// BadRequest returns a BAD error with a response code.
func BadRequest(code, format string, args ...any) *Error {
	return &Error{Kind: Bad, Code: code, Text: fmt.Sprintf(format, args...)}
}
