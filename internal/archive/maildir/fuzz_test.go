package maildir

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzUIDList: any dovecot-uidlist parses without panic into UIDs that
// increase, below UIDNEXT.
func FuzzUIDList(f *testing.F) {
	f.Add("3 V1796308930 N3 G11003e16c07f116bb12d000083ecc375\n1 :1796308928.M419541P11697.vm,S=19,W=22\n")
	f.Add("3 V5 N100\n7 W1234 G0123 :a.b.c\n")
	f.Add("1 42 10\n3 1.2.host\n")
	f.Fuzz(func(t *testing.T, data string) {
		ul, err := parseUIDList(strings.NewReader(data))
		if err != nil {
			return
		}
		for b, u := range ul.uids {
			if u == 0 || u > ul.maxUID || b == "" {
				t.Fatalf("uid %d for %q (max %d)", u, b, ul.maxUID)
			}
		}
		if len(ul.uids) > 0 && ul.uidNext <= ul.maxUID {
			t.Fatalf("UIDNEXT %d not above %d", ul.uidNext, ul.maxUID)
		}
		for _, l := range strings.Split(data, "\n") {
			parseUIDLine(l)
		}
	})
}

// FuzzFileName: any message file name gives flags without panic, and
// the flags of a name the Writer makes come back.
func FuzzFileName(f *testing.F) {
	f.Add("1700000000.M1P2.host,S=10,W=12:2,DFRSTab", uint8(7))
	f.Add("x:2,PPP", uint8(0))
	f.Fuzz(func(t *testing.T, name string, n uint8) {
		kw := [26]string{"k0", "k1"}
		_, letters := splitName(name)
		flagsOf(letters, &kw)
		hasRawMarker(name)
		mb := &mailboxWriter{kwIndex: map[string]int{}}
		var flags []string
		for i, f := range []string{`\Seen`, `\Answered`, `\Flagged`, `\Deleted`, `\Draft`, "k0", "k1", "$Forwarded"} {
			if n&(1<<i) != 0 {
				flags = append(flags, f)
			}
		}
		l, err := mb.letters(flags)
		if err != nil {
			t.Fatal(err)
		}
		var wk [26]string
		copy(wk[:], mb.keywords)
		back := flagsOf(l, &wk)
		if len(back) != len(flags) {
			t.Fatalf("flags %v → %q → %v", flags, l, back)
		}
	})
}

// FuzzName: every valid mailbox name has a directory that decodes back
// to it; any directory name decodes without panic.
func FuzzName(f *testing.F) {
	f.Add("Archive/2024")
	f.Add("a.b/Entwürfe")
	f.Add(`.\2e&AOk-`)
	f.Fuzz(func(t *testing.T, name string) {
		decodeName(name)
		decodeName("." + name)
		if !utf8.ValidString(name) || strings.EqualFold(name, "INBOX") {
			return
		}
		dir, err := encodeName(name)
		if err != nil {
			return
		}
		back, ok := decodeName(dir)
		want := name
		if len(want) >= 5 && strings.EqualFold(want[:5], "INBOX") && (len(want) == 5 || want[5] == '/') {
			want = "INBOX" + want[5:]
		}
		if !ok || back != want {
			t.Fatalf("%q → %q → %q %v", name, dir, back, ok)
		}
	})
}
