package migrate

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"rookery/internal/store"
)

func TestTargetName(t *testing.T) {
	for _, tc := range []struct {
		name  string
		delim rune
		want  string
		err   bool
	}{
		{"INBOX", '.', "INBOX", false},
		{"inbox", '/', "INBOX", false},
		{"INBOX.Sub", '.', "INBOX/Sub", false},
		{"Work.Projects.2024", '.', "Work/Projects/2024", false},
		{"a/b.c", '.', "a_b/c", false},
		{"a/b", '/', "a/b", false},
		{"flat/name", 0, "flat_name", false},
		{"a..b", '.', "", true},
		{"bad\x01", '.', "", true},
	} {
		got, err := TargetName(tc.name, tc.delim)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("TargetName(%q, %q) = %q, %v; want %q, error %v", tc.name, tc.delim, got, err, tc.want, tc.err)
		}
	}
}

func TestPlan(t *testing.T) {
	newAccount := []store.Mailbox{{Name: "INBOX"}, {Name: "Archive", SpecialUse: `\Archive`}, {Name: "Drafts", SpecialUse: `\Drafts`},
		{Name: "Junk", SpecialUse: `\Junk`}, {Name: "Sent", SpecialUse: `\Sent`}, {Name: "Trash", SpecialUse: `\Trash`}}
	mb := func(name, use string) SourceMailbox { return SourceMailbox{Name: name, Delim: '.', SpecialUse: use} }
	for _, tc := range []struct {
		name string
		src  []SourceMailbox
		want []string // "source>target:special-use" or "source!" for an error
	}{
		{"attribute wins over name", []SourceMailbox{mb("Sent Items", `\Sent`), mb("Sent", "")},
			[]string{"Sent Items>Sent Items:", "Sent>Sent:"}},
		{"special-use onto the account's mailbox", []SourceMailbox{mb("Sent Items", `\Sent`), mb("Deleted Items", `\Trash`)},
			[]string{"Sent Items>Sent:", "Deleted Items>Trash:"}},
		{"well-known names without attributes", []SourceMailbox{mb("Spam", ""), mb("INBOX.Deleted Items", ""), mb("Work.Sent", "")},
			[]string{"Spam>Junk:", "INBOX.Deleted Items>Trash:", "Work.Sent>Work/Sent:"}},
		{"first well-known name only", []SourceMailbox{mb("Junk E-mail", ""), mb("Spam", "")},
			[]string{"Junk E-mail>Junk:", "Spam>Spam:"}},
		{"nested and INBOX", []SourceMailbox{mb("INBOX", ""), mb("a.b.c", "")}, []string{"INBOX>INBOX:", "a.b.c>a/b/c:"}},
		{"collision", []SourceMailbox{mb("x/y", ""), mb("x_y", "")}, []string{"x/y>x_y:", "x_y!"}},
		{"new special-use mailbox", []SourceMailbox{mb("Notes", `\Archive`), mb("Old", `\Archive`)},
			[]string{"Notes>Archive:", "Old>Old:"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan := Plan(tc.src, newAccount)
			var got []string
			for _, p := range plan {
				if p.Err != nil {
					got = append(got, p.Name+"!")
					continue
				}
				su := p.TargetSpecialUse
				if p.Target == "Sent" || p.Target == "Junk" || p.Target == "Trash" || p.Target == "Archive" {
					su = "" // exists: not created
				}
				got = append(got, fmt.Sprintf("%s>%s:%s", p.Name, p.Target, su))
			}
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("got  %v\nwant %v", got, tc.want)
			}
		})
	}
	// In an account without special-use mailboxes, the migration creates
	// them with the source's special-use.
	plan := Plan([]SourceMailbox{mb("Sent Items", `\Sent`), mb("Spam", "")}, []store.Mailbox{{Name: "INBOX"}})
	if plan[0].Target != "Sent Items" || plan[0].TargetSpecialUse != `\Sent` || plan[1].Target != "Spam" || plan[1].TargetSpecialUse != `\Junk` {
		t.Errorf("plan into a bare account: %+v", plan)
	}
}

