package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Duration is a time.Duration written in TOML as a string such as "30m".
type Duration time.Duration

// UnmarshalTOML implements toml.Unmarshaler. Bare integers are rejected:
// they would silently mean nanoseconds.
func (d *Duration) UnmarshalTOML(v any) error {
	s, ok := v.(string)
	if !ok {
		return fmt.Errorf("duration must be a string such as \"30m\", got %T %v", v, v)
	}
	dur, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration: %w", err)
	}
	*d = Duration(dur)
	return nil
}

// String formats d like time.Duration.
func (d Duration) String() string { return time.Duration(d).String() }

// Size is a byte count written in TOML as an integer or as a string with a
// binary suffix: "64K", "64KiB", "64M", "64MiB", "1G", "1GiB" (K = 1024).
type Size int64

// UnmarshalTOML implements toml.Unmarshaler.
func (s *Size) UnmarshalTOML(v any) error {
	switch v := v.(type) {
	case int64:
		if v < 0 {
			return fmt.Errorf("size %d: must not be negative", v)
		}
		*s = Size(v)
		return nil
	case string:
		n, err := ParseSize(v)
		if err != nil {
			return err
		}
		*s = n
		return nil
	}
	return fmt.Errorf("size must be an integer or a string such as \"64M\", got %T %v", v, v)
}

// ParseSize parses a size string: digits optionally followed by B, K, KiB,
// M, MiB, G or GiB (case-insensitive, binary multiples).
func ParseSize(str string) (Size, error) {
	t := strings.TrimSpace(str)
	i := 0
	for i < len(t) && t[i] >= '0' && t[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, fmt.Errorf("size %q: want digits with an optional K, M or G suffix", str)
	}
	n, err := strconv.ParseInt(t[:i], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("size %q: %w", str, err)
	}
	var mult int64
	switch strings.ToLower(strings.TrimSpace(t[i:])) {
	case "", "b":
		mult = 1
	case "k", "kb", "kib":
		mult = 1 << 10
	case "m", "mb", "mib":
		mult = 1 << 20
	case "g", "gb", "gib":
		mult = 1 << 30
	default:
		return 0, fmt.Errorf("size %q: unknown suffix %q", str, t[i:])
	}
	if n > math.MaxInt64/mult {
		return 0, fmt.Errorf("size %q: too large", str)
	}
	return Size(n * mult), nil
}
