// Package logtext bounds what a client can put into a log line. User
// names, mailbox names, command names, addresses and SASL data come from
// the network; logged whole, one 60 KB user name makes a 60 KB log line,
// and a stream of them fills the disk. Every log call that carries such a
// string passes it through Clip (or an error that may quote one through
// Err).
//
// Invariant: the result is at most Max (Clip) or ErrMax (Err) bytes plus
// a short marker, cut on a UTF-8 boundary. The package imports nothing of
// Rookery's.
package logtext

import (
	"strconv"
	"unicode/utf8"
)

// Max is the longest attacker-controlled string logged whole (bytes).
const Max = 256

// ErrMax bounds a logged error message: errors are mostly the server's
// own text, but they may quote a client's string.
const ErrMax = 4 * Max

// Clip returns s, or its first Max bytes (cut on a rune boundary) and a
// marker telling how many bytes were left out.
func Clip(s string) string { return clip(s, Max) }

// Err returns err's message clipped to ErrMax bytes ("" for nil).
func Err(err error) string {
	if err == nil {
		return ""
	}
	return clip(err.Error(), ErrMax)
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && cut > n-utf8.UTFMax && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…[+" + strconv.Itoa(len(s)-cut) + " bytes]"
}
