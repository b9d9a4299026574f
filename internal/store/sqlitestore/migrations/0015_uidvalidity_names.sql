-- UIDVALIDITY per name instead of one server-wide counter (issue 12).
--
-- Until now a new mailbox got max(unix time, last+1) from the counter
-- 'uidvalidity', so 30,000 CREATEs (one command creating 30,000 levels)
-- pushed every later UIDVALIDITY of the server 30,000 seconds ahead of
-- the clock. RFC 9051 §2.3.1.1 only asks that the name, UIDVALIDITY and
-- UID of a message never name another message: a new mailbox now gets
-- the current time, unless an earlier mailbox of the same name had that
-- value or a later one, and mailboxes of different names may share a
-- value. What the store must remember for that:
--
-- retired_names: for each name of an account, the UIDVALIDITY of every
-- mailbox that had it and no longer has it (deleted, replaced, renamed
-- away). A new mailbox of that name gets more than all of them; a
-- mailbox renamed to it keeps its value unless it is one of them (then
-- it is given a new UIDVALIDITY and ID, sqlitestore.renewMailbox). A row
-- is dropped once its value is in the past and no live mailbox of the
-- account has that value: no mailbox can then ever come to carry it
-- again (accounts.uidvalidity_floor keeps the highest dropped value,
-- and values are allocated above it). At most retiredCap rows per account
-- are kept: beyond, the lowest go, live mailboxes sharing their values
-- are marked renew_uidvalidity (a rename gives them a new UIDVALIDITY)
-- and the floor rises.
CREATE TABLE retired_names (
	account     INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	name        TEXT NOT NULL,
	uidvalidity INTEGER NOT NULL,
	PRIMARY KEY (account, name, uidvalidity)
) WITHOUT ROWID;

CREATE INDEX retired_names_value ON retired_names(account, uidvalidity);
CREATE INDEX mailboxes_uidvalidity ON mailboxes(account, uidvalidity);

-- Every UIDVALIDITY handed out so far is at most the old counter, and
-- names deleted before this migration are not in retired_names: values
-- are allocated above it for every existing account.
ALTER TABLE accounts ADD COLUMN uidvalidity_floor INTEGER NOT NULL DEFAULT 0;
UPDATE accounts SET uidvalidity_floor = (SELECT value FROM counters WHERE name = 'uidvalidity');

ALTER TABLE mailboxes ADD COLUMN renew_uidvalidity INTEGER NOT NULL DEFAULT 0;

-- The counter 'uidvalidity' is no longer advanced: it bounds every value
-- handed out before this migration, and a new account's floor is at
-- least it. retired_accounts keeps, for the name of a deleted account,
-- the highest UIDVALIDITY it had or could have had (its floor, its
-- mailboxes, its retired names): an account created again under that
-- name starts above it, so a client that knew the old one sees every
-- mailbox as new.
CREATE TABLE retired_accounts (
	name        TEXT PRIMARY KEY,
	uidvalidity INTEGER NOT NULL
) WITHOUT ROWID;

-- 'mailbox_id' is the highest mailbox ID given: IDs are never reused,
-- so that MAILBOXID ("F" id "-" UIDVALIDITY, RFC 8474) stays unique now
-- that UIDVALIDITY values are shared.
INSERT INTO counters(name, value) SELECT 'mailbox_id', coalesce(max(id), 0) FROM mailboxes;
