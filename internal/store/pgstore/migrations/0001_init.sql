-- Initial schema of the PostgreSQL store. Times of messages are Unix
-- seconds (internal_tz: the zone offset of the internal date in seconds
-- east of UTC), as IMAP needs them to the second with their zone.
-- Names are compared and sorted bytewise (COLLATE "C"), as Go compares
-- strings.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- quota_storage / quota_messages: NULL follows Options.DefaultQuota, 0
-- is unlimited. used_storage / used_messages are maintained by every
-- change of the account's messages in its transaction; the UPDATE that
-- maintains them locks the row, and Append, Copy and Move check the
-- limits against what it returns.
-- uidvalidity_floor: every later UIDVALIDITY of the account is above it.
CREATE TABLE accounts (
	id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	name              text COLLATE "C" NOT NULL UNIQUE,
	password_hash     text NOT NULL,
	scram             text NOT NULL DEFAULT '',
	created           bigint NOT NULL,
	quota_storage     bigint,
	quota_messages    bigint,
	used_storage      bigint NOT NULL DEFAULT 0,
	used_messages     bigint NOT NULL DEFAULT 0,
	uidvalidity_floor bigint NOT NULL DEFAULT 0
);

-- The highest UIDVALIDITY a deleted account had or could have had: an
-- account created again under its name starts above it.
CREATE TABLE retired_accounts (
	name        text COLLATE "C" PRIMARY KEY,
	uidvalidity bigint NOT NULL
);

-- Mailbox IDs come from a sequence and are never reused.
CREATE SEQUENCE mailbox_ids;

-- The per-mailbox counters (n_*, size_*) are maintained by every change
-- in its transaction, so STATUS reads one row. Messages with uid >=
-- recent_from are \Recent and not yet claimed.
CREATE TABLE mailboxes (
	id            bigint PRIMARY KEY DEFAULT nextval('mailbox_ids'),
	account       bigint NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	name          text COLLATE "C" NOT NULL,
	uidvalidity   bigint NOT NULL,
	uidnext       bigint NOT NULL DEFAULT 1,
	highestmodseq bigint NOT NULL DEFAULT 1,
	special_use   text NOT NULL DEFAULT '',
	noselect      boolean NOT NULL DEFAULT false,
	recent_from   bigint NOT NULL DEFAULT 1,
	n_messages    bigint NOT NULL DEFAULT 0,
	n_unseen      bigint NOT NULL DEFAULT 0,
	n_deleted     bigint NOT NULL DEFAULT 0,
	size_all      bigint NOT NULL DEFAULT 0,
	size_deleted  bigint NOT NULL DEFAULT 0,
	UNIQUE (account, name)
);

-- For each name of an account, the UIDVALIDITY of every mailbox that had
-- it and no longer has it: a new mailbox of that name gets more than all
-- of them, and a mailbox renamed to it becomes a new incarnation when
-- its own value is one of them.
CREATE TABLE retired_names (
	account     bigint NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	name        text COLLATE "C" NOT NULL,
	uidvalidity bigint NOT NULL,
	PRIMARY KEY (account, name, uidvalidity)
);

CREATE TABLE subscriptions (
	account bigint NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	name    text COLLATE "C" NOT NULL,
	PRIMARY KEY (account, name)
);

-- Each mailbox's keyword set: key is the keyword in lower case, keyword
-- the spelling first stored. Rows stay until the mailbox is deleted.
CREATE TABLE mailbox_keywords (
	mailbox bigint NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
	key     text COLLATE "C" NOT NULL,
	keyword text NOT NULL,
	PRIMARY KEY (mailbox, key)
);

-- One row per distinct content (hex SHA-256). A small content is kept in
-- content; a large one in blob_chunks under chunks. refcount counts the
-- messages referencing it; a row whose count drops to 0 is deleted in
-- that transaction unless pinned_until (set by WriteBlob, so that the
-- Append following it finds the content) is in the future.
CREATE SEQUENCE chunk_ids;

CREATE TABLE blobs (
	id           text COLLATE "C" PRIMARY KEY,
	size         bigint NOT NULL,
	refcount     bigint NOT NULL DEFAULT 0,
	content      bytea,
	chunks       bigint,
	anatomy      bytea,
	pinned_until timestamptz
);

