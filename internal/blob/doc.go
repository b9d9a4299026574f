// Package blob stores immutable, content-addressed message files.
//
// A blob lives at DIR/ab/cdef… where abcdef… is the hex SHA-256 of its
// bytes. Put streams content into a temporary file in the same file system
// while hashing it, fsyncs it, renames it into place and fsyncs the target
// directory, so a blob that Put reported is durable and a blob that is visible
// under its name is always complete. Identical content is stored once.
//
// The package knows nothing about mailboxes or reference counts: the metadata
// store counts references and calls Delete after its own commit. A crash in
// between leaves an unreferenced file, which ListInfo lets a repair pass
// find; Put of a content already stored refreshes its file's modification
// time, so that a repair pass that spares young files does not remove one
// about to be referenced again. Temporary files are removed by New only
// once stale (StaleTemporary): several processes may share a directory.
//
// All file operations go through FS, so tests can inject faults (FaultFS).
package blob
