package imapcmd

import (
	"time"

	"rookery/internal/imapnum"
)

// Search is [UID] SEARCH [RETURN (options)] [CHARSET name] keys
// (RFC 9051 §6.4.4, RFC 3501 §6.4.4, ESEARCH RFC 4731).
type Search struct {
	// Charset is the CHARSET argument as sent, "" if absent. The server
	// decides whether it supports it (BADCHARSET otherwise).
	Charset string
	// Return holds the RETURN options; nil when RETURN was absent (the
	// server answers with an untagged SEARCH, or ESEARCH under IMAP4rev2).
	Return *SearchReturn
	// Key is the search program: one key, or an AND of several.
	Key SearchKey
}

// SearchReturn is the ESEARCH RETURN (...) option list (RFC 4731, RFC 9051
// §6.4.4, SAVE from RFC 5182). An empty list "RETURN ()" sets All.
type SearchReturn struct {
	Min, Max, All, Count, Save bool
}

// Sort is [UID] SORT [RETURN (options)] (criteria) charset keys (RFC 5256,
// ESORT RFC 5267).
type Sort struct {
	Return   *SearchReturn // ESORT, nil if absent
	Criteria []SortCriterion
	Charset  string // mandatory in SORT; as sent
	Key      SearchKey
}

// Sort keys (RFC 5256 §3, DISPLAYFROM/DISPLAYTO from RFC 5957).
const (
	SortArrival     = "ARRIVAL"
	SortCc          = "CC"
	SortDate        = "DATE"
	SortFrom        = "FROM"
	SortSize        = "SIZE"
	SortSubject     = "SUBJECT"
	SortTo          = "TO"
	SortDisplayFrom = "DISPLAYFROM"
	SortDisplayTo   = "DISPLAYTO"
)

// SortCriterion is one sort-criterion: ["REVERSE" SP] sort-key.
type SortCriterion struct {
	Key     string // one of the Sort* constants
	Reverse bool
}

// Thread is [UID] THREAD algorithm charset keys (RFC 5256).
type Thread struct {
	// Algorithm is upper-cased as sent (ORDEREDSUBJECT, REFERENCES or an
	// extension atom): the server rejects the ones it does not advertise.
	Algorithm string
	Charset   string // as sent
	Key       SearchKey
}

// SearchKey is one node of a search-key tree. Name is the upper-case key
// name of RFC 9051 / RFC 3501 ("ALL", "SEEN", "FROM", "OR", ...), or one of
// the two names that have no keyword of their own:
//
//   - SearchAnd: a parenthesised group or a list of top-level keys (Sub
//     holds two or more keys; a group of one key is that key).
//   - SearchSeqSet: a bare sequence set (Set, or Saved for "$").
//
// The fields that are set depend on Name:
//
//	AND, OR (two), NOT (one)             Sub
//	seq set, UID                         Set, or Saved for "$" (RFC 5182)
//	BCC CC FROM SUBJECT TO BODY TEXT     Value
//	HEADER                               Field, Value ("" = field exists)
//	KEYWORD UNKEYWORD                    Value (the keyword as sent)
//	BEFORE ON SINCE SENT* SAVED*         Date (midnight UTC of the date)
//	LARGER SMALLER                       Number
//	OLDER YOUNGER                        Number (seconds, RFC 5032)
//	MODSEQ                               Number, ModSeqEntry, ModSeqType
//
// Keys without arguments (ALL, ANSWERED, DELETED, DRAFT, FLAGGED, NEW,
// OLD, RECENT, SEEN, UNANSWERED, UNDELETED, UNDRAFT, UNFLAGGED, UNSEEN,
// SAVEDATESUPPORTED) keep their name and nothing else. The parser keeps
// the syntax: NEW stays NEW rather than becoming RECENT UNSEEN.
type SearchKey struct {
	Name  string
	Sub   []SearchKey
	Set   imapnum.Set
	Saved bool
	Field string
	Value string
	Date  time.Time
	// Number is a size (LARGER/SMALLER), an interval in seconds
	// (OLDER/YOUNGER) or a mod-sequence (MODSEQ).
	Number uint64
	// ModSeqEntry is the MODSEQ entry name (`/flags/\Seen`, system flags in
	// canonical case), "" if absent; ModSeqType is then "PRIV", "SHARED"
	// or "ALL".
	ModSeqEntry string
	ModSeqType  string
}

// Names of search-key nodes that have no IMAP keyword.
const (
	SearchAnd    = "AND"
	SearchSeqSet = "SEQSET"
)
