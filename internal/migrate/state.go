package migrate

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// MailboxState is what a complete pass over a source mailbox leaves for
// the next run: the source's UIDVALIDITY and HIGHESTMODSEQ when it was
// opened, and the target mailbox's UIDVALIDITY (a target mailbox
// deleted and created again since is compared whole again).
type MailboxState struct {
	UIDValidity       uint32 `json:"uidvalidity"`
	HighestModSeq     uint64 `json:"highestmodseq"`
	TargetUIDValidity uint32 `json:"target_uidvalidity"`
}

// StateFile keeps the MailboxStates of one migration (a source account
// into a target account) in a JSON file. It is an optimisation only:
// whether a message was copied is always decided by the target's
// contents, so a state file lost, stale or written before a crash never
// causes a duplicate; it lets a CONDSTORE source be asked only for
// what changed (CHANGEDSINCE) and skips mailboxes where nothing did.
type StateFile struct {
	path string
	mu   sync.Mutex
	data stateData
}

type stateData struct {
	Source    string                  `json:"source"`
	Login     string                  `json:"login"`
	Account   string                  `json:"account"`
	Mailboxes map[string]MailboxState `json:"mailboxes"`
}

// OpenState reads the state file at path for a migration of login at
// source into account; a missing file, or one written for another
// migration, gives an empty state.
func OpenState(path, source, login, account string) (*StateFile, error) {
	s := &StateFile{path: path, data: stateData{Source: source, Login: login, Account: account, Mailboxes: map[string]MailboxState{}}}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("state file: %w", err)
	}
	var d stateData
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("state file %s: %w (delete it to compare every mailbox again)", path, err)
	}
	if d.Source == source && d.Login == login && d.Account == account && d.Mailboxes != nil {
		s.data = d
	}
	return s, nil
}

// Get returns the state of a source mailbox.
func (s *StateFile) Get(mailbox string) (MailboxState, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.data.Mailboxes[mailbox]
	return m, ok
}

// Set records the state of a source mailbox (Save writes it).
func (s *StateFile) Set(mailbox string, m MailboxState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.data.Mailboxes[mailbox] = m
}

// Save writes the file atomically (a temporary file renamed over it).
func (s *StateFile) Save() error {
	s.mu.Lock()
	b, err := json.MarshalIndent(s.data, "", "  ")
	s.mu.Unlock()
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(s.path), ".migrate-state-*")
	if err != nil {
		return fmt.Errorf("state file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("state file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("state file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("state file: %w", err)
	}
	if err := os.Rename(tmp.Name(), s.path); err != nil {
		return fmt.Errorf("state file: %w", err)
	}
	return nil
}
