package main

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestParseWeightsDefault(t *testing.T) {
	w, err := parseWeights(defaultWeights)
	if err != nil {
		t.Fatal(err)
	}
	want := weights{opFetchHdr: 30, opFetchBody: 10, opStore: 15, opExpunge: 3, opAppend: 10, opList: 5, opStatus: 10, opIdle: 5, opSearch: 5, opNoop: 2, opRelogin: 5}
	if w != want {
		t.Errorf("got %v, want %v", w, want)
	}
	if w.String() != defaultWeights {
		t.Errorf("String = %q, want %q", w.String(), defaultWeights)
	}
	total := 0
	for _, n := range w {
		total += n
	}
	if total != 100 {
		t.Errorf("default weights sum to %d, want 100 (percentages)", total)
	}
}

func TestParseWeights(t *testing.T) {
	w, err := parseWeights(" FetchHdr = 3 , noop=0,, relogin=1 ")
	if err != nil {
		t.Fatal(err)
	}
	if (w != weights{opFetchHdr: 3, opRelogin: 1}) {
		t.Errorf("got %v", w)
	}
	if w.String() != "fetchhdr=3,relogin=1" {
		t.Errorf("String = %q", w.String())
	}
	for _, bad := range []string{
		"", "noop=0", "fetch=3", "noop", "noop=-1", "noop=x", "noop=1.5", "noop=1,noop=2", "login=1", "trim=1", "noop=99999999999",
	} {
		if _, err := parseWeights(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestWeightsPick(t *testing.T) {
	w, _ := parseWeights("fetchhdr=60,store=30,noop=10")
	r := rand.New(rand.NewPCG(1, 2))
	var got [numOps]int
	const n = 100000
	for range n {
		got[w.pick(r)]++
	}
	for op, want := range w {
		frac := float64(got[op]) / n
		if math.Abs(frac-float64(want)/100) > 0.01 {
			t.Errorf("%s chosen %.3f of the time, want %.2f", rowNames[op], frac, float64(want)/100)
		}
	}
}
