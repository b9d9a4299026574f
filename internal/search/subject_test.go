package search

import "testing"

func TestBaseSubject(t *testing.T) {
	tests := []struct {
		in    string
		base  string
		reply bool
	}{
		{"", "", false},
		{"hello", "hello", false},
		{"Re: hello", "hello", true},
		{"RE: Re: re: hello", "hello", true},
		{"Re:hello", "hello", true},
		{"Fwd: hello", "hello", true},
		{"FW: hello", "hello", true},
		{"fw:fwd:re: hello", "hello", true},
		{"Re[2]: hello", "hello", true},
		{"Re [2]: hello", "hello", true},
		{"Re  :  hello", "hello", true},
		{"Ref: hello", "Ref: hello", false},
		{"Regarding: hello", "Regarding: hello", false},
		{"[list] Re: hello", "hello", true},
		{"[list] hello", "hello", false},
		{"[a] [b] hello", "hello", false},
		{"[list]", "[list]", false},
		{"[list]   ", "[list]", false},
		{"[a] [b]", "[b]", false},
		{"[PATCH v2] Re: [PATCH] fix", "fix", true},
		{"[unclosed hello", "[unclosed hello", false},
		{"hello (fwd)", "hello", true},
		{"hello (FWD) (fwd)  ", "hello", true},
		{"hello(fwd)", "hello", true},
		{"[Fwd: hello]", "hello", true},
		{"[fwd: Re: hello]", "hello", true},
		{"Re: [fwd: hello] (fwd)", "hello", true},
		{"[fwd: [fwd: x]]", "x", true},
		{"[fwd: hello", "[fwd: hello", false},
		{"  hello   world\t!\r\n more", "hello world ! more", false},
		{"Re: ", "", true},
		{"re:re:", "", true},
		{"Fwd:Re: [x] Re: Fwd: y", "y", true},
		{"Re: Jörg's café", "Jörg's café", true},
		{"AW: hello", "AW: hello", false}, // only Re, Fw and Fwd are markers
	}
	for _, tt := range tests {
		base, reply := BaseSubject(tt.in)
		if base != tt.base || reply != tt.reply {
			t.Errorf("BaseSubject(%q) = %q, %v; want %q, %v", tt.in, base, reply, tt.base, tt.reply)
		}
		// The base subject is a fixed point.
		if again, _ := BaseSubject(base); again != base {
			t.Errorf("BaseSubject(%q) = %q, but BaseSubject of that = %q", tt.in, base, again)
		}
	}
}

func TestFold(t *testing.T) {
	for _, tt := range []struct{ a, b string }{
		{"hello", "HELLO"},
		{"Jörg", "JÖRG"},
		{"σίσυφος", "ΣΊΣΥΦΟΣ"},
		{"\u212Aelvin", "kelvin"},
		{"\u017Fun", "SUN"}, // LATIN SMALL LETTER LONG S
		{"x\xffy", "X\xffY"},
	} {
		if fold(tt.a) != fold(tt.b) {
			t.Errorf("fold(%q) = %q != fold(%q) = %q", tt.a, fold(tt.a), tt.b, fold(tt.b))
		}
	}
	if fold("straße") == fold("STRASSE") {
		t.Error("simple folding must not expand ß")
	}
	if fold("a_b") <= fold("A[B") { // i;ascii-casemap order: "_" sorts after letters
		t.Errorf("fold order: %q <= %q", fold("a_b"), fold("A[B"))
	}
}

func FuzzBaseSubject(f *testing.F) {
	for _, s := range []string{"Re: [x] Fwd: a (fwd)", "[fwd: [fwd: x]]", "[a][b]", "re re: :", "\t\r\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		base, _ := BaseSubject(s)
		if again, _ := BaseSubject(base); again != base {
			t.Fatalf("BaseSubject(%q) = %q, not a fixed point (%q)", s, base, again)
		}
		if len(base) > len(s) {
			t.Fatalf("base subject longer than the subject")
		}
	})
}
