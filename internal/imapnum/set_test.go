package imapnum

import (
	"errors"
	"reflect"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want Set
		err  bool
	}{
		{"1", Set{{1, 1}}, false},
		{"*", Set{{Star, Star}}, false},
		{"1:*", Set{{1, Star}}, false},
		{"4:2", Set{{4, 2}}, false},
		{"*:4", Set{{Star, 4}}, false},
		{"1,3:5,7:*", Set{{1, 1}, {3, 5}, {7, Star}}, false},
		{"4294967295", Set{{4294967295, 4294967295}}, false},
		{"4294967296", nil, true},
		{"99999999999999999999", nil, true},
		{"0", nil, true},
		{"0:5", nil, true},
		{"01", nil, true},
		{"", nil, true},
		{",", nil, true},
		{"1,", nil, true},
		{",1", nil, true},
		{"1:", nil, true},
		{":1", nil, true},
		{"1:2:3", nil, true},
		{"a", nil, true},
		{"1 2", nil, true},
		{"-1", nil, true},
		{"**", nil, true},
		{"$", nil, true},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if tt.err {
			if err == nil || !errors.Is(err, ErrSyntax) {
				t.Errorf("Parse(%q) = %v, %v; want ErrSyntax", tt.in, got, err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Parse(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestString(t *testing.T) {
	for _, s := range []string{"1", "*", "1:*", "4:2", "1,3:5,7:*", "4294967295"} {
		set, err := Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := set.String(); got != s {
			t.Errorf("String() = %q, want %q", got, s)
		}
	}
	if got := Set(nil).String(); got != "" {
		t.Errorf("empty String() = %q", got)
	}
}

func TestResolve(t *testing.T) {
	tests := []struct {
		in   string
		max  uint32
		want Set
	}{
		{"1:*", 10, Set{{1, 10}}},
		{"5:*", 3, Set{{3, 5}}},
		{"*", 7, Set{{7, 7}}},
		{"*:2", 7, Set{{2, 7}}},
		{"4:2,9", 10, Set{{2, 4}, {9, 9}}},
		{"1:*", 0, Set{{0, 1}}},
	}
	for _, tt := range tests {
		set, err := Parse(tt.in)
		if err != nil {
			t.Fatal(err)
		}
		got := set.Resolve(tt.max)
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Parse(%q).Resolve(%d) = %v, want %v", tt.in, tt.max, got, tt.want)
		}
		if got.Dynamic() && tt.max != 0 {
			t.Errorf("resolved %v still dynamic", got)
		}
	}
}

func TestContains(t *testing.T) {
	set, _ := Parse("2:4,7,10:*")
	r := set.Resolve(12)
	for n, want := range map[uint32]bool{0: false, 1: false, 2: true, 4: true, 5: false, 7: true, 9: false, 10: true, 12: true, 13: false} {
		if got := r.Contains(n); got != want {
			t.Errorf("Contains(%d) = %v, want %v", n, got, want)
		}
	}
	if (Set{{Star, Star}}).Contains(0) {
		t.Error("unresolved star matched 0")
	}
}

func TestDynamic(t *testing.T) {
	for s, want := range map[string]bool{"1": false, "1:2,5": false, "*": true, "1:*": true, "3,*:9": true} {
		set, _ := Parse(s)
		if set.Dynamic() != want {
			t.Errorf("Dynamic(%q) = %v", s, !want)
		}
	}
}

func TestCompact(t *testing.T) {
	tests := []struct {
		in   []uint32
		want string
	}{
		{nil, ""},
		{[]uint32{5}, "5"},
		{[]uint32{1, 2, 3, 7}, "1:3,7"},
		{[]uint32{1, 2, 3, 7, 8, 10}, "1:3,7:8,10"},
		{[]uint32{1, 1, 2}, "1:2"},
		{[]uint32{4294967294, 4294967295}, "4294967294:4294967295"},
		{[]uint32{9, 3, 4}, "9,3:4"},
	}
	for _, tt := range tests {
		if got := Compact(tt.in).String(); got != tt.want {
			t.Errorf("Compact(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestNormalize(t *testing.T) {
	for _, tt := range []struct{ in, want Range }{
		{Range{4, 2}, Range{2, 4}},
		{Range{2, 4}, Range{2, 4}},
		{Range{Star, 3}, Range{3, Star}},
		{Range{3, Star}, Range{3, Star}},
	} {
		if got := tt.in.Normalize(); got != tt.want {
			t.Errorf("%v.Normalize() = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"1", "1:*", "4:2,7", "*", "1,2,3:5", "0", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		set, err := Parse(s)
		if err != nil {
			return
		}
		again, err := Parse(set.String())
		if err != nil || !reflect.DeepEqual(again, set) {
			t.Fatalf("round trip %q -> %q: %v", s, set.String(), err)
		}
		r := set.Resolve(100)
		for _, rg := range r {
			if rg.Start > rg.Stop {
				t.Fatalf("unnormalized %v", rg)
			}
		}
	})
}
