// Package config reads Rookery's TOML configuration into a Config.
//
// Defaults returns a complete, valid configuration; Load decodes a file over
// the defaults, so a file only needs the settings it changes, and rejects
// unknown keys so that typos do not pass silently. Load does not validate:
// callers apply command-line overrides first and then call Validate, which
// reports every problem at once.
//
// Value formats: durations are strings for time.ParseDuration ("30m",
// "90s"); sizes are integers (bytes) or strings with a binary suffix
// ("64K", "64KiB", "64M", "1G"; K = 1024). The package opens no sockets and
// knows nothing of IMAP or storage.
package config
