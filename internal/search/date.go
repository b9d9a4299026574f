package search

import (
	"net/mail"
	"strings"
	"time"

	"rookery/internal/anatomy"
)

// civil returns t's calendar date in t's own location as yyyymmdd, which
// orders like the dates.
func civil(t time.Time) int {
	y, m, d := t.Date()
	return y*10000 + int(m)*100 + d
}

// SentDate returns the sent date of m (RFC 5256 §2.2): its first Date:
// header field, or the internal date if there is none or it cannot be
// parsed.
func SentDate(m *Message) (time.Time, error) {
	if !m.Sent.IsZero() {
		return m.Sent, nil
	}
	return sentHeaderDate(m)
}

// sentHeaderDate is SentDate read from the header, in the zone of the
// field: SENTBEFORE, SENTON and SENTSINCE compare days in it.
func sentHeaderDate(m *Message) (time.Time, error) {
	vals, err := m.header("Date")
	if err != nil {
		return time.Time{}, err
	}
	if len(vals) > 0 {
		if t, ok := ParseDate(vals[0]); ok {
			return t, nil
		}
	}
	return m.InternalDate, nil
}

var monthNames = map[string]time.Month{
	"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
	"jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
}

// zoneNames are the obsolete zone names of RFC 5322 §4.3 (military zones
// other than Z count as -0000, that is UTC).
var zoneNames = map[string]int{
	"UT": 0, "GMT": 0, "Z": 0, "UTC": 0,
	"EST": -5, "EDT": -4, "CST": -6, "CDT": -5, "MST": -7, "MDT": -6, "PST": -8, "PDT": -7,
}

// ParseDate parses an RFC 5322 date-time, leniently (obsolete syntax,
// comments, missing seconds or zone, two-digit years). The result keeps
// the zone's offset. It is a fast path for SORT and THREAD over large
// mailboxes, with net/mail.ParseDate as the fallback.
func ParseDate(s string) (time.Time, bool) {
	if t, ok := parseDateFast(s); ok {
		return t, true
	}
	t, err := mail.ParseDate(strings.TrimSpace(s))
	return t, err == nil
}

func parseDateFast(s string) (time.Time, bool) {
	f := strings.Fields(anatomy.StripComments(s))
	if len(f) > 0 && strings.HasSuffix(f[0], ",") {
		f = f[1:] // day of week
	} else if len(f) > 0 && len(f[0]) == 3 && isAlpha(f[0]) {
		f = f[1:] // day of week without comma
	}
	if len(f) < 4 {
		return time.Time{}, false
	}
	day, ok := atoi(f[0], 1, 2)
	if !ok || day < 1 || day > 31 {
		return time.Time{}, false
	}
	mon, ok := monthNames[strings.ToLower(f[1])]
	if !ok {
		return time.Time{}, false
	}
	year, ok := atoi(f[2], 2, 4)
	if !ok {
		return time.Time{}, false
	}
	switch len(f[2]) { // RFC 5322 §4.3
	case 2:
		if year < 50 {
			year += 2000
		} else {
			year += 1900
		}
	case 3:
		year += 1900
	}
	hms := strings.Split(f[3], ":")
	if len(hms) < 2 || len(hms) > 3 {
		return time.Time{}, false
	}
	var clock [3]int
	for i, p := range hms {
		if clock[i], ok = atoi(p, 1, 2); !ok {
			return time.Time{}, false
		}
	}
	if clock[0] > 23 || clock[1] > 59 || clock[2] > 60 {
		return time.Time{}, false
	}
	off := 0
	if len(f) > 4 {
		z := f[4]
		switch {
		case len(z) == 5 && (z[0] == '+' || z[0] == '-'):
			hh, ok1 := atoi(z[1:3], 2, 2)
			mm, ok2 := atoi(z[3:5], 2, 2)
			if !ok1 || !ok2 || mm > 59 {
				return time.Time{}, false
			}
			off = (hh*60 + mm) * 60
			if z[0] == '-' {
				off = -off
			}
		default:
			h, ok := zoneNames[strings.ToUpper(z)]
			if !ok && !(len(z) == 1 && isAlpha(z)) {
				return time.Time{}, false
			}
			off = h * 3600
		}
	}
	if day > daysIn(mon, year) {
		return time.Time{}, false
	}
	return time.Date(year, mon, day, clock[0], clock[1], clock[2], 0, fixedZone(off)), true
}

// fixedZone returns a location for a UTC offset, sharing the common ones.
func fixedZone(off int) *time.Location {
	if off == 0 {
		return time.UTC
	}
	return time.FixedZone("", off)
}

func daysIn(m time.Month, year int) int {
	return time.Date(year, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

func isAlpha(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i] | 0x20; c < 'a' || c > 'z' {
			return false
		}
	}
	return s != ""
}

// atoi parses a decimal number of minDigits to maxDigits digits.
func atoi(s string, minDigits, maxDigits int) (int, bool) {
	if len(s) < minDigits || len(s) > maxDigits {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}
