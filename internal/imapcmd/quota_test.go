package imapcmd

import (
	"errors"
	"strings"
	"testing"
)

var quotaTests = []readTest{
	{"a GETQUOTA \"\"\r\n", cmd("a", "GETQUOTA", false, &GetQuota{Root: ""})},
	{"a getquota user\r\n", cmd("a", "GETQUOTA", false, &GetQuota{Root: "user"})},
	{"a GETQUOTAROOT INBOX\r\n", cmd("a", "GETQUOTAROOT", false, &GetQuotaRoot{Mailbox: "INBOX"})},
	{"a GETQUOTAROOT {3}\r\nfoo\r\n", cmd("a", "GETQUOTAROOT", false, &GetQuotaRoot{Mailbox: "foo"})},
	{"a SETQUOTA \"\" (STORAGE 512)\r\n", cmd("a", "SETQUOTA", false, &SetQuota{Root: "", Limits: []QuotaLimit{{"STORAGE", 512}}})},
	{"a SETQUOTA \"\" (storage 512 MESSAGE 18446744073)\r\n", cmd("a", "SETQUOTA", false,
		&SetQuota{Root: "", Limits: []QuotaLimit{{"STORAGE", 512}, {"MESSAGE", 18446744073}}})},
	{"a SETQUOTA x ()\r\n", cmd("a", "SETQUOTA", false, &SetQuota{Root: "x", Limits: []QuotaLimit{}})},
}

func TestReadQuota(t *testing.T) { checkRead(t, quotaTests) }

func TestReadQuotaErrors(t *testing.T) {
	for _, in := range []string{
		"a GETQUOTA\r\n",
		"a GETQUOTA (x)\r\n",
		"a GETQUOTAROOT\r\n",
		"a SETQUOTA \"\"\r\n",
		"a SETQUOTA \"\" STORAGE 1\r\n",
		"a SETQUOTA \"\" (STORAGE)\r\n",
		"a SETQUOTA \"\" (STORAGE -1)\r\n",
		"a SETQUOTA \"\" (STORAGE 1 STORAGE 2)\r\n",
		"a SETQUOTA \"\" (STORAGE 99999999999999999999)\r\n",
		"a UID GETQUOTA \"\"\r\n",
	} {
		_, err := Read(newDecoder(in, false), Options{}, testLookup)
		var se *SyntaxError
		var ue *UnknownCommandError
		if !errors.As(err, &se) && !errors.As(err, &ue) {
			t.Errorf("Read(%q) = %v, want a syntax error", in, err)
		}
	}
}

// FuzzQuota fuzzes the quota commands: no panic, and a parsed SETQUOTA has
// distinct upper-case resource names.
func FuzzQuota(f *testing.F) {
	for _, tt := range quotaTests {
		f.Add(tt.in)
	}
	f.Add("a SETQUOTA \"\" (STORAGE 1 MESSAGE 2 X-FOO 3)\r\n")
	f.Fuzz(func(t *testing.T, data string) {
		readAll(t, data)
		c, err := Read(newDecoder(data, false), Options{}, testLookup)
		if err != nil {
			return
		}
		if sq, ok := c.Args.(*SetQuota); ok {
			seen := map[string]bool{}
			for _, l := range sq.Limits {
				if seen[l.Resource] || l.Resource != strings.ToUpper(l.Resource) {
					t.Fatalf("bad limits %+v", sq.Limits)
				}
				seen[l.Resource] = true
			}
		}
	})
}
