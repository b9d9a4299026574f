package archtest

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "rookery/"

// allowed lists, for each package under internal/, the Rookery packages its
// non-test files may import. Packages not listed may import nothing of
// Rookery's; "*" means anything (the wiring in cli).
var allowed = map[string][]string{
	"internal/imapnum":           {},
	"internal/utf7":              {},
	"internal/imapwire":          {},
	"internal/events":            {},
	"internal/store":             {"internal/imapnum"},
	"internal/imap":              {"internal/store", "internal/imapnum", "internal/imapwire", "internal/anatomy"},
	"internal/imapcmd":           {"internal/imapwire", "internal/imapnum"},
	"internal/mailview":          {"internal/store", "internal/imapnum"},
	"internal/blob":              {"internal/store"},
	"internal/store/sqlitestore": {"internal/store", "internal/blob", "internal/events", "internal/imapnum"},
	"internal/store/pgstore":     {"internal/store", "internal/events", "internal/imapnum"},
	"internal/pgtest":            {},
	"internal/ingest":            {"internal/store", "internal/anatomy", "internal/search", "internal/searchtext"},
	"internal/anatomy":           {},
	"internal/imapfetch":         {"internal/anatomy"},
	"internal/search":            {"internal/store", "internal/imapnum", "internal/anatomy"},
	"internal/searchtext":        {"internal/anatomy", "internal/imapfetch", "internal/search", "internal/store"},
	"internal/search/searchtest": {"internal/search", "internal/store", "internal/imapnum", "internal/anatomy"},
	"internal/store/storetest":   {"internal/store", "internal/events", "internal/imapnum", "internal/blob", "internal/ingest"},
	"internal/auth":              {"internal/store", "internal/logtext"},
	"internal/logtext":           {},
	"internal/tlsconf":           {},
	"internal/config":            {},
	"internal/imapserver":        {"internal/store", "internal/events", "internal/auth", "internal/imap", "internal/imapcmd", "internal/imapwire", "internal/imapnum", "internal/mailview", "internal/utf7", "internal/anatomy", "internal/imapfetch", "internal/search", "internal/searchtext", "internal/ingest", "internal/logtext"},
	"internal/imaptest":          {"*"},
	"internal/cli":               {"*"},
	"internal/delivery":          {"internal/store", "internal/ingest", "internal/logtext"},
	"internal/lmtp":              {"internal/delivery", "internal/store", "internal/logtext"},
	"internal/metrics":           {},
	"internal/archtest":          {},
	"internal/benchcorpus":       {},
	// The archive formats are pure: they know mail on disk, not the store.
	"internal/archive":             {},
	"internal/archive/archivetest": {"internal/archive"},
	"internal/archive/crlf":        {},
	"internal/archive/durable":     {},
	"internal/archive/msgcheck":    {},
	"internal/archive/msgfile":     {"internal/archive/crlf"},
	"internal/archive/subsfile":    {"internal/utf7"},
	"internal/archive/maildir":     {"internal/archive", "internal/archive/crlf", "internal/archive/durable", "internal/archive/msgcheck", "internal/archive/msgfile", "internal/archive/subsfile", "internal/utf7"},
	"internal/archive/mbox":        {"internal/archive", "internal/archive/durable", "internal/archive/msgfile", "internal/archive/subsfile"},
	"internal/archive/emldir":      {"internal/archive", "internal/archive/crlf", "internal/archive/msgcheck", "internal/archive/msgfile"},
	"internal/migrate":             {"internal/store", "internal/ingest", "internal/imapnum"},
	"internal/dovecottest":         {},
	"internal/archive/emlexport":   {"internal/archive", "internal/archive/msgfile"},
}

// backendForbidden lists what no store backend (a package under
// internal/store/ other than the conformance suite) may import, whatever
// the table above says: messages are parsed, texts extracted and search
// keys converted above the store (packages ingest and searchtext), so a
// second backend stores what it is given and answers store.IndexKey.
var backendForbidden = []string{"internal/search", "internal/searchtext", "internal/imapfetch", "internal/anatomy", "internal/ingest",
	"internal/imap", "internal/imapserver", "internal/imapcmd", "internal/imapwire", "internal/mailview"}

// isBackend reports whether pkg is a store backend.
func isBackend(pkg string) bool {
	return strings.HasPrefix(pkg, "internal/store/") && pkg != "internal/store/storetest"
}

// forbiddenExternal lists external imports a package must not use.
var forbiddenExternal = map[string][]string{
	"internal/imapserver": {"database/sql", "modernc.org/sqlite", "github.com/jackc/pgx", "github.com/prometheus"},
	"internal/delivery":   {"database/sql", "github.com/prometheus", "github.com/emersion/go-smtp"},
	"internal/lmtp":       {"database/sql", "github.com/prometheus"},
	"internal/imapcmd":    {"database/sql", "net"},
	"internal/imapwire":   {"database/sql"},
	"internal/mailview":   {"net", "database/sql"},
	"internal/store":      {"database/sql"},
	"internal/config":     {"net", "database/sql"},
}

func TestImportGraph(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	pkgs := map[string][]string{} // package dir → imports
	err = filepath.WalkDir(filepath.Join(root, "internal"), func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		rel = filepath.ToSlash(rel)
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			pkgs[rel] = append(pkgs[rel], p)
		}
		if _, ok := pkgs[rel]; !ok {
			pkgs[rel] = nil
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) < 10 {
		t.Fatalf("found only %d packages under internal/", len(pkgs))
	}
	for pkg, imports := range pkgs {
		allow, listed := allowed[pkg]
		if !listed {
			t.Errorf("%s is not in the layering table of this test: add it with what it may import", pkg)
			continue
		}
		for _, imp := range imports {
			if strings.HasPrefix(imp, module) {
				dep := strings.TrimPrefix(imp, module)
				if !contains(allow, dep) && !contains(allow, "*") {
					t.Errorf("%s imports %s, which it must not (layering: see ARCHITECTURE.md)", pkg, dep)
				}
				if isBackend(pkg) && (contains(backendForbidden, dep) || strings.HasPrefix(dep, "internal/search/")) {
					t.Errorf("store backend %s imports %s: parsing, text extraction and search keys belong above the store", pkg, dep)
				}
				continue
			}
			for _, bad := range forbiddenExternal[pkg] {
				if imp == bad || strings.HasPrefix(imp, bad+"/") {
					t.Errorf("%s imports %s, which it must not", pkg, imp)
				}
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestOneStoreOpener checks that the CLI opens its store in one place:
// only internal/cli/store.go (openStore) imports a backend.
func TestOneStoreOpener(t *testing.T) {
	dir, err := filepath.Abs("../cli")
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no files in %s (%v)", dir, err)
	}
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") || filepath.Base(path) == "store.go" {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if isBackend(strings.TrimPrefix(p, module)) {
				t.Errorf("internal/cli/%s imports %s: open stores with openStore (store.go)", filepath.Base(path), p)
			}
		}
	}
}
