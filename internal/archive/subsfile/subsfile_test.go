package subsfile

import (
	"strings"
	"testing"
)

func TestFormatParse(t *testing.T) {
	names := []string{"INBOX", "Archive/2024", "Entwürfe", "a&b", "x.y"}
	data := string(Format(names))
	if want := "V\t2\n\nINBOX\nArchive\t2024\nEntw&APw-rfe\na&-b\nx.y\n"; data != want {
		t.Errorf("Format = %q, want %q", data, want)
	}
	if got := strings.Join(Parse(data), "|"); got != strings.Join(names, "|") {
		t.Errorf("Parse(Format) = %q", got)
	}
	// What Dovecot 2.3 wrote in a test, and an old-style file.
	if got := strings.Join(Parse("V\t2\n\nArchive\t2024\nINBOX\n&AOk-t&AOk-\n"), "|"); got != "Archive/2024|INBOX|été" {
		t.Errorf("Parse(dovecot) = %q", got)
	}
	if got := strings.Join(Parse("INBOX\nArchive.2024\r\nraw\xff\n"), "|"); got != "INBOX|Archive.2024|Archive/2024|raw\uFFFD" {
		t.Errorf("Parse(old) = %q", got)
	}
}
