package searchtext

import (
	"strings"
	"unicode/utf8"

	"rookery/internal/search"
	"rookery/internal/store"
)

// AddressVersion is the first Version whose From, To, Cc and Bcc text
// holds the address text that the FROM, TO, CC and BCC keys search
// (search.OpAddress): an older text cannot answer them.
const AddressVersion = 2

// IndexKey turns the Index part of a search plan (search.Plan) into the
// query a store's index answers (store.SearchIndex), in the terms of the
// text Extract gives the store: needles folded with IndexFold, header
// and address keys in their field's part of the text (Other for fields
// without a part of their own), BODY in the body, TEXT in every part.
// What the index cannot restrict becomes store.IndexAll: date
// prefilters, and needles shorter than search.MinIndexedNeedle or with
// a line break (the text is split into lines at fields and parts). The
// residual evaluation stays exact either way.
func IndexKey(k search.Key) store.IndexKey {
	switch k.Op {
	case search.OpAnd, search.OpOr, search.OpNot:
		op := store.IndexAnd
		switch k.Op {
		case search.OpOr:
			op = store.IndexOr
		case search.OpNot:
			op = store.IndexNot
		}
		sub := make([]store.IndexKey, len(k.Sub))
		for i, c := range k.Sub {
			sub[i] = IndexKey(c)
		}
		return store.IndexKey{Op: op, Sub: sub}
	case search.OpFlag:
		return store.IndexKey{Op: store.IndexFlag, Flag: k.Flag}
	case search.OpKeyword:
		return store.IndexKey{Op: store.IndexKeyword, Value: k.Value}
	case search.OpUID:
		return store.IndexKey{Op: store.IndexUID, UIDs: k.Set}
	case search.OpLarger:
		return store.IndexKey{Op: store.IndexLarger, N: k.N}
	case search.OpSmaller:
		return store.IndexKey{Op: store.IndexSmaller, N: k.N}
	case search.OpModSeq:
		return store.IndexKey{Op: store.IndexModSeq, N: k.N}
	case search.OpHeader, search.OpAddress, search.OpBody, search.OpText:
		if utf8.RuneCountInString(k.Value) < search.MinIndexedNeedle || strings.ContainsAny(k.Value, "\r\n") {
			return store.IndexKey{}
		}
		ik := store.IndexKey{Op: store.IndexNeedle, Value: IndexFold(k.Value), Field: textField(k)}
		if k.Op == search.OpAddress {
			ik.MinVersion = AddressVersion
		}
		return ik
	}
	return store.IndexKey{} // date prefilters and the rest: not restricted
}

// textField is the part of the text Extract gives a text key's field.
func textField(k search.Key) store.TextField {
	switch k.Op {
	case search.OpBody:
		return store.TextBody
	case search.OpText:
		return store.TextAll
	}
	switch strings.ToLower(k.Field) {
	case "from":
		return store.TextFrom
	case "to":
		return store.TextTo
	case "cc":
		return store.TextCc
	case "bcc":
		return store.TextBcc
	case "subject":
		return store.TextSubject
	}
	return store.TextOther
}
