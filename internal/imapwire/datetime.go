package imapwire

import (
	"strings"
	"time"
)

var months = [12]string{"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"}

// DateTime reads a quoted date-time: "dd-Mon-yyyy hh:mm:ss +zzzz". The day
// may be two digits, a space and one digit (date-day-fixed), or, leniently,
// one digit. The month name is case-insensitive.
func (d *Decoder) DateTime() (time.Time, error) {
	b, err := d.peek()
	if err != nil {
		return time.Time{}, err
	}
	if b != '"' {
		return time.Time{}, syntaxf("expected quoted date-time, got %s", charName(b))
	}
	s, err := d.Quoted()
	if err != nil {
		return time.Time{}, err
	}
	t, ok := ParseDateTime(s)
	if !ok {
		return time.Time{}, syntaxf("bad date-time %q", s)
	}
	return t, nil
}

// Date reads a date (as used by SEARCH): d-Mon-yyyy or dd-Mon-yyyy,
// optionally quoted. The result is midnight UTC of that day.
func (d *Decoder) Date() (time.Time, error) {
	b, err := d.peek()
	if err != nil {
		return time.Time{}, err
	}
	var s string
	if b == '"' {
		s, err = d.Quoted()
	} else {
		s, err = d.Atom()
	}
	if err != nil {
		return time.Time{}, err
	}
	t, rest, ok := parseDate(s)
	if !ok || rest != "" {
		return time.Time{}, syntaxf("bad date %q", s)
	}
	return t, nil
}

// ParseDateTime parses the text of a date-time (without the quotes).
func ParseDateTime(s string) (time.Time, bool) {
	s = strings.TrimPrefix(s, " ")
	date, rest, ok := parseDate(s)
	if !ok || len(rest) != len(" hh:mm:ss +zzzz") || rest[0] != ' ' || rest[3] != ':' || rest[6] != ':' || rest[9] != ' ' {
		return time.Time{}, false
	}
	hh, ok1 := digits(rest[1:3])
	mm, ok2 := digits(rest[4:6])
	ss, ok3 := digits(rest[7:9])
	zh, ok4 := digits(rest[11:13])
	zm, ok5 := digits(rest[13:15])
	sign := rest[10]
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || (sign != '+' && sign != '-') ||
		hh > 23 || mm > 59 || ss > 60 || zh > 23 || zm > 59 {
		return time.Time{}, false
	}
	off := (zh*60 + zm) * 60
	if sign == '-' {
		off = -off
	}
	y, mo, dd := date.Date()
	return time.Date(y, mo, dd, hh, mm, ss, 0, time.FixedZone("", off)), true
}

// parseDate parses d-Mon-yyyy / dd-Mon-yyyy at the start of s.
func parseDate(s string) (t time.Time, rest string, ok bool) {
	i := strings.IndexByte(s, '-')
	if i < 1 || i > 2 {
		return time.Time{}, "", false
	}
	day, ok := digits(s[:i])
	s = s[i+1:]
	if !ok || len(s) < len("Mon-yyyy") || s[3] != '-' {
		return time.Time{}, "", false
	}
	mon := 0
	for k, m := range months {
		if strings.EqualFold(s[:3], m) {
			mon = k + 1
		}
	}
	year, ok := digits(s[4:8])
	if !ok || mon == 0 || day < 1 {
		return time.Time{}, "", false
	}
	t = time.Date(year, time.Month(mon), day, 0, 0, 0, 0, time.UTC)
	if t.Day() != day { // 31-Feb-2024
		return time.Time{}, "", false
	}
	return t, s[8:], true
}

func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		if !IsDigit(s[i]) {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, s != ""
}

// FormatDateTime formats t as an IMAP date-time without quotes
// ("02-Jan-2006 15:04:05 -0700", day space-padded as date-day-fixed).
func FormatDateTime(t time.Time) string {
	return t.Format("_2-Jan-2006 15:04:05 -0700")
}
