-- Initial schema. Times are Unix seconds; internal_tz is the zone offset of
-- the internal date in seconds east of UTC.

CREATE TABLE counters (
	name  TEXT PRIMARY KEY,
	value INTEGER NOT NULL
) WITHOUT ROWID;

-- Last UIDVALIDITY handed out: the next is max(unix time, last+1), so a
-- deleted and recreated mailbox never gets an old value back.
INSERT INTO counters(name, value) VALUES ('uidvalidity', 0);

CREATE TABLE accounts (
	id            INTEGER PRIMARY KEY,
	name          TEXT NOT NULL UNIQUE,
	password_hash TEXT NOT NULL,
	created       INTEGER NOT NULL
);

CREATE TABLE mailboxes (
	id            INTEGER PRIMARY KEY,
	account       INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	name          TEXT NOT NULL,
	uidvalidity   INTEGER NOT NULL,
	uidnext       INTEGER NOT NULL,
	highestmodseq INTEGER NOT NULL,
	special_use   TEXT NOT NULL DEFAULT '',
	noselect      INTEGER NOT NULL DEFAULT 0,
	-- Messages with uid >= recent_from are \Recent and not yet claimed.
	recent_from   INTEGER NOT NULL DEFAULT 1,
	UNIQUE (account, name)
);

CREATE TABLE subscriptions (
	account INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	name    TEXT NOT NULL,
	PRIMARY KEY (account, name)
) WITHOUT ROWID;

-- One row per distinct content referenced by at least one message. Rows
-- whose refcount reaches 0 are deleted in the same transaction and their
-- files removed after the commit.
CREATE TABLE blobs (
	id       TEXT PRIMARY KEY,
	size     INTEGER NOT NULL,
	refcount INTEGER NOT NULL
) WITHOUT ROWID;

CREATE INDEX blobs_unreferenced ON blobs(id) WHERE refcount <= 0;

CREATE TABLE messages (
	mailbox       INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
	uid           INTEGER NOT NULL,
	modseq        INTEGER NOT NULL,
	flags         INTEGER NOT NULL,       -- store.SysFlags bit set
	keywords      TEXT NOT NULL DEFAULT '', -- sorted, space-separated; '' for none
	internal_date INTEGER NOT NULL,
	internal_tz   INTEGER NOT NULL,
	save_date     INTEGER NOT NULL,
	size          INTEGER NOT NULL,
	blob          TEXT NOT NULL REFERENCES blobs(id),
	PRIMARY KEY (mailbox, uid)
) WITHOUT ROWID;

CREATE INDEX messages_modseq ON messages(mailbox, modseq);

-- Expunged UIDs with the mod-sequence of their expunge (QRESYNC); kept
-- until the mailbox is deleted.
CREATE TABLE expunged (
	mailbox INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
	uid     INTEGER NOT NULL,
	modseq  INTEGER NOT NULL,
	PRIMARY KEY (mailbox, uid)
) WITHOUT ROWID;
