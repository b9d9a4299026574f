package config

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad loads and validates arbitrary configuration files: an error
// or a configuration, never a panic; a configuration that validates is
// stable under a second Validate.
func FuzzLoad(f *testing.F) {
	f.Add([]byte(Example()))
	f.Add([]byte("[limits]\nmax_line = \"1K\"\nappend_limit = \"-1\"\n"))
	f.Add([]byte("data_dir = 5\n[imap]\nlisten = \"[::1]:x\"\n"))
	f.Add([]byte("[limits]\nidle_timeout = \"1ns\"\nmax_mailbox_depth = 99999999999999999999\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "c.toml")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := Load(p)
		if err != nil {
			return
		}
		if cfg.Validate() == nil && cfg.Validate() != nil {
			t.Fatal("Validate not stable")
		}
	})
}
