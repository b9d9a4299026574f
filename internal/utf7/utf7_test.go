package utf7

import (
	"testing"
	"unicode/utf8"
)

func TestEncodeDecode(t *testing.T) {
	tests := []struct{ dec, enc string }{
		{"", ""},
		{"INBOX", "INBOX"},
		{"A&B", "A&-B"},
		{"&", "&-"},
		{"&&", "&-&-"},
		{"Entwürfe", "Entw&APw-rfe"},
		{"~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"},
		{"☺!", "&Jjo-!"},
		{"Gesendete Objekte", "Gesendete Objekte"},
		{"Отправленные", "&BB4EQgQ,BEAEMAQyBDsENQQ9BD0ESwQ1-"},
		{"😀", "&2D3eAA-"},
		{"a\tb", "a&AAk-b"},
		{"\x7f", "&AH8-"},
		{"é&é", "&AOk-&-&AOk-"},
	}
	for _, tt := range tests {
		if got := Encode(tt.dec); got != tt.enc {
			t.Errorf("Encode(%q) = %q, want %q", tt.dec, got, tt.enc)
		}
		got, err := Decode(tt.enc)
		if err != nil || got != tt.dec {
			t.Errorf("Decode(%q) = %q, %v, want %q", tt.enc, got, err, tt.dec)
		}
	}
}

func TestDecodeInvalid(t *testing.T) {
	for _, s := range []string{
		"&",          // unterminated
		"&AOk",       // unterminated
		"Entw&APw",   // unterminated
		"&AOk!-",     // bad base64 char
		"&AO/-",      // "/" is not modified base64
		"&AOk=-",     // padding
		"&AGE-",      // "a" encoded
		"&ACY-",      // "&" encoded
		"&AOk-&AOk-", // adjacent runs
		"&AOl-",      // non-zero padding bits
		"&AOkA-",     // 6 extra bits
		"&2D0-",      // lone high surrogate
		"&3gA-",      // lone low surrogate
		"&2D3YPQ-",   // high followed by high
		"Entwürfe",   // raw non-ASCII
		"a\x00b",     // control
		"a\nb",       // control
		"\x7f",       // DEL
		"&A-",        // too short
	} {
		if got, err := Decode(s); err == nil {
			t.Errorf("Decode(%q) = %q, want error", s, got)
		}
	}
}

func FuzzRoundTrip(f *testing.F) {
	for _, s := range []string{"INBOX", "Entwürfe", "&", "a&b", "台北", "😀x", "&U,BTFw-", "&-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if utf8.ValidString(s) {
			enc := Encode(s)
			dec, err := Decode(enc)
			if err != nil || dec != s {
				t.Fatalf("Decode(Encode(%q)) = %q, %v (enc %q)", s, dec, err, enc)
			}
			for i := 0; i < len(enc); i++ {
				if enc[i] < 0x20 || enc[i] > 0x7e {
					t.Fatalf("Encode(%q) = %q: not printable ASCII", s, enc)
				}
			}
		}
		// Whatever decodes must re-encode to the same text (canonical form).
		if dec, err := Decode(s); err == nil {
			if enc := Encode(dec); enc != s {
				t.Fatalf("Encode(Decode(%q)) = %q", s, enc)
			}
		}
	})
}
