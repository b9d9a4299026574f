package main

import (
	"math/bits"
	"time"
)

// histogram counts latencies in microseconds in log-linear buckets: exact
// below 128 µs, then 128 buckets per power of two, so a bucket is at most
// 1/128 of its value wide and its midpoint is within 0.4% of any value in
// it. Memory is fixed (histBuckets counters), whatever the number of
// samples.
type histogram struct {
	counts [histBuckets]uint64
	n      uint64
	sum    uint64 // µs
	max    uint64 // µs, exact
}

const (
	histSub     = 128 // buckets per power of two
	histShift   = 7   // log2(histSub)
	histMaxExp  = 40  // 2^(40+7) µs ≈ 4.5 years: nothing is larger
	histBuckets = histSub + histMaxExp*histSub
)

func bucketOf(us uint64) int {
	if us < histSub {
		return int(us)
	}
	e := bits.Len64(us) - histShift - 1 // us>>e is in [histSub, 2*histSub)
	if e >= histMaxExp {
		return histBuckets - 1
	}
	return histSub + e*histSub + int(us>>e) - histSub
}

// bucketValue is the midpoint of bucket b, in µs.
func bucketValue(b int) float64 {
	if b < histSub {
		return float64(b)
	}
	e := (b - histSub) / histSub
	m := uint64(b-histSub-e*histSub) + histSub
	lo := m << e
	return float64(lo) + float64(uint64(1)<<e)/2 - 0.5
}

func (h *histogram) add(d time.Duration) {
	us := uint64(max(d.Microseconds(), 0))
	h.counts[bucketOf(us)]++
	h.n++
	h.sum += us
	h.max = max(h.max, us)
}

func (h *histogram) merge(o *histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.sum += o.sum
	h.max = max(h.max, o.max)
}

// quantile returns the q-quantile (0 < q ≤ 1) in milliseconds: the value
// of the sample of rank ceil(q·n), to within the bucket width; 0 without
// samples. It never exceeds the exact maximum.
func (h *histogram) quantile(q float64) float64 {
	if h.n == 0 {
		return 0
	}
	rank := uint64(q*float64(h.n) + 0.999999)
	rank = min(max(rank, 1), h.n)
	var seen uint64
	for b, c := range h.counts {
		seen += c
		if seen >= rank {
			return min(bucketValue(b), float64(h.max)) / 1000
		}
	}
	return float64(h.max) / 1000
}

func (h *histogram) meanMs() float64 {
	if h.n == 0 {
		return 0
	}
	return float64(h.sum) / float64(h.n) / 1000
}
