package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "rookery.toml")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaultsValid(t *testing.T) {
	if err := Defaults().Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestExampleMatchesDefaults(t *testing.T) {
	cfg, err := Load(writeFile(t, Example()))
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg, Defaults()) {
		t.Fatalf("example differs from defaults:\n got %+v\nwant %+v", cfg, Defaults())
	}
}

func TestLoadPartialKeepsDefaults(t *testing.T) {
	cfg, err := Load(writeFile(t, `
data_dir = "/var/lib/rookery"
[store]
backend = "postgres"
dsn = "host=db user=rookery"
[imap]
listen = ""
[limits]
append_limit = 1048576
max_line = "8K"
memory_limit = "1GiB"
idle_timeout = "1h"
max_mailboxes = 0
max_mailbox_depth = 8
max_keywords_per_mailbox = 50
max_conns = 500
max_unauth_conns_per_ip = 0
[log]
format = "json"
`))
	if err != nil {
		t.Fatal(err)
	}
	want := Defaults()
	want.DataDir = "/var/lib/rookery"
	want.Store.Backend = BackendPostgres
	want.Store.DSN = "host=db user=rookery"
	want.IMAP.Listen = ""
	want.Limits.AppendLimit = 1 << 20
	want.Limits.MaxLine = 8 << 10
	want.Limits.MemoryLimit = 1 << 30
	want.Limits.IdleTimeout = Duration(time.Hour)
	want.Limits.MaxMailboxes = 0
	want.Limits.MaxMailboxDepth = 8
	want.Limits.MaxKeywordsPerMailbox = 50
	want.Limits.MaxConns = 500
	want.Limits.MaxUnauthConnsPerIP = 0
	want.Log.Format = "json"
	if !reflect.DeepEqual(cfg, want) {
		t.Fatalf("got %+v\nwant %+v", cfg, want)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name, content, want string
	}{
		{"unknown key", "[imap]\nlisten_ssl = \"x\"\n", "imap.listen_ssl"},
		{"unknown section", "[smtp]\nlisten = \"x\"\n", "smtp"},
		{"syntax", "data_dir = \n", "load config"},
		{"integer duration", "[limits]\nidle_timeout = 1800\n", "duration must be a string"},
		{"bad duration", "[limits]\nidle_timeout = \"30 minutes\"\n", "duration"},
		{"bad size suffix", "[limits]\nmax_line = \"64T\"\n", "unknown suffix"},
		{"negative size", "[limits]\nmax_line = -1\n", "negative"},
		{"wrong type", "data_dir = 3\n", "data_dir"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(writeFile(t, tt.content))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.toml")); err == nil {
		t.Fatal("missing file loaded")
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
		want   []string // substrings of the error; nil means valid
	}{
		{"defaults", func(*Config) {}, nil},
		{"only imaps", func(c *Config) { c.IMAP.Listen = "" }, nil},
		{"only imap", func(c *Config) { c.IMAP.ListenTLS = "" }, nil},
		{"both port 0", func(c *Config) { c.IMAP.Listen, c.IMAP.ListenTLS = "127.0.0.1:0", "127.0.0.1:0" }, nil},
		{"ipv6", func(c *Config) { c.IMAP.Listen = "[::1]:143" }, nil},
		{"all interfaces", func(c *Config) { c.IMAP.Listen = ":143" }, nil},
		{"cert and key", func(c *Config) { c.TLS = TLS{CertFile: "c.pem", KeyFile: "k.pem"} }, nil},
		{"unlimited conns", func(c *Config) { c.Limits.MaxConnsPerIP, c.Limits.MaxConnsPerUser = 0, 0 }, nil},
		{"unlimited all", func(c *Config) {
			c.Limits.MaxConns, c.Limits.MaxUnauthConns, c.Limits.MaxUnauthConnsPerIP = 0, 0, 0
		}, nil},
		{"warning level", func(c *Config) { c.Log.Level = "WARNING" }, nil},
		{"empty data dir", func(c *Config) { c.DataDir = " " }, []string{"data_dir"}},
		{"no listener", func(c *Config) { c.IMAP.Listen, c.IMAP.ListenTLS = "", "" }, []string{"no listener"}},
		{"no port", func(c *Config) { c.IMAP.Listen = "127.0.0.1" }, []string{"imap.listen ", "missing port"}},
		{"named port", func(c *Config) { c.IMAP.Listen = "127.0.0.1:imap" }, []string{"imap.listen ", "port"}},
		{"port range", func(c *Config) { c.IMAP.Listen = "127.0.0.1:70000" }, []string{"imap.listen ", "port"}},
		{"bare ipv6", func(c *Config) { c.IMAP.Listen = "::1:143" }, []string{"brackets"}},
		{"unbalanced", func(c *Config) { c.IMAP.Listen = "[::1:143" }, []string{"brackets"}},
		{"empty port", func(c *Config) { c.IMAP.ListenTLS = "127.0.0.1:" }, []string{"imap.listen_tls", "missing port"}},
		{"same address", func(c *Config) { c.IMAP.ListenTLS = c.IMAP.Listen }, []string{"same address"}},
		{"plaintext auth", func(c *Config) { c.IMAP.PlaintextAuth = "sometimes" }, []string{"plaintext_auth"}},
		{"cert without key", func(c *Config) { c.TLS.CertFile = "c.pem" }, []string{"set together"}},
		{"key without cert", func(c *Config) { c.TLS.KeyFile = "k.pem" }, []string{"set together"}},
		{"max line small", func(c *Config) { c.Limits.MaxLine = 100 }, []string{"max_line"}},
		{"max line huge", func(c *Config) { c.Limits.MaxLine = 1 << 30 }, []string{"max_line"}},
		{"append zero", func(c *Config) { c.Limits.AppendLimit = 0 }, []string{"append_limit"}},
		{"append huge", func(c *Config) { c.Limits.AppendLimit = 1 << 32 }, []string{"append_limit", "4 GiB"}},
		{"no memory limit", func(c *Config) { c.Limits.MemoryLimit = 0 }, nil},
		{"memory limit small", func(c *Config) { c.Limits.MemoryLimit = 32 << 20 }, []string{"memory_limit"}},
		{"memory limit negative", func(c *Config) { c.Limits.MemoryLimit = -1 }, []string{"memory_limit"}},
		{"conns per user", func(c *Config) { c.Limits.MaxConnsPerUser = -1 }, []string{"max_conns_per_user"}},
		{"conns per ip", func(c *Config) { c.Limits.MaxConnsPerIP = -5 }, []string{"max_conns_per_ip"}},
		{"conns", func(c *Config) { c.Limits.MaxConns = -1 }, []string{"limits.max_conns -1"}},
		{"unauth conns", func(c *Config) { c.Limits.MaxUnauthConns = -1 }, []string{"limits.max_unauth_conns -1"}},
		{"unauth conns per ip", func(c *Config) { c.Limits.MaxUnauthConnsPerIP = -2 }, []string{"max_unauth_conns_per_ip"}},
		{"idle short", func(c *Config) { c.Limits.IdleTimeout = Duration(29 * time.Minute) }, []string{"idle_timeout", "RFC 9051"}},
		{"preauth zero", func(c *Config) { c.Limits.PreAuthTimeout = 0 }, []string{"preauth_timeout"}},
		{"preauth long", func(c *Config) { c.Limits.PreAuthTimeout = Duration(2 * time.Hour) }, []string{"preauth_timeout"}},
		{"unlimited mailboxes", func(c *Config) { c.Limits.MaxMailboxes = 0 }, nil},
		{"flat namespace", func(c *Config) { c.Limits.MaxMailboxDepth = 1 }, nil},
		{"name bounds", func(c *Config) { c.Limits.MaxMailboxName = 64 }, nil},
		{"name short", func(c *Config) { c.Limits.MaxMailboxName = 63 }, []string{"max_mailbox_name"}},
		{"name unlimited", func(c *Config) { c.Limits.MaxMailboxName = 0 }, []string{"max_mailbox_name"}},
		{"name huge", func(c *Config) { c.Limits.MaxMailboxName = 16<<10 + 1 }, []string{"max_mailbox_name"}},
		{"depth zero", func(c *Config) { c.Limits.MaxMailboxDepth = 0 }, []string{"max_mailbox_depth"}},
		{"depth huge", func(c *Config) { c.Limits.MaxMailboxDepth = 1025 }, []string{"max_mailbox_depth"}},
		{"mailboxes negative", func(c *Config) { c.Limits.MaxMailboxes = -1 }, []string{"max_mailboxes"}},
		{"unlimited keywords", func(c *Config) { c.Limits.MaxKeywordsPerMailbox = 0 }, nil},
		{"keywords negative", func(c *Config) { c.Limits.MaxKeywordsPerMailbox = -1 }, []string{"max_keywords_per_mailbox"}},
		{"keyword short", func(c *Config) { c.Limits.MaxKeywordLength = 15 }, []string{"max_keyword_length"}},
		{"keyword unlimited", func(c *Config) { c.Limits.MaxKeywordLength = 0 }, []string{"max_keyword_length"}},
		{"keyword huge", func(c *Config) { c.Limits.MaxKeywordLength = 1025 }, []string{"max_keyword_length"}},
		{"postgres", func(c *Config) {
			c.Store = Store{Backend: BackendPostgres, DSN: "postgres://rookery@127.0.0.1/rookery", PoolSize: 4}
		}, nil},
		{"postgres without dsn", func(c *Config) { c.Store.Backend = BackendPostgres }, []string{"store.dsn"}},
		{"backend", func(c *Config) { c.Store.Backend = "mysql" }, []string{"store.backend"}},
		{"pool zero", func(c *Config) { c.Store.PoolSize = 0 }, []string{"store.pool_size"}},
		{"pool huge", func(c *Config) { c.Store.PoolSize = 1001 }, []string{"store.pool_size"}},
		{"log level", func(c *Config) { c.Log.Level = "trace" }, []string{"log.level"}},
		{"log format", func(c *Config) { c.Log.Format = "xml" }, []string{"log.format"}},
		{"several", func(c *Config) {
			c.Log.Format = "xml"
			c.Limits.AppendLimit = -1
		}, []string{"log.format", "append_limit"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Defaults()
			tt.mutate(&cfg)
			err := cfg.Validate()
			if tt.want == nil {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in      string
		want    Size
		wantErr bool
	}{
		{"0", 0, false},
		{"512", 512, false},
		{"512B", 512, false},
		{"64K", 64 << 10, false},
		{"64kib", 64 << 10, false},
		{"64 MiB", 64 << 20, false},
		{"2G", 2 << 30, false},
		{"", 0, true},
		{"M", 0, true},
		{"-1", 0, true},
		{"1.5M", 0, true},
		{"64T", 0, true},
		{"99999999999999999999", 0, true},
		{"9999999999999G", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseSize(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d, err %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}
