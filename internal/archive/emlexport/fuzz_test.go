package emlexport

import (
	"bytes"
	"path"
	"strings"
	"testing"
)

// FuzzManifest: any manifest is refused or describes an export whose
// every folder and message file stays inside the export directory, with
// UIDs in order and well-formed hashes (what the Reader relies on).
func FuzzManifest(f *testing.F) {
	f.Add([]byte(`{"format":"` + FormatName + `","version":1,"account":"a","mailboxes":[{"name":"INBOX","folder":"INBOX","uidvalidity":1,"messages":[{"uid":1,"size":3,"sha256":"` + strings.Repeat("a", 64) + `"}]}]}`))
	f.Add([]byte(`{"format":"` + FormatName + `","version":1,"mailboxes":[{"name":"x","folder":"../x"}]}`))
	f.Add([]byte(`{"format":"` + FormatName + `","version":1,"mailboxes":[{"name":"x","folder":"/etc"}]}`))
	f.Add([]byte(`{"format":"` + FormatName + `","version":1,"mailboxes":[{"name":"x","folder":"a/./b"},{"name":"y","folder":"a"}]}`))
	f.Add([]byte(`{"format":"` + FormatName + `","version":1,"mailboxes":[{"name":"x","folder":"a","messages":[{"uid":2},{"uid":1}]}]}`))
	f.Add([]byte(`not json`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := parseManifest(bytes.NewReader(data))
		if err != nil {
			return
		}
		folders := map[string]bool{}
		for _, mb := range m.Mailboxes {
			clean := path.Clean(mb.Folder)
			if mb.Folder == "" || path.IsAbs(mb.Folder) || clean != mb.Folder || clean == ".." || strings.HasPrefix(clean, "../") || strings.Contains(mb.Folder, "\\") {
				t.Fatalf("folder %q accepted", mb.Folder)
			}
			if folders[mb.Folder] {
				t.Fatalf("folder %q twice", mb.Folder)
			}
			folders[mb.Folder] = true
			var last uint32
			for _, e := range mb.Messages {
				if e.UID <= last || e.Size < 0 || len(e.SHA256) != 64 {
					t.Fatalf("message %+v accepted after UID %d", e, last)
				}
				last = e.UID
			}
		}
	})
}
