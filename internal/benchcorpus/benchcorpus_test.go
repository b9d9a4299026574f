package benchcorpus

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"testing"
	"time"
)

// The hashes were computed with the generator as it was in
// internal/imapserver/bench_search_test.go before it moved here: the
// recorded benchmark numbers are about exactly these bytes.
func TestMessagePinned(t *testing.T) {
	want := map[int]struct {
		sum  string
		size int
	}{
		0:     {"dd5559f60558b5b1ce0e8b99656f4d24d7254686ccda214c6e3cd93600521174", 2923},
		1:     {"05a223e33b6c36dcfe20e6da7620cb206c0b0ca0956979e26a298dbb29467f51", 34727},
		2:     {"0ed599767eb78ca11b2647427758bfeb4fd38ac40af35dbb0dc4ecf38ae30f3e", 8173},
		4:     {"303cb9aa24074603027794382b489571623de5acdcf8248e22af32cb65f62e6f", 1681},
		5:     {"d0c176aaeb662c08c0457f56784032d8bb546ef4467b482ee491474276037a18", 15406},
		7:     {"3866c9b875796c831d4f1f57c0902ee2c1d5d2af7e20cf368289a7dd044bf8fe", 2792},
		10:    {"348bc81139fc30f20d4927ef30a225198b2d60f0f14dbf2fc8b78f0e8dbdf574", 20054},
		20018: {"0528980bf759458761375a54948e68384955bc3b133c619c0429c07181840cbe", 37065},
		99999: {"2ab8b35f76ad39e06dd9cd69829b22a6b9753c712e09966fd4ab2b8722837cee", 2994},
	}
	for i, w := range want {
		m := Message(i)
		sum := sha256.Sum256(m)
		if got := hex.EncodeToString(sum[:]); got != w.sum || len(m) != w.size {
			t.Errorf("Message(%d): sha256 %s, %d bytes; want %s, %d bytes", i, got, len(m), w.sum, w.size)
		}
	}
	h := sha256.New()
	total := 0
	for i := range 1000 {
		m := Message(i)
		total += len(m)
		h.Write(m)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != "6a52a4c23f862b3c750d93411603aab107093cd60024c8cb77d2bc455ad2d9bd" || total != 9088575 {
		t.Errorf("messages 0..999: sha256 %s, %d bytes; the corpus changed", got, total)
	}
}

func TestRareAndDates(t *testing.T) {
	n := 0
	for i := range DefaultN {
		if Rare(i) {
			n++
		}
	}
	if n != 5 {
		t.Errorf("%d rare messages in %d, want 5", n, DefaultN)
	}
	if !bytes.Contains(Message(7), []byte(RareWord)) || bytes.Contains(Message(8), []byte(RareWord)) {
		t.Error("RareWord not where Rare says")
	}
	for i := range 50 {
		if want := fmt.Sprintf("<user%d@example.org>\r\n", Sender(i)); !bytes.Contains(Message(i), []byte(want)) {
			t.Errorf("Message(%d) has no From address %q", i, want)
		}
	}
	if got, want := InternalDate(4), time.Date(2023, 1, 1, 1, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("InternalDate(4) = %v, want %v", got, want)
	}
}
