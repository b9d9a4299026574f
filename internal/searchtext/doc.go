// Package searchtext extracts the searchable text of a message from its
// content and anatomy: header fields unfolded and RFC 2047-decoded, and
// the body's text parts transfer-decoded and converted to UTF-8. The
// server's residual evaluator and the store's text index use the same
// functions, so the index is a superset of what evaluation finds.
//
// Invariant: the text a store indexes at ingest (Extract) and the text the
// residual evaluator matches (HeaderFields, Addresses, BodyText) come from
// the same functions and the same bound (MaxText), and IndexFold maps
// exactly the simple-case-folding classes the evaluator compares under, so
// an index built from Extract never misses a message evaluation would
// find. Header fields are read by anatomy.EachField and address lists come
// from the anatomy's envelope (anatomy.ParseAddressList), as ENVELOPE's.
// A change of what Extract produces bumps Version.
package searchtext
