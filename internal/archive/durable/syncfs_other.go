//go:build !linux

package durable

import (
	"fmt"
	"os"
)

// SyncFS writes files to disk, one fsync each (there is no syncfs(2)
// here). dir is not needed.
func SyncFS(dir string, files []string) error {
	for _, p := range files {
		f, err := os.OpenFile(p, os.O_RDWR, 0)
		if err != nil {
			return err
		}
		err = f.Sync()
		f.Close()
		if err != nil {
			return fmt.Errorf("fsync %s: %w", p, err)
		}
	}
	return nil
}