func TestMatch(t *testing.T) {
	d := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	seen := store.Flags{Sys: store.FlagSeen}
	src := []SourceMessage{
		{UID: 1, Size: 100, InternalDate: d},
		{UID: 2, Size: 100, InternalDate: d, Flags: seen}, // same key as 1
		{UID: 3, Size: 200, InternalDate: d},
		{UID: 4, Size: 300, InternalDate: d},                // missing
		{UID: 5, Size: 400, InternalDate: d.Add(time.Hour)}, // key collision with a foreign message
		{UID: 6, Size: 400, InternalDate: d.Add(time.Hour)},
	}
	tgt := []TargetMessage{
		{UID: 10, Size: 100, InternalDate: d, Flags: seen, Blob: "b1"},
		{UID: 11, Size: 100, InternalDate: d, Blob: "b1"},
		{UID: 12, Size: 200, InternalDate: d.In(time.FixedZone("", 3600)), Blob: "b3"},
		{UID: 13, Size: 400, InternalDate: d.Add(time.Hour), Blob: "b5"},
	}
	pairs, fetch, m := Match(src, tgt)
	got := map[uint32]store.UID{}
	for _, p := range pairs {
		got[p.Source.UID] = p.Target.UID
	}
	if len(pairs) != 3 || got[1] != 11 || got[2] != 10 || got[3] != 12 {
		t.Errorf("pairs %v, want 1-11, 2-10 (same flags first), 3-12", got)
	}
	var fu []uint32
	for _, f := range fetch {
		fu = append(fu, f.UID)
	}
	if fmt.Sprint(fu) != "[4 5 6]" {
		t.Errorf("fetch %v, want [4 5 6]", fu)
	}
	// By content: 5 is the target's 13, 6 (same content) is not there a
	// second time, 4 is new; a paired target message is not claimed.
	if p, ok := m.Claim(fetch[1], "b5"); !ok || p.Target.UID != 13 {
		t.Errorf("claim 5: %v %v", p, ok)
	}
	if _, ok := m.Claim(fetch[2], "b5"); ok {
		t.Errorf("claim 6 succeeded: one target message counted twice")
	}
	if _, ok := m.Claim(fetch[0], "b1"); ok {
		t.Errorf("claim 4 with a paired message's content succeeded")
	}
}

func TestFlagsFromIMAP(t *testing.T) {
	f := FlagsFromIMAP([]string{`\Seen`, `\RECENT`, `\Draft`, `$Label1`, `$label1`, `\Unknown`, `kw`, `bad kw`})
	if f.Sys != store.FlagSeen|store.FlagDraft || fmt.Sprint(f.Keywords) != "[$Label1 kw]" {
		t.Errorf("got %+v", f)
	}
}

func TestParseURL(t *testing.T) {
	for _, tc := range []struct {
		url       string
		plaintext bool
		addr      string
		sec       Security
		err       bool
	}{
		{"imaps://mail.example.net", false, "mail.example.net:993", TLS, false},
		{"imaps://mail.example.net:10993", false, "mail.example.net:10993", TLS, false},
		{"imap://127.0.0.1", false, "127.0.0.1:143", StartTLS, false},
		{"IMAP://[::1]:1143", true, "[::1]:1143", Plaintext, false},
		{"imaps://user:pw@host", false, "", 0, true},
		{"imaps://host/INBOX", false, "", 0, true},
		{"pop3://host", false, "", 0, true},
		{"imaps://", false, "", 0, true},
	} {
		s, err := ParseURL(tc.url, tc.plaintext)
		if (err != nil) != tc.err || (err == nil && (s.Addr != tc.addr || s.Security != tc.sec)) {
			t.Errorf("ParseURL(%q) = %+v, %v", tc.url, s, err)
		}
		if err != nil && strings.Contains(err.Error(), "pw@") {
			t.Errorf("error shows the password: %v", err)
		}
	}
}
