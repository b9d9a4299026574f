package searchtest

import (
	"math/rand/v2"
	"strings"

	"rookery/internal/anatomy"
)

// Piece is part of a generated header value: text as written, or a
// phrase (a display name, outside quotes) that a renderer may replace by
// RFC 2047 encoded words.
type Piece struct {
	Text   string
	Phrase bool
}

// addressForms lists the syntaxes generated address fields use; each
// appends its pieces and the entries that anatomy.ParseAddressList must
// find (names decoded).
var addressForms = []func(r *rand.Rand, p *[]Piece, want *[]anatomy.Address){
	// Name <local@host>
	func(r *rand.Rand, p *[]Piece, want *[]anatomy.Address) {
		n, l, h := pick(r, names), local(r), pick(r, hosts)
		*p = append(*p, Piece{Text: n, Phrase: true}, Piece{Text: " <" + l + "@" + h + ">"})
		*want = append(*want, anatomy.Address{Name: n, Mailbox: l, Host: h})
	},
	// local@host
	func(r *rand.Rand, p *[]Piece, want *[]anatomy.Address) {
		l, h := local(r), pick(r, hosts)
		*p = append(*p, Piece{Text: l + "@" + h})
		*want = append(*want, anatomy.Address{Mailbox: l, Host: h})
	},
	// local@host (Name): the comment is the display name
	func(r *rand.Rand, p *[]Piece, want *[]anatomy.Address) {
		n, l, h := pick(r, names), local(r), pick(r, hosts)
		*p = append(*p, Piece{Text: l + "@" + h + " ("}, Piece{Text: n, Phrase: true}, Piece{Text: ")"})
		*want = append(*want, anatomy.Address{Name: n, Mailbox: l, Host: h})
	},
	// <local (note) @ (note) host>: comments are no part of the address
	func(r *rand.Rand, p *[]Piece, want *[]anatomy.Address) {
		l, h := local(r), pick(r, hosts)
		*p = append(*p, Piece{Text: "<" + l + " (note)@ (note) " + h + ">"})
		*want = append(*want, anatomy.Address{Mailbox: l, Host: h})
	},
	// "Quoted, Name" <local@host> (ASCII names only: no encoded words in quotes)
	func(r *rand.Rand, p *[]Piece, want *[]anatomy.Address) {
		n, l, h := pick(r, asciiNames), local(r), pick(r, hosts)
		*p = append(*p, Piece{Text: `"` + n + `, x" <` + l + "@" + h + ">"})
		*want = append(*want, anatomy.Address{Name: n + ", x", Mailbox: l, Host: h})
	},
	// <> and a display name alone
	func(r *rand.Rand, p *[]Piece, want *[]anatomy.Address) {
		if r.IntN(2) == 0 {
			*p = append(*p, Piece{Text: "<>"})
			*want = append(*want, anatomy.Address{})
			return
		}
		n := pick(r, asciiNames)
		*p = append(*p, Piece{Text: `"` + n + `"`})
		*want = append(*want, anatomy.Address{Name: n})
	},
}

var asciiNames = []string{"Alice", "bob", "Carol Jones", "dave"}

// local returns a generated local part.
func local(r *rand.Rand) string {
	return strings.ToLower(pick(r, asciiNames)[:2]) + pick(r, []string{"", ".x", "-y"})
}

// addressField generates the value of an address field: one to three
// mailboxes, sometimes in a group (possibly empty).
func addressField(r *rand.Rand) ([]Piece, []anatomy.Address) {
	var p []Piece
	var want []anatomy.Address
	group := r.IntN(4) == 0
	if group {
		g := pick(r, []string{"crew", "Team Two"})
		p = append(p, Piece{Text: g + ": "})
		want = append(want, anatomy.Address{Mailbox: g, Kind: anatomy.GroupStart})
	}
	n := 1 + r.IntN(3)
	if group && r.IntN(3) == 0 {
		n = 0
	}
	for i := range n {
		if i > 0 {
			p = append(p, Piece{Text: ", "})
		}
		pick(r, addressForms)(r, &p, &want)
	}
	if group {
		p = append(p, Piece{Text: ";"})
		want = append(want, anatomy.Address{Kind: anatomy.GroupEnd})
	}
	return p, want
}

// addressNeedles are needles for address keys: names, local parts,
// hosts, comments (never part of an address), group names, punctuation
// of the address text.
var addressNeedles = []string{"Alice", "carol jones", "Élodie", "zoË", "al@", "bo.x", "-y@", "example.org", "EXAMPLE.com",
	"mail.test", "note", "crew", "Team Two:", ", x", "> ", "da", "missing_", "@MISSING_DOMAIN"}

// Encoded returns d's header fields as a message writes them: encode is
// applied to each phrase of a field made of pieces and to the whole
// value of the other fields (it may RFC 2047-encode or fold them).
func (d *Doc) Encoded(encode func(string) string) [][2]string {
	out := make([][2]string, len(d.Fields))
	for i, f := range d.Fields {
		if i >= len(d.Pieces) || d.Pieces[i] == nil {
			out[i] = [2]string{f[0], encode(f[1])}
			continue
		}
		var b strings.Builder
		for _, p := range d.Pieces[i] {
			if p.Phrase {
				b.WriteString(encode(p.Text))
			} else {
				b.WriteString(p.Text)
			}
		}
		out[i] = [2]string{f[0], b.String()}
	}
	return out
}
