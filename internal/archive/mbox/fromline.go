package mbox

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"
)

// asctime is the date layout of a "From " line.
const asctime = "Mon Jan _2 15:04:05 2006"

// formatFromLine returns the "From " separator line (without its LF) for
// a message from sender received at date (written in UTC).
func formatFromLine(sender string, date time.Time) string {
	return "From " + sender + " " + date.UTC().Format(asctime)
}

var months = map[string]time.Month{
	"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
	"jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
}

var errFromLine = errors.New("not a From line")

// parseFromLine parses a "From " line (without its line end): "From
// <sender> <weekday> <month> <day> <hh:mm[:ss]> [zone] <year> [zone]
// [anything]" (asctime, with the zone some tools add before or after
// the year). A date without a numeric zone is UTC. The sender may be
// empty or missing.
func parseFromLine(line string) (sender string, date time.Time, err error) {
	if !strings.HasPrefix(line, fromPrefix) {
		return "", time.Time{}, errFromLine
	}
	f := strings.Fields(line[len(fromPrefix):])
	// Find the weekday-month-day-time run: the sender is what comes
	// before it (nothing or one word).
	for start := 0; start <= 1 && start+4 <= len(f); start++ {
		if d, ok := parseDate(f[start:]); ok {
			if start == 1 {
				sender = f[0]
			}
			return sender, d, nil
		}
	}
	return "", time.Time{}, errFromLine
}

// parseDate parses "<weekday> <month> <day> <time> [zone] <year> [zone]".
func parseDate(f []string) (time.Time, bool) {
	if len(f) < 5 || len(f[0]) < 3 || !isWeekday(f[0][:3]) {
		return time.Time{}, false
	}
	mon, ok := months[strings.ToLower(f[1][:min(3, len(f[1]))])]
	if !ok {
		return time.Time{}, false
	}
	day, err := strconv.Atoi(f[2])
	if err != nil || day < 1 || day > 31 {
		return time.Time{}, false
	}
	hms := strings.Split(f[3], ":")
	if len(hms) < 2 || len(hms) > 3 {
		return time.Time{}, false
	}
	var clock [3]int
	for i, s := range hms {
		v, err := strconv.Atoi(s)
		if err != nil || v < 0 || v > 60 || len(s) > 2 {
			return time.Time{}, false
		}
		clock[i] = v
	}
	if clock[0] > 23 || clock[1] > 59 {
		return time.Time{}, false
	}
	rest := f[4:]
	loc := time.UTC
	if z, ok := parseZone(rest[0]); ok {
		loc = z
		rest = rest[1:]
	} else if isZoneName(rest[0]) {
		rest = rest[1:]
	}
	if len(rest) == 0 {
		return time.Time{}, false
	}
	year, err := strconv.Atoi(rest[0])
	if err != nil || year < 1 || year > 9999 {
		return time.Time{}, false
	}
	if len(rest) > 1 {
		if z, ok := parseZone(rest[1]); ok {
			loc = z
		}
	}
	return time.Date(year, mon, day, clock[0], clock[1], clock[2], 0, loc), true
}

func isWeekday(s string) bool {
	switch strings.ToLower(s) {
	case "mon", "tue", "wed", "thu", "fri", "sat", "sun":
		return true
	}
	return false
}

// parseZone parses a numeric zone "+hhmm" / "-hhmm".
func parseZone(s string) (*time.Location, bool) {
	if len(s) != 5 || (s[0] != '+' && s[0] != '-') {
		return nil, false
	}
	h, err1 := strconv.Atoi(s[1:3])
	m, err2 := strconv.Atoi(s[3:5])
	if err1 != nil || err2 != nil || h > 23 || m > 59 {
		return nil, false
	}
	off := h*3600 + m*60
	if s[0] == '-' {
		off = -off
	}
	return time.FixedZone("", off), true
}

// isZoneName reports whether s looks like a zone abbreviation (letters
// only, 1 to 5 of them), which is taken as UTC.
func isZoneName(s string) bool {
	if len(s) == 0 || len(s) > 5 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i] | 0x20; c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

// envelopeSender returns the address of the first Return-Path header of
// the message's header section (read from r), or "MAILER-DAEMON" when
// there is none or it cannot stand in a From line.
func envelopeSender(r io.Reader) string {
	br := bufio.NewReaderSize(r, 4096)
	for i := 0; i < 1000; i++ {
		line, err := br.ReadSlice('\n')
		trimmed := bytes.TrimRight(line, "\r\n")
		if len(trimmed) == 0 {
			break
		}
		if len(trimmed) > 12 && strings.EqualFold(string(trimmed[:12]), "Return-Path:") {
			v := strings.TrimSpace(string(trimmed[12:]))
			v = strings.TrimSuffix(strings.TrimPrefix(v, "<"), ">")
			if v != "" && len(v) < 256 && !strings.ContainsAny(v, " \t<>\"") && isPrintableASCII(v) {
				return v
			}
			break
		}
		if err != nil {
			break
		}
	}
	return "MAILER-DAEMON"
}

func isPrintableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}
