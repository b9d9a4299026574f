package durable

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// SyncFS writes to disk every file of the file system that holds dir
// whose data is not yet there (syncfs(2)): one call for all the files an
// export wrote since its last SyncFS. files is not needed on Linux.
func SyncFS(dir string, files []string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := unix.Syncfs(int(d.Fd())); err != nil {
		return fmt.Errorf("syncfs %s: %w", dir, err)
	}
	return nil
}
