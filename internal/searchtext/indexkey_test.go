package searchtext

import (
	"reflect"
	"testing"
	"time"

	"rookery/internal/imapnum"
	"rookery/internal/search"
	"rookery/internal/store"
)

func TestIndexKey(t *testing.T) {
	uids := imapnum.Set{{Start: 2, Stop: 5}}
	tests := []struct {
		in   search.Key
		want store.IndexKey
	}{
		{search.All(), store.IndexKey{}},
		{search.Flag(store.FlagSeen), store.IndexKey{Op: store.IndexFlag, Flag: store.FlagSeen}},
		{search.Keyword("$Work"), store.IndexKey{Op: store.IndexKeyword, Value: "$Work"}},
		{search.Key{Op: search.OpUID, Set: uids}, store.IndexKey{Op: store.IndexUID, UIDs: uids}},
		{search.Key{Op: search.OpLarger, N: 7}, store.IndexKey{Op: store.IndexLarger, N: 7}},
		{search.Key{Op: search.OpSmaller, N: 7}, store.IndexKey{Op: store.IndexSmaller, N: 7}},
		{search.Key{Op: search.OpModSeq, N: 9}, store.IndexKey{Op: store.IndexModSeq, N: 9}},
		{search.Key{Op: search.OpSince, Date: time.Unix(0, 0)}, store.IndexKey{}},
		// Needles: folded, in their field's part of the text.
		{search.Header("SUBJECT", "Straße"), store.IndexKey{Op: store.IndexNeedle, Field: store.TextSubject, Value: IndexFold("Straße")}},
		{search.Header("X-Label", "work"), store.IndexKey{Op: store.IndexNeedle, Field: store.TextOther, Value: "WORK"}},
		{search.Header("Cc", "ann"), store.IndexKey{Op: store.IndexNeedle, Field: store.TextCc, Value: "ANN"}},
		{search.Address("From", "ann"), store.IndexKey{Op: store.IndexNeedle, Field: store.TextFrom, Value: "ANN", MinVersion: AddressVersion}},
		{search.Address("bcc", "ann"), store.IndexKey{Op: store.IndexNeedle, Field: store.TextBcc, Value: "ANN", MinVersion: AddressVersion}},
		{search.Key{Op: search.OpBody, Value: "quarterly"}, store.IndexKey{Op: store.IndexNeedle, Field: store.TextBody, Value: "QUARTERLY"}},
		{search.Key{Op: search.OpText, Value: "quarterly"}, store.IndexKey{Op: store.IndexNeedle, Field: store.TextAll, Value: "QUARTERLY"}},
		// What the index cannot restrict.
		{search.Key{Op: search.OpBody, Value: "ab"}, store.IndexKey{}},
		{search.Key{Op: search.OpBody, Value: "ab\r\ncd"}, store.IndexKey{}},
		{search.Header("Subject", ""), store.IndexKey{}},
		{search.And(search.Not(search.Flag(store.FlagSeen)), search.Or(search.Key{Op: search.OpText, Value: "abc"}, search.Key{Op: search.OpSeq})),
			store.IndexKey{Op: store.IndexAnd, Sub: []store.IndexKey{
				{Op: store.IndexNot, Sub: []store.IndexKey{{Op: store.IndexFlag, Flag: store.FlagSeen}}},
				{Op: store.IndexOr, Sub: []store.IndexKey{{Op: store.IndexNeedle, Value: "ABC"}, {}}},
			}}},
	}
	for _, tt := range tests {
		if got := IndexKey(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("IndexKey(%v) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}
