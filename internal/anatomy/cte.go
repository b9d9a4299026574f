package anatomy

import "strings"

// transferEncoding returns the Part.Encoding for the value of a
// Content-Transfer-Encoding field: the mechanism, lower-case, when the
// value is one token (with comments or white space around it, RFC 2045
// §6.1); otherwise the whole value, lower-case, which names no encoding,
// so that BINARY answers [UNKNOWN-CTE] instead of taking "7bit garbage"
// for 7bit or a quoted "base64" for no encoding. An empty value is "",
// as if the field were absent.
func transferEncoding(v string) string {
	t, rest := splitToken(v)
	if t != "" && SkipCFWS(rest) == "" {
		return strings.ToLower(t)
	}
	return strings.ToLower(strings.TrimSpace(v))
}
