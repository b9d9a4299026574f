package store

import (
	"errors"
	"fmt"

	"golang.org/x/text/secure/precis"
)

// ErrInvalidAccountName is a name that cannot be an account's (see
// CanonicalAccountName).
var ErrInvalidAccountName = errors.New("invalid account name")

// MaxAccountName bounds the length of an account name in bytes.
const MaxAccountName = 255

// CanonicalAccountName returns the one spelling under which an account is
// stored, so that every spelling a user or an MTA may type reaches it:
// the PRECIS UsernameCaseMapped profile of RFC 8265 §3.3, the profile for
// user names that are compared without regard to case. It maps full-width
// characters to their ASCII forms, upper case to lower case (Unicode
// toLower) and normalises to NFC, so "ALICE", "Alice" and "ａｌｉｃｅ" are
// all "alice". It fails with ErrInvalidAccountName for a name the profile
// refuses (spaces, control characters, symbols, a mix of
// right-to-left and left-to-right scripts), an empty name, and one longer
// than MaxAccountName bytes.
//
// Every backend applies it (see Store): CreateAccount stores this form,
// and a lookup by name that finds no account under the exact name given
// looks for this form, so accounts stored before the rule under another
// spelling keep working under that spelling.
func CanonicalAccountName(name string) (string, error) {
	if name == "" {
		return "", fmt.Errorf("%w: empty", ErrInvalidAccountName)
	}
	c, err := precis.UsernameCaseMapped.String(name)
	if err != nil {
		return "", fmt.Errorf("%w %q: not a user name (RFC 8265: letters, digits and ASCII punctuation, no spaces): %v", ErrInvalidAccountName, name, err)
	}
	if c == "" || len(c) > MaxAccountName {
		return "", fmt.Errorf("%w %q: must be 1 to %d bytes", ErrInvalidAccountName, name, MaxAccountName)
	}
	return c, nil
}

// AccountKey returns what equal spellings of an account name have in
// common: CanonicalAccountName(name), or name itself when it has no
// canonical form. Whatever is kept per account name outside the store
// (failed-login counters, caches) is keyed by it, so that changing the
// case of a name does not make a new key.
func AccountKey(name string) string {
	if c, err := CanonicalAccountName(name); err == nil {
		return c
	}
	return name
}
