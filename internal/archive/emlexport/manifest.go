package emlexport

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"rookery/internal/archive/msgfile"
)

// ManifestName is the name of the manifest at the export's root.
const ManifestName = "manifest.json"

// FormatName identifies the format in Manifest.Format.
const FormatName = "rookery-eml-export"

// Version is the version of the manifest this package writes and the
// highest it reads.
const Version = 1

// Manifest describes an export.
type Manifest struct {
	Format  string    `json:"format"`
	Version int       `json:"version"`
	Account string    `json:"account"`
	Created time.Time `json:"created"`
	// SinceModSeq is the --since-modseq of the export: it holds only
	// the messages whose mod-sequence is above it (0: all of them).
	SinceModSeq uint64 `json:"since_modseq,omitempty"`
	// Mailboxes are in name order (parents before children).
	Mailboxes []MailboxEntry `json:"mailboxes"`
}

// MailboxEntry describes one mailbox of an export.
type MailboxEntry struct {
	Name          string   `json:"name"`
	Folder        string   `json:"folder"`
	UIDValidity   uint32   `json:"uidvalidity"`
	UIDNext       uint32   `json:"uidnext"`
	HighestModSeq uint64   `json:"highestmodseq"`
	SpecialUse    string   `json:"special_use,omitempty"`
	Subscribed    bool     `json:"subscribed"`
	Keywords      []string `json:"keywords"`
	// Messages are in UID order.
	Messages []MessageEntry `json:"messages"`
}

// MessageEntry describes one message of an export, kept in the file
// Folder/<UID>.eml of its mailbox.
type MessageEntry struct {
	UID uint32 `json:"uid"`
	// Flags are its system flags (\Seen...) and keywords.
	Flags []string `json:"flags"`
	// InternalDate keeps its zone (RFC 3339 with the offset).
	InternalDate time.Time `json:"internal_date"`
	SaveDate     time.Time `json:"save_date"`
	Size         int64     `json:"size"`
	// SHA256 is the hex SHA-256 of the content (Rookery's BlobID).
	SHA256 string `json:"sha256"`
	ModSeq uint64 `json:"modseq"`
}

// ReadManifest reads the manifest of the export in dir; an error
// wrapping fs.ErrNotExist when there is none.
func ReadManifest(dir string) (*Manifest, error) {
	p := filepath.Join(dir, ManifestName)
	f, err := msgfile.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m, err := parseManifest(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	return m, nil
}

// parseManifest decodes and checks a manifest.
func parseManifest(r io.Reader) (*Manifest, error) {
	var m Manifest
	if err := json.NewDecoder(r).Decode(&m); err != nil {
		return nil, err
	}
	if err := m.check(); err != nil {
		return nil, err
	}
	return &m, nil
}

// errManifest is a manifest that this package could not have written.
var errManifest = errors.New("invalid manifest")

// check refuses a manifest that is not of this format or whose entries
// could not describe an export: a folder outside the directory, two
// mailboxes of one name or folder, UIDs out of order, a size or hash
// that cannot be.
func (m *Manifest) check() error {
	if m.Format != FormatName {
		return fmt.Errorf("%w: format %q, want %q", errManifest, m.Format, FormatName)
	}
	if m.Version < 1 || m.Version > Version {
		return fmt.Errorf("%w: version %d, this rookery reads 1 to %d", errManifest, m.Version, Version)
	}
	names, folders := map[string]bool{}, map[string]bool{}
	for _, mb := range m.Mailboxes {
		if mb.Name == "" || names[mb.Name] {
			return fmt.Errorf("%w: mailbox name %q empty or repeated", errManifest, mb.Name)
		}
		if !safeFolder(mb.Folder) || folders[mb.Folder] {
			return fmt.Errorf("%w: mailbox %q: folder %q is not a folder of its own inside the export", errManifest, mb.Name, mb.Folder)
		}
		names[mb.Name], folders[mb.Folder] = true, true
		var last uint32
		for _, e := range mb.Messages {
			if e.UID <= last {
				return fmt.Errorf("%w: mailbox %q: UID %d after UID %d", errManifest, mb.Name, e.UID, last)
			}
			last = e.UID
			if e.Size < 0 || len(e.SHA256) != 64 {
				return fmt.Errorf("%w: mailbox %q, UID %d: size %d, sha256 %q", errManifest, mb.Name, e.UID, e.Size, e.SHA256)
			}
		}
	}
	return nil
}

// writeManifest writes m as dir's manifest durably: a temporary file,
// fsync, rename, fsync of dir.
func writeManifest(dir string, m *Manifest) error {
	tmp := filepath.Join(dir, "."+ManifestName+".tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(f)
	enc.SetIndent("", " ")
	err = enc.Encode(m)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, ManifestName))
	}
	if err == nil {
		err = syncDir(dir)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write %s: %w", filepath.Join(dir, ManifestName), err)
	}
	return nil
}

// removeManifest removes dir's manifest durably (none is no error).
func removeManifest(dir string) error {
	if err := os.Remove(filepath.Join(dir, ManifestName)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return syncDir(dir)
}

// syncDir makes the entries of dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
