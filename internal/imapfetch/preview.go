package imapfetch

import (
	"io"
	"strings"
	"unicode"
	"unicode/utf8"

	"rookery/internal/anatomy"
)

// PreviewMax is the most characters of a preview (RFC 8970 §3.1: 256).
const PreviewMax = 256

// previewRead bounds the raw bytes read for a preview.
const previewRead = 64 << 10

// PreviewPart returns the part a preview is made from: the first text/plain
// or text/html part, depth first, that is not an attachment; nil if none.
func PreviewPart(root *anatomy.Part) *anatomy.Part {
	var found *anatomy.Part
	var walk func(p *anatomy.Part)
	walk = func(p *anatomy.Part) {
		if found != nil {
			return
		}
		switch {
		case p.IsMultipart():
			for _, c := range p.Parts {
				walk(c)
			}
		case p.Type == "text" && (p.Subtype == "plain" || p.Subtype == "html") && p.Disposition != "attachment":
			found = p
		}
	}
	walk(root)
	return found
}

// Preview returns the preview text of a message: the start of its first
// text part, transfer-decoded, converted to UTF-8, HTML markup removed and
// white space collapsed, at most PreviewMax characters. A message without
// a text part has the empty preview.
func Preview(msg io.ReaderAt, root *anatomy.Part) (string, error) {
	p := PreviewPart(root)
	if p == nil {
		return "", nil
	}
	d, err := NewDecoder(io.NewSectionReader(msg, p.BodyOffset, min(p.BodySize, previewRead)), p.Encoding)
	if err != nil {
		return "", nil // undecodable: no preview
	}
	raw, err := io.ReadAll(io.LimitReader(d, previewRead))
	if err != nil {
		return "", err
	}
	cs, _ := p.Param("charset")
	text := toUTF8(cs, raw)
	if p.Subtype == "html" {
		text = stripHTML(text)
	}
	return collapse(text, PreviewMax), nil
}

// toUTF8 converts raw text in charset to valid UTF-8 (anatomy.ToUTF8: an
// unknown charset is taken as UTF-8 with invalid bytes dropped). raw may
// end inside a multi-byte character (the read is bounded): what cannot be
// converted is dropped.
func toUTF8(charset string, raw []byte) string {
	s, _ := anatomy.ToUTF8(charset, raw)
	return strings.ReplaceAll(s, "\uFFFD", "")
}

// collapse joins white-space runs into one space, trims, and cuts after
// max characters.
func collapse(s string, max int) string {
	var b strings.Builder
	n := 0
	space := false
	for _, r := range s {
		if unicode.IsSpace(r) || r == 0 || unicode.IsControl(r) {
			space = b.Len() > 0
			continue
		}
		if space {
			if n+1 >= max {
				break
			}
			b.WriteByte(' ')
			n++
			space = false
		}
		if n >= max {
			break
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

var htmlEntities = map[string]string{
	"amp": "&", "lt": "<", "gt": ">", "quot": `"`, "apos": "'", "nbsp": " ",
}

// stripHTML removes tags, comments and the content of style, script and
// head elements, and decodes the common entities.
func stripHTML(s string) string {
	var b strings.Builder
	for len(s) > 0 {
		i := strings.IndexAny(s, "<&")
		if i < 0 {
			b.WriteString(s)
			break
		}
		b.WriteString(s[:i])
		s = s[i:]
		if s[0] == '&' {
			j := strings.IndexByte(s, ';')
			if j > 1 && j < 10 {
				name := s[1:j]
				if v, ok := htmlEntities[strings.ToLower(name)]; ok {
					b.WriteString(v)
					s = s[j+1:]
					continue
				}
				if name[0] == '#' {
					if r, ok := charRef(name[1:]); ok {
						b.WriteRune(r)
						s = s[j+1:]
						continue
					}
				}
			}
			b.WriteByte('&')
			s = s[1:]
			continue
		}
		if strings.HasPrefix(s, "<!--") {
			j := strings.Index(s, "-->")
			if j < 0 {
				break
			}
			s = s[j+3:]
			continue
		}
		j := strings.IndexByte(s, '>')
		if j < 0 {
			break
		}
		closing := strings.HasPrefix(s[1:j], "/")
		tag := strings.ToLower(strings.TrimLeft(s[1:j], "/ "))
		name := tag
		if k := strings.IndexAny(tag, " \t\r\n/"); k >= 0 {
			name = tag[:k]
		}
		s = s[j+1:]
		switch name {
		case "style", "script", "head", "title":
			if !closing {
				end := strings.Index(strings.ToLower(s), "</"+name)
				if end >= 0 {
					s = s[end:]
					if k := strings.IndexByte(s, '>'); k >= 0 {
						s = s[k+1:]
					}
				}
			}
		case "br", "p", "div", "tr", "li", "td", "h1", "h2", "h3", "h4", "h5", "h6":
			b.WriteByte(' ')
		}
	}
	return b.String()
}

func charRef(s string) (rune, bool) {
	base := 10
	if len(s) > 0 && (s[0] == 'x' || s[0] == 'X') {
		base, s = 16, s[1:]
	}
	if s == "" {
		return 0, false
	}
	var v rune
	for _, c := range s {
		d, ok := anatomy.HexDigit(byte(c))
		if !ok || int(d) >= base || c > 0x7f {
			return 0, false
		}
		v = v*rune(base) + rune(d)
		if v > unicode.MaxRune {
			return 0, false
		}
	}
	if !utf8.ValidRune(v) {
		return 0, false
	}
	return v, true
}
