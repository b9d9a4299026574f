package search_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"rookery/internal/search"
)

// synth is a synthetic message's header, served by a switch rather than a
// map so that the benchmarks measure threading and sorting.
type synth struct {
	id, refs, irt, subject, date, from string
}

// syntheticMessages generates n messages in threads: each message starts
// a thread or replies to a random earlier one (References holding the
// whole chain, some truncated, some with only In-Reply-To). With chaos
// set, IDs are reused, referenced IDs are missing and references loop.
func syntheticMessages(n int, seed uint64, chaos bool) []*search.Message {
	r := rand.New(rand.NewPCG(seed, 99))
	base := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	chains := make([][]string, n) // chains[i]: references of message i plus its own ID
	subjects := make([]string, n)
	msgs := make([]*search.Message, n)
	for i := range n {
		s := &synth{id: fmt.Sprintf("<m%d@bench.example>", i)}
		if chaos && r.IntN(10) == 0 {
			s.id = fmt.Sprintf("<m%d@bench.example>", r.IntN(n)) // duplicate or forward reference
		}
		var chain []string
		if i > 0 && r.IntN(4) > 0 {
			p := r.IntN(i)
			if i > 20 && r.IntN(2) == 0 {
				p = i - 1 - r.IntN(20) // recent threads are busier
			}
			chain = append(chain, chains[p]...)
			subjects[i] = "Re: " + subjects[p]
			if chaos && r.IntN(5) == 0 {
				chain = append(chain, fmt.Sprintf("<gone%d@bench.example>", r.IntN(n)))
			}
			if len(chain) > 12 {
				chain = chain[len(chain)-12:] // truncated References
			}
			switch r.IntN(8) {
			case 0:
				s.irt = chain[len(chain)-1]
			default:
				s.refs = join(chain)
			}
		} else {
			subjects[i] = fmt.Sprintf("Topic %d about things", r.IntN(n/3+1))
		}
		s.subject = subjects[i]
		chains[i] = append(chain[:len(chain):len(chain)], s.id)
		sent := base.Add(time.Duration(i)*time.Minute + time.Duration(r.IntN(3600))*time.Second)
		s.date = sent.In(time.FixedZone("", 3600*(r.IntN(25)-12))).Format(time.RFC1123Z)
		s.from = fmt.Sprintf("User %d <user%d@example.org>", r.IntN(500), r.IntN(500))
		m := &search.Message{Seq: uint32(i + 1), UID: uint32(i + 1), InternalDate: sent.Add(time.Minute), Size: int64(r.IntN(100000))}
		m.Header = func(name string) ([]string, error) {
			var v string
			switch name {
			case "Message-ID":
				v = s.id
			case "References":
				v = s.refs
			case "In-Reply-To":
				v = s.irt
			case "Subject":
				v = s.subject
			case "Date":
				v = s.date
			case "From":
				v = s.from
			}
			if v == "" {
				return nil, nil
			}
			return []string{v}, nil
		}
		msgs[i] = m
	}
	return msgs
}

func join(ids []string) string {
	out := ""
	for i, id := range ids {
		if i > 0 {
			out += " "
		}
		out += id
	}
	return out
}

func BenchmarkThreadReferences100k(b *testing.B) {
	msgs := syntheticMessages(100_000, 1, false)
	b.ResetTimer()
	for b.Loop() {
		if _, err := search.ThreadReferences(msgs); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkThreadOrderedSubject100k(b *testing.B) {
	msgs := syntheticMessages(100_000, 1, false)
	b.ResetTimer()
	for b.Loop() {
		if _, err := search.ThreadOrderedSubject(msgs); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSortDate100k(b *testing.B) {
	msgs := syntheticMessages(100_000, 1, false)
	crit := []search.SortCriterion{{Key: search.SortDate}}
	work := make([]*search.Message, len(msgs))
	b.ResetTimer()
	for b.Loop() {
		copy(work, msgs)
		if err := search.Sort(work, crit); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSortSubjectFrom100k(b *testing.B) {
	msgs := syntheticMessages(100_000, 1, false)
	crit := []search.SortCriterion{{Key: search.SortSubject}, {Key: search.SortFrom, Reverse: true}}
	work := make([]*search.Message, len(msgs))
	b.ResetTimer()
	for b.Loop() {
		copy(work, msgs)
		if err := search.Sort(work, crit); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMatch100k(b *testing.B) {
	msgs := syntheticMessages(100_000, 1, false)
	k := search.And(search.Not(search.Key{Op: search.OpSmaller, N: 5000}), search.Or(search.Header("Subject", "topic 12"), search.Header("From", "user7")))
	mt, err := search.Compile(k, search.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		for _, m := range msgs {
			if _, err := mt.Match(m); err != nil {
				b.Fatal(err)
			}
		}
	}
}
