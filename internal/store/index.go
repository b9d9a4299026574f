package store

import (
	"context"

	"rookery/internal/imapnum"
)

// IndexOp is the kind of an IndexKey node.
type IndexOp uint8

// Index key operations. The comment says which IndexKey fields the
// operation uses.
const (
	// IndexAll matches every message. It is also what stands for a
	// condition the index cannot restrict (a date, a short needle): the
	// caller tests those itself.
	IndexAll     IndexOp = iota
	IndexAnd             // Sub: every key matches (an empty And matches all)
	IndexOr              // Sub: some key matches (an empty Or matches none)
	IndexNot             // Sub[0] does not match; only above exact keys
	IndexFlag            // Flag: the system flag is set
	IndexKeyword         // Value: the keyword is set (ASCII case-insensitive)
	IndexUID             // UIDs: the UID is in the set (no Star)
	IndexLarger          // N: the size is > N
	IndexSmaller         // N: the size is < N
	IndexModSeq          // N: the mod-sequence is >= N
	// IndexNeedle: the part Field of the message content's IndexText
	// contains Value as a substring. Value is folded as the texts given
	// to the store are (the caller folds both alike), so a plain
	// substring test answers it. A prefilter: see SearchIndex.
	IndexNeedle
)

// TextField names the part of an IndexText that an IndexNeedle key
// searches.
type TextField uint8

// Text fields.
const (
	TextAll     TextField = iota // every field: the header fields and the body
	TextFrom                     // IndexText.From
	TextTo                       // IndexText.To
	TextCc                       // IndexText.Cc
	TextBcc                      // IndexText.Bcc
	TextSubject                  // IndexText.Subject
	TextOther                    // IndexText.Other
	TextBody                     // IndexText.Body
)

// IndexKey is a node of the query a SearchIndex answers: exact
// conditions on message metadata and substring prefilters on the index
// text, combined with And, Or and Not. The zero IndexKey matches every
// message.
type IndexKey struct {
	Op    IndexOp
	Sub   []IndexKey
	Flag  SysFlags    // IndexFlag: exactly one flag bit
	Value string      // IndexKeyword, IndexNeedle
	UIDs  imapnum.Set // IndexUID
	N     uint64      // IndexLarger, IndexSmaller, IndexModSeq
	Field TextField   // IndexNeedle
	// MinVersion (IndexNeedle) is the oldest IndexText.Version whose text
	// can answer the key: a message whose text is of an older version is
	// a candidate whatever its text holds.
	MinVersion int
}

// SearchIndex is the search index of a backend: it answers the index
// part of a search (package search plans it, and searchtext.IndexKey
// turns it into an IndexKey) and reads what SORT and THREAD need without
// opening messages. The server uses it when the store has it and
// evaluates every message otherwise; every backend implements it, and
// storetest checks it.
type SearchIndex interface {
	// SearchCandidates returns, in ascending order, the UIDs of a
	// superset of the messages of mbox that match k: exactly those for
	// every operation but IndexNeedle, any superset for IndexNeedle
	// keys. A message whose text the index does not hold (none was
	// given, or it is not indexed yet: see Store.WaitIndexed) is a
	// candidate for every IndexNeedle key, so a message appended a
	// moment ago is found.
	// Once its text is indexed, a Value of at least 3 runes restricts:
	// the message is returned only if its text contains Value (or is
	// older than MinVersion).
	SearchCandidates(ctx context.Context, mbox MailboxID, k IndexKey) ([]UID, error)
	// SortFields calls fn for each message of mbox in uids (no Star), in
	// UID order, with the stored SortFields of its content that want
	// names (nil when the content has no index text). Without SortMeta
	// only the UID, internal date (an instant: its zone may be lost) and
	// size of the message are set.
	SortFields(ctx context.Context, mbox MailboxID, uids imapnum.Set, want SortWant, fn func(Message, *SortFields) error) error
}
