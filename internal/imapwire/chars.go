package imapwire

// Character classes of RFC 9051 §9.
const (
	classAtom    = 1 << iota // ATOM-CHAR
	classAString             // ASTRING-CHAR = ATOM-CHAR / resp-specials
	classList                // list-char = ATOM-CHAR / list-wildcards / resp-specials
	classTag                 // tag char: ASTRING-CHAR except "+"
)

var charClass = func() (t [256]uint8) {
	for c := 0x21; c < 0x7f; c++ {
		switch c {
		case '(', ')', '{', '%', '*', '"', '\\', ']':
			continue
		}
		t[c] = classAtom | classAString | classList | classTag
	}
	t[']'] = classAString | classList | classTag
	t['%'] = classList
	t['*'] = classList
	t['+'] &^= classTag
	return t
}()

// IsAtomChar reports whether c is an ATOM-CHAR.
func IsAtomChar(c byte) bool { return charClass[c]&classAtom != 0 }

// IsAStringChar reports whether c is an ASTRING-CHAR (ATOM-CHAR or "]").
func IsAStringChar(c byte) bool { return charClass[c]&classAString != 0 }

// IsListChar reports whether c is a list-char (ASTRING-CHAR, "%" or "*").
func IsListChar(c byte) bool { return charClass[c]&classList != 0 }

// IsTagChar reports whether c may appear in a tag (ASTRING-CHAR except "+").
func IsTagChar(c byte) bool { return charClass[c]&classTag != 0 }

// IsDigit reports whether c is an ASCII digit.
func IsDigit(c byte) bool { return c >= '0' && c <= '9' }