CREATE INDEX blobs_unreferenced ON blobs(pinned_until) WHERE refcount <= 0;

-- Large contents in pieces of chunkSize bytes (the last one shorter),
-- written by WriteBlob in its own transaction with the blobs row.
CREATE TABLE blob_chunks (
	chunks bigint NOT NULL,
	seq    integer NOT NULL,
	data   bytea NOT NULL,
	PRIMARY KEY (chunks, seq)
);

CREATE TABLE messages (
	mailbox       bigint NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
	uid           bigint NOT NULL,
	modseq        bigint NOT NULL,
	flags         integer NOT NULL,            -- store.SysFlags bit set
	keywords      text[] NOT NULL DEFAULT '{}', -- sorted case-insensitively
	internal_date bigint NOT NULL,
	internal_tz   integer NOT NULL,
	save_date     bigint NOT NULL,
	size          bigint NOT NULL,
	blob          text COLLATE "C" NOT NULL REFERENCES blobs(id),
	-- blob_texts.textver of the content's index text, NULL while it has
	-- none: a search finds the messages to test without a join.
	textver       integer,
	PRIMARY KEY (mailbox, uid)
);

CREATE INDEX messages_modseq ON messages(mailbox, modseq);
CREATE INDEX messages_blob ON messages(blob);
CREATE INDEX messages_deleted ON messages(mailbox, uid) WHERE flags & 8 <> 0;
CREATE INDEX messages_untexted ON messages(mailbox, uid) WHERE textver IS NULL;

-- Expunged UIDs with the mod-sequence of their expunge (QRESYNC), kept
-- until the mailbox is deleted.
CREATE TABLE expunged (
	mailbox bigint NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
	uid     bigint NOT NULL,
	modseq  bigint NOT NULL,
	PRIMARY KEY (mailbox, uid)
);

CREATE INDEX expunged_modseq ON expunged(mailbox, modseq);

-- The index text of a content (store.IndexText, folded by its producer),
-- written with the blob row (Append) or by SetBlobIndex, deleted with it.
-- A trigram index answers substring needles (LIKE '%…%').
CREATE TABLE blob_texts (
	blob      text COLLATE "C" PRIMARY KEY REFERENCES blobs(id) ON DELETE CASCADE,
	textver   integer NOT NULL,
	hfrom     text NOT NULL,
	hto       text NOT NULL,
	hcc       text NOT NULL,
	hbcc      text NOT NULL,
	hsubject  text NOT NULL,
	hother    text NOT NULL,
	body      text NOT NULL,
	date      text NOT NULL,
	subject   text NOT NULL,
	msgid     text NOT NULL,
	inreplyto text NOT NULL,
	refs      text NOT NULL,
	sent      bigint -- Unix seconds of Date; NULL: parse date
);

-- One trigram index over all the fields (a needle is looked up in it,
-- then tested on its own field): one index entry per text instead of
-- seven, the commit path's largest cost. The expression is searchtext()
-- in search.go; a needle never holds the separator.
CREATE INDEX blob_texts_trgm ON blob_texts USING gin (
	(hfrom || E'\n' || hto || E'\n' || hcc || E'\n' || hbcc || E'\n' || hsubject || E'\n' || hother || E'\n' || body) gin_trgm_ops);

-- Contents and texts are compressed when stored (TOAST): with lz4
-- where the server has it, several times cheaper in CPU than the
-- default pglz on the commit path.
DO $$
BEGIN
	ALTER TABLE blobs ALTER COLUMN content SET COMPRESSION lz4;
	ALTER TABLE blobs ALTER COLUMN anatomy SET COMPRESSION lz4;
	ALTER TABLE blob_chunks ALTER COLUMN data SET COMPRESSION lz4;
	ALTER TABLE blob_texts ALTER COLUMN body SET COMPRESSION lz4;
	ALTER TABLE blob_texts ALTER COLUMN hother SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported OR invalid_parameter_value THEN
	RAISE NOTICE 'lz4 unavailable: contents compressed with pglz';
END
$$;
