package archive

import "testing"

func TestSpecialUseByName(t *testing.T) {
	for _, tc := range []struct{ name, want string }{
		{"Sent", `\Sent`},
		{"SENT ITEMS", `\Sent`},
		{"Sent Messages", `\Sent`},
		{"INBOX/Sent", `\Sent`},
		{"drafts", `\Drafts`},
		{"Trash", `\Trash`},
		{"Deleted Items", `\Trash`},
		{"Deleted Messages", `\Trash`},
		{"Junk", `\Junk`},
		{"[Gmail]/Spam", `\Junk`},
		{"Archive", `\Archive`},
		{"Archives", `\Archive`},
		{"INBOX", ""},
		{"Sent/2024", ""},
		{"Sentinel", ""},
		{"", ""},
	} {
		if got := SpecialUseByName(tc.name); got != tc.want {
			t.Errorf("SpecialUseByName(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
}
