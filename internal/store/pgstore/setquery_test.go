package pgstore

import (
	"slices"
	"strings"
	"testing"

	"rookery/internal/imapnum"
)

// TestSetQuery: a UID set is read as one range, as a list of UIDs (so
// that the planner probes the keys instead of scanning the mailbox), or,
// when it is large, as a join with its ranges.
func TestSetQuery(t *testing.T) {
	tests := []struct {
		name string
		set  imapnum.Set
		want string // in the SQL
		args []any  // after the mailbox
	}{
		{"one range", imapnum.Set{{Start: 1, Stop: 100000}}, "m.uid BETWEEN $2 AND $3", []any{int64(1), int64(100000)}},
		{"star", imapnum.Set{{Start: 7, Stop: 0}}, "m.uid BETWEEN $2 AND $3", []any{int64(7), int64(^uint32(0))}},
		{"a few", imapnum.Set{{Start: 10, Stop: 10}, {Start: 88888, Stop: 88888}, {Start: 500, Stop: 502}}, "m.uid = ANY($2::bigint[])",
			[]any{[]int64{10, 500, 501, 502, 88888}}},
		{"at the limit", imapnum.Set{{Start: 1, Stop: anyLimit - 1}, {Start: anyLimit + 5, Stop: anyLimit + 5}}, "m.uid = ANY($2::bigint[])", nil},
		{"many", imapnum.Set{{Start: 1, Stop: anyLimit}, {Start: anyLimit + 5, Stop: anyLimit + 5}}, "unnest($2::bigint[], $3::bigint[])",
			[]any{[]int64{1, anyLimit + 5}, []int64{anyLimit, anyLimit + 5}}},
		{"huge spans", imapnum.Set{{Start: 1, Stop: 3}, {Start: 5, Stop: 0}}, "unnest($2::bigint[], $3::bigint[])", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sql, args, ok := setQuery(42, tt.set, "m.uid", "", "")
			if !ok {
				t.Fatal("no query")
			}
			if !strings.Contains(sql, tt.want) {
				t.Errorf("sql %q does not hold %q", sql, tt.want)
			}
			if args[0] != int64(42) {
				t.Errorf("mailbox argument %v", args[0])
			}
			if tt.args != nil && !argsEqual(args[1:], tt.args) {
				t.Errorf("arguments %v, want %v", args[1:], tt.args)
			}
		})
	}
	if _, _, ok := setQuery(42, nil, "m.uid", "", ""); ok {
		t.Error("a query for an empty set")
	}
}

func argsEqual(a, b []any) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, xs := a[i].([]int64)
		y, ys := b[i].([]int64)
		switch {
		case xs != ys:
			return false
		case xs && !slices.Equal(x, y):
			return false
		case !xs && a[i] != b[i]:
			return false
		}
	}
	return true
}
