// Package emlexport is Rookery's own export format (`rookery export
// --format eml`): a directory with a folder per mailbox, one <UID>.eml
// file per message holding its content exactly as stored, byte for byte,
// and manifest.json at its root describing the account, each mailbox
// (name, folder, UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ, special-use,
// subscription, keyword set) and each message (UID, flags and keywords,
// internal date with its zone, save date, size, SHA-256 of the content,
// mod-sequence). Writer writes one (incrementally into an earlier one),
// Reader reads one back for `rookery import`.
//
// Invariants:
//   - The manifest is the authority: a file the manifest does not list
//     is not part of the export. Message files are written under
//     their final names (the rule below keeps every listed one
//     intact); all of them are made durable before the manifest is
//     written (through a temporary name, fsync and rename), so an
//     export interrupted anywhere leaves either the previous manifest,
//     every file of which is intact, or none.
//   - A run never changes or removes a file the previous manifest lists
//     while that manifest is in place: it removes the manifest first
//     when it must (a mailbox recreated with a new UIDVALIDITY reuses
//     UID file names), and removes the files of messages gone only
//     after the new manifest is durable.
//   - Folder names are derived from mailbox names reversibly (see
//     FolderPath); the manifest records each folder anyway, and a
//     Reader refuses one that leaves the export directory.
package emlexport
