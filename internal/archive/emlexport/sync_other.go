//go:build !linux

package emlexport

import "os"

// syncFiles makes the files written (paths) durable, one fsync each.
func syncFiles(_ string, paths []string) error {
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		err = f.Sync()
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}
