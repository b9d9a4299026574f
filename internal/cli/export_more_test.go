package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"rookery/internal/archive/emlexport"
	"rookery/internal/imapnum"
	"rookery/internal/ingest"
	"rookery/internal/store"
)

// appendPlain appends n small messages to mbox, numbered from first.
func appendPlain(t testing.TB, st store.Store, mbox store.MailboxID, first, n int) []store.UID {
	t.Helper()
	ctx := context.Background()
	var msgs []store.NewMessage
	for i := first; i < first+n; i++ {
		ref, err := ingest.Write(ctx, st, strings.NewReader(fmt.Sprintf("From: a@example.org\r\nSubject: m%d\r\n\r\nbody %d\r\n", i, i)), -1, nil)
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, store.NewMessage{Blob: ref})
	}
	res, err := st.Append(ctx, mbox, msgs)
	if err != nil {
		t.Fatal(err)
	}
	return res.UIDs
}

// exportCounts parses the last line of an export.
func exportCounts(t *testing.T, out string) (messages, written, kept, removed int) {
	t.Helper()
	m := regexp.MustCompile(`(\d+) messages \((\d+) written, (\d+) kept, (\d+) files removed\)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no summary in:\n%s", out)
	}
	v := func(s string) int { n, _ := strconv.Atoi(s); return n }
	return v(m[1]), v(m[2]), v(m[3]), v(m[4])
}

// TestExportIncremental: --incremental writes only the messages not in
// the earlier export, removes those gone, and records new flags;
// --since-modseq exports only what changed after N.
func TestExportIncremental(t *testing.T) {
	ctx := context.Background()
	in := newSQLite(t)
	a := in.account(t, "alice")
	inbox, err := in.st.Mailbox(ctx, a.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	uids := appendPlain(t, in.st, inbox.ID, 0, 10)
	dir := filepath.Join(t.TempDir(), "backup")
	code, out, errOut := in.cli(t, "export", "alice", dir)
	if n, w, k, _ := exportCounts(t, out); code != ExitOK || n != 10 || w != 10 || k != 0 {
		t.Fatalf("first export: exit %d\n%s%s", code, out, errOut)
	}
	// Again without --incremental: refused, nothing changed.
	if code, _, errOut := in.cli(t, "export", "alice", dir); code != ExitFailure || !strings.Contains(errOut, "--incremental") {
		t.Fatalf("export into an export without --incremental: exit %d, %s", code, errOut)
	}
	before, err := in.st.Snapshot(ctx, inbox.ID)
	if err != nil {
		t.Fatal(err)
	}
	appendPlain(t, in.st, inbox.ID, 100, 2)
	if _, err := in.st.StoreFlags(ctx, inbox.ID, imapnum.Set{{Start: uids[0], Stop: uids[1]}}, store.FlagsAdd, store.Flags{Sys: store.FlagDeleted}, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := in.st.Expunge(ctx, inbox.ID, imapnum.Set{{Start: uids[0], Stop: uids[0]}}); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = in.cli(t, "export", "alice", dir, "--incremental")
	if n, w, k, r := exportCounts(t, out); code != ExitOK || n != 11 || w != 2 || k != 9 || r != 1 {
		t.Fatalf("incremental export: exit %d (want 11 messages, 2 written, 9 kept, 1 removed)\n%s%s", code, out, errOut)
	}
	m, err := emlexport.ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(m.Mailboxes, func(e emlexport.MailboxEntry) bool { return e.Name == "INBOX" })
	box := m.Mailboxes[i]
	if len(box.Messages) != 11 || box.Messages[0].UID != uids[1] || !slices.Contains(box.Messages[0].Flags, `\Deleted`) {
		t.Fatalf("manifest after the incremental export: %+v", box.Messages[:2])
	}
	ents, err := os.ReadDir(filepath.Join(dir, "INBOX"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 11 {
		t.Errorf("INBOX folder holds %d files, want 11", len(ents))
	}
	if _, err := os.Stat(filepath.Join(dir, "INBOX", strconv.Itoa(int(uids[0]))+".eml")); !os.IsNotExist(err) {
		t.Errorf("the file of the expunged UID %d is still there: %v", uids[0], err)
	}
	// Nothing changed: nothing written.
	code, out, _ = in.cli(t, "export", "alice", dir, "--incremental")
	if n, w, k, r := exportCounts(t, out); code != ExitOK || n != 11 || w != 0 || k != 11 || r != 0 {
		t.Errorf("unchanged incremental export:\n%s", out)
	}

	// --since-modseq: the 2 new messages and the 1 flagged \Deleted.
	delta := filepath.Join(t.TempDir(), "delta")
	code, out, errOut = in.cli(t, "export", "alice", delta, "--mailbox", "INBOX", "--since-modseq", strconv.FormatUint(before.HighestModSeq, 10))
	if n, w, _, _ := exportCounts(t, out); code != ExitOK || n != 3 || w != 3 {
		t.Fatalf("export --since-modseq: exit %d\n%s%s", code, out, errOut)
	}
	dm, err := emlexport.ReadManifest(delta)
	if err != nil {
		t.Fatal(err)
	}
	if dm.SinceModSeq != before.HighestModSeq || len(dm.Mailboxes) != 1 {
		t.Errorf("delta manifest: since %d, %d mailboxes", dm.SinceModSeq, len(dm.Mailboxes))
	}
	for _, bad := range [][]string{
		{"export", "alice", delta + "2", "--since-modseq", "3", "--incremental"},
		{"export", "alice", delta + "2", "--format", "zip"},
		{"export", "alice"},
	} {
		if code, _, _ := in.cli(t, bad...); code != ExitUsage {
			t.Errorf("rookery %v: exit %d, want %d", bad, code, ExitUsage)
		}
	}
	if code, _, errOut := in.cli(t, "export", "alice", delta+"3", "--mailbox", "Nope"); code != ExitFailure || !strings.Contains(errOut, `"Nope"`) {
		t.Errorf("export of a missing mailbox: exit %d, %s", code, errOut)
	}
}

// rewriteManifest applies edit to the manifest of the export in dir.
func rewriteManifest(t *testing.T, dir string, edit func(m *emlexport.Manifest)) {
	t.Helper()
	m, err := emlexport.ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	edit(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, emlexport.ManifestName), b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestImportBadInput: a file that does not match the manifest (content,
// size, missing), an unreadable file and a file that is not a message
// are reported with their path; the import stops there keeping what it
// imported (exit 1), or skips them with --keep-going (exit 3); a
// manifest that cannot be read stops it before anything.
func TestImportBadInput(t *testing.T) {
	ctx := context.Background()
	in := newSQLite(t)
	a := in.account(t, "alice")
	inbox, err := in.st.Mailbox(ctx, a.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	uids := appendPlain(t, in.st, inbox.ID, 0, 6)
	clean := filepath.Join(t.TempDir(), "clean")
	if code, out, errOut := in.cli(t, "export", "alice", clean); code != ExitOK {
		t.Fatalf("export: %s%s", out, errOut)
	}
	file := func(dir string, uid store.UID) string {
		return filepath.Join(dir, "INBOX", strconv.Itoa(int(uid))+".eml")
	}
	copyDir := func(t *testing.T) string {
		dst := filepath.Join(t.TempDir(), "export")
		if err := os.CopyFS(dst, os.DirFS(clean)); err != nil {
			t.Fatal(err)
		}
		return dst
	}
	type damage struct {
		name  string
		do    func(t *testing.T, dir string) string // returns the path to be reported
		want  string
		bad   int
		first store.UID // the UID damaged
	}
	notMessage := []byte("this is not a message\r\nat all\r\n")
	cases := []damage{
		{"content differs", func(t *testing.T, dir string) string {
			p := file(dir, uids[2])
			b, _ := os.ReadFile(p)
			b[len(b)-3] ^= 1
			if err := os.WriteFile(p, b, 0o600); err != nil {
				t.Fatal(err)
			}
			return p
		}, "SHA-256", 1, uids[2]},
		{"size differs", func(t *testing.T, dir string) string {
			p := file(dir, uids[2])
			f, _ := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
			f.WriteString("x")
			f.Close()
			return p
		}, "the manifest says", 1, uids[2]},
		{"missing", func(t *testing.T, dir string) string {
			p := file(dir, uids[2])
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
			return p
		}, "no such file", 1, uids[2]},
		{"not a message", func(t *testing.T, dir string) string {
			p := file(dir, uids[2])
			if err := os.WriteFile(p, notMessage, 0o600); err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(notMessage)
			rewriteManifest(t, dir, func(m *emlexport.Manifest) {
				for i := range m.Mailboxes {
					for j := range m.Mailboxes[i].Messages {
						if e := &m.Mailboxes[i].Messages[j]; m.Mailboxes[i].Name == "INBOX" && e.UID == uids[2] {
							e.Size, e.SHA256 = int64(len(notMessage)), hex.EncodeToString(sum[:])
						}
					}
				}
			})
			return p
		}, "not a message", 1, uids[2]},
	}
	if os.Geteuid() != 0 {
		cases = append(cases, damage{"unreadable", func(t *testing.T, dir string) string {
			p := file(dir, uids[2])
			if err := os.Chmod(p, 0); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = os.Chmod(p, 0o600) })
			return p
		}, "permission denied", 1, uids[2]})
	} else {
		t.Log("running as root: chmod 000 does not stop reads, the unreadable-file case is left out")
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyDir(t)
			path := tc.do(t, dir)
			user := fmt.Sprintf("u%d", i)
			ua := in.account(t, user)
			// Without --keep-going: stops at the bad message, keeping
			// those before it.
			code, out, errOut := in.cli(t, "import", user, dir)
			if code != ExitFailure || !strings.Contains(errOut, path) || !strings.Contains(errOut, tc.want) {
				t.Fatalf("import: exit %d, want %d with %q and %q\n%s%s", code, ExitFailure, path, tc.want, out, errOut)
			}
			ub, err := in.st.Mailbox(ctx, ua.ID, "INBOX")
			if err != nil {
				t.Fatal(err)
			}
			snap, err := in.st.Snapshot(ctx, ub.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(snap.UIDs, uids[:2]) {
				t.Errorf("after the stopped import INBOX holds %v, want %v", snap.UIDs, uids[:2])
			}
			// With --keep-going: the others, exit 3.
			code, out, errOut = in.cli(t, "import", user, dir, "--keep-going")
			f, imp, p, x := importCounts(t, out)
			if code != exitPartial || f != 6 || imp != 3 || p != 2 || x != tc.bad || !strings.Contains(errOut, path) {
				t.Fatalf("import --keep-going: exit %d, found %d imported %d present %d failed %d\n%s%s", code, f, imp, p, x, out, errOut)
			}
			snap, err = in.st.Snapshot(ctx, ub.ID)
			if err != nil {
				t.Fatal(err)
			}
			want := slices.DeleteFunc(slices.Clone(uids), func(u store.UID) bool { return u == tc.first })
			if !slices.Equal(snap.UIDs, want) {
				t.Errorf("after --keep-going INBOX holds %v, want %v", snap.UIDs, want)
			}
		})
	}
	t.Run("manifest", func(t *testing.T) {
		for _, body := range []string{"{not json", `{"format":"other","version":1}`,
			`{"format":"rookery-eml-export","version":1,"mailboxes":[{"name":"x","folder":"../../etc","messages":[]}]}`} {
			dir := copyDir(t)
			if err := os.WriteFile(filepath.Join(dir, emlexport.ManifestName), []byte(body), 0o600); err != nil {
				t.Fatal(err)
			}
			code, out, errOut := in.cli(t, "import", "alice", dir)
			if code != ExitFailure || !strings.Contains(errOut, filepath.Join(dir, emlexport.ManifestName)) {
				t.Errorf("import with manifest %q: exit %d\n%s%s", body, code, out, errOut)
			}
		}
		if code, _, errOut := in.cli(t, "import", "alice", t.TempDir()); code != ExitFailure || !strings.Contains(errOut, "not an archive") {
			t.Errorf("import of an empty directory: exit %d, %s", code, errOut)
		}
	})
}

// TestExportWhileServing: exports taken while another store handle (a
// running server) appends and expunges messages in pairs (one
// transaction each) are consistent per mailbox: no half pair, every
// file as its manifest entry says, UIDs below UIDNEXT and
// mod-sequences at most HIGHESTMODSEQ.
func TestExportWhileServing(t *testing.T) {
	ctx := context.Background()
	in := newSQLite(t)
	a := in.account(t, "alice")
	inbox, err := in.st.Mailbox(ctx, a.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	appendPlain(t, in.st, inbox.ID, 0, 40)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	var werr error
	go func() {
		defer wg.Done()
		var live [][]store.UID
		for i := 0; i < 2000; i++ {
			select {
			case <-stop:
				return
			default:
			}
			ctx := context.Background()
			var msgs []store.NewMessage
			for j := 0; j < 2; j++ {
				ref, err := ingest.Write(ctx, in.st, strings.NewReader(fmt.Sprintf("From: a@example.org\r\nX-Pair: %d\r\n\r\npair %d part %d\r\n", i, i, j)), -1, nil)
				if err != nil {
					werr = err
					return
				}
				msgs = append(msgs, store.NewMessage{Blob: ref})
			}
			res, err := in.st.Append(ctx, inbox.ID, msgs)
			if err != nil {
				werr = err
				return
			}
			live = append(live, res.UIDs)
			if i%2 == 1 {
				p := live[0]
				live = live[1:]
				set := imapnum.Set{{Start: p[0], Stop: p[1]}}
				if _, err := in.st.StoreFlags(ctx, inbox.ID, set, store.FlagsAdd, store.Flags{Sys: store.FlagDeleted}, 0); err != nil {
					werr = err
					return
				}
				if _, err := in.st.Expunge(ctx, inbox.ID, set); err != nil {
					werr = err
					return
				}
			}
		}
	}()
	pairRE := regexp.MustCompile(`X-Pair: (\d+)`)
	for run := 0; run < 3; run++ {
		dir := filepath.Join(t.TempDir(), "export")
		code, out, errOut := in.cli(t, "export", "alice", dir, "--mailbox", "INBOX")
		if code != ExitOK {
			close(stop)
			wg.Wait()
			t.Fatalf("export %d: exit %d\n%s%s", run, code, out, errOut)
		}
		m, err := emlexport.ReadManifest(dir)
		if err != nil {
			t.Fatal(err)
		}
		box := m.Mailboxes[0]
		pairs := map[string]int{}
		for _, e := range box.Messages {
			b, err := os.ReadFile(filepath.Join(dir, "INBOX", strconv.Itoa(int(e.UID))+".eml"))
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(b)
			if hex.EncodeToString(sum[:]) != e.SHA256 || int64(len(b)) != e.Size {
				t.Errorf("export %d: UID %d does not match its manifest entry", run, e.UID)
			}
			if e.UID >= box.UIDNext || e.ModSeq > box.HighestModSeq || e.ModSeq == 0 {
				t.Errorf("export %d: UID %d MODSEQ %d with UIDNEXT %d HIGHESTMODSEQ %d", run, e.UID, e.ModSeq, box.UIDNext, box.HighestModSeq)
			}
			if p := pairRE.FindSubmatch(b); p != nil {
				pairs[string(p[1])]++
			}
		}
		for p, n := range pairs {
			if n != 2 {
				t.Errorf("export %d: pair %s has %d of its 2 messages", run, p, n)
			}
		}
		t.Logf("export %d: %d messages, %d pairs", run, len(box.Messages), len(pairs))
	}
	close(stop)
	wg.Wait()
	if werr != nil {
		t.Fatal(werr)
	}
}
