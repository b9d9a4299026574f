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
// between leaves an unreferenced file, which List lets a repair pass find.
//
// All file operations go through FS, so tests can inject faults (FaultFS).
package blob
