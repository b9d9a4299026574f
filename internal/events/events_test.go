package events

import (
	"slices"
	"testing"
)

func TestMemoryAccounts(t *testing.T) {
	m := NewMemory()
	if got := m.Accounts(); len(got) != 0 {
		t.Fatalf("no subscribers: Accounts = %v", got)
	}
	a := m.Subscribe(7)
	b := m.Subscribe(3)
	c := m.Subscribe(7)
	if got := m.Accounts(); !slices.Equal(got, []int64{3, 7}) {
		t.Fatalf("Accounts = %v, want [3 7]", got)
	}
	a.Close()
	if got := m.Accounts(); !slices.Equal(got, []int64{3, 7}) {
		t.Fatalf("after one of two subscriptions of 7 closed: Accounts = %v", got)
	}
	c.Close()
	b.Close()
	if got := m.Accounts(); len(got) != 0 {
		t.Fatalf("all closed: Accounts = %v", got)
	}
}
