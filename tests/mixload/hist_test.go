package main

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestBuckets(t *testing.T) {
	prev := -1
	for us := uint64(0); us < 1<<22; us += 1 + us/300 {
		b := bucketOf(us)
		if b < prev {
			t.Fatalf("bucketOf(%d) = %d < %d", us, b, prev)
		}
		prev = b
		if v := bucketValue(b); math.Abs(v-float64(us)) > 0.005*float64(us)+0.5 {
			t.Fatalf("bucketValue(bucketOf(%d)) = %g: more than 0.5%% off", us, v)
		}
	}
	if b := bucketOf(math.MaxUint64); b != histBuckets-1 {
		t.Errorf("bucketOf(max) = %d", b)
	}
}

// TestQuantileAccuracy compares the histogram's quantiles with the exact
// ones of a long-tailed sample (log-normal around 3 ms, with outliers).
func TestQuantileAccuracy(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var h histogram
	var all []float64
	for i := range 200000 {
		ms := math.Exp(math.Log(3) + 1.2*r.NormFloat64())
		if i%1000 == 0 {
			ms *= 100
		}
		d := time.Duration(ms * float64(time.Millisecond)).Truncate(time.Microsecond)
		h.add(d)
		all = append(all, float64(d.Microseconds())/1000)
	}
	slices.Sort(all)
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
		exact := all[int(math.Ceil(q*float64(len(all))))-1]
		got := h.quantile(q)
		if math.Abs(got-exact) > 0.01*exact {
			t.Errorf("p%g = %.4f ms, exact %.4f ms: more than 1%% off", q*100, got, exact)
		}
	}
	if got, want := h.quantile(1), all[len(all)-1]; got != want {
		t.Errorf("p100 = %g, want the maximum %g", got, want)
	}
	var empty histogram
	if empty.quantile(0.99) != 0 || empty.meanMs() != 0 {
		t.Error("empty histogram")
	}
	var m histogram
	m.merge(&h)
	if m.n != h.n || m.quantile(0.99) != h.quantile(0.99) {
		t.Error("merge")
	}
}
