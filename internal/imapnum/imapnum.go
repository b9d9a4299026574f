// Package imapnum holds IMAP number sets (RFC 9051 sequence-set) used for
// both message sequence numbers and UIDs.
//
// A Set is a list of ranges as the client sent them; Star (0) stands for "*",
// the largest number in use. Before a Set reaches the store, the server resolves
// Star with Resolve so that the store only sees concrete numbers.
package imapnum

// Star is the value that stands for "*" in a Range.
const Star uint32 = 0

// Range is an inclusive range of numbers. Start may be greater than Stop as
// sent by the client ("4:2" means 2:4); Normalize orders it.
type Range struct {
	Start, Stop uint32
}

// Set is a list of ranges.
type Set []Range
