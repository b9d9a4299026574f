package main

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
)

// The operations a client chooses from, in report order.
const (
	opFetchHdr = iota
	opFetchBody
	opStore
	opExpunge
	opAppend
	opList
	opStatus
	opIdle
	opSearch
	opNoop
	opRelogin
	numOps
)

// Rows of the report that are not chosen by weight: every LOGIN command
// (initial, relogin, reconnect), and the expunges that keep mailboxes
// under -max-messages.
const (
	rowLogin = numOps + iota
	rowTrim
	numRows
)

var rowNames = [numRows]string{
	opFetchHdr:  "fetchhdr",
	opFetchBody: "fetchbody",
	opStore:     "store",
	opExpunge:   "expunge",
	opAppend:    "append",
	opList:      "list",
	opStatus:    "status",
	opIdle:      "idle",
	opSearch:    "search",
	opNoop:      "noop",
	opRelogin:   "relogin",
	rowLogin:    "login",
	rowTrim:     "trim",
}

// defaultWeights: most of what real clients do is looking at the newest
// headers and flags and changing flags (reading, starring); bodies are
// fetched when a message is opened; some mail is sent or moved in (APPEND),
// some deleted; folder lists and unread counts are refreshed; phones
// drop and re-establish their connection often (relogin).
const defaultWeights = "fetchhdr=30,fetchbody=10,store=15,expunge=3,append=10,list=5,status=10,idle=5,search=5,noop=2,relogin=5"

// weights are per-operation weights; an operation is chosen with
// probability weight/total.
type weights [numOps]int

// parseWeights parses "name=w,name=w,…". Operations not named get weight
// 0; names are those of rowNames (case-insensitive); each at most once;
// weights are integers ≥ 0 and at least one must be positive.
func parseWeights(s string) (weights, error) {
	var w weights
	seen := map[int]bool{}
	total := 0
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		name, val, ok := strings.Cut(item, "=")
		if !ok {
			return w, fmt.Errorf("weights: %q is not name=weight", item)
		}
		name = strings.ToLower(strings.TrimSpace(name))
		op := -1
		for i := range numOps {
			if rowNames[i] == name {
				op = i
			}
		}
		if op < 0 {
			return w, fmt.Errorf("weights: unknown operation %q (known: %s)", name, strings.Join(rowNames[:numOps], ", "))
		}
		if seen[op] {
			return w, fmt.Errorf("weights: %s given twice", name)
		}
		seen[op] = true
		n, err := strconv.Atoi(strings.TrimSpace(val))
		if err != nil || n < 0 || n > 1_000_000 {
			return w, fmt.Errorf("weights: %s: weight %q is not an integer 0..1000000", name, val)
		}
		w[op] = n
		total += n
	}
	if total == 0 {
		return w, fmt.Errorf("weights: %q: no operation has a positive weight", s)
	}
	return w, nil
}

func (w weights) String() string {
	var parts []string
	for i, n := range w {
		if n > 0 {
			parts = append(parts, rowNames[i]+"="+strconv.Itoa(n))
		}
	}
	return strings.Join(parts, ",")
}

// pick chooses an operation with probability weight/total.
func (w weights) pick(r *rand.Rand) int {
	total := 0
	for _, n := range w {
		total += n
	}
	x := r.IntN(total)
	for i, n := range w {
		if x < n {
			return i
		}
		x -= n
	}
	return opNoop // unreachable: total > 0
}
