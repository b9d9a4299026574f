-- What a copy from another installation (`rookery store copy`,
-- restore.go) must keep for the UIDVALIDITY rules besides what 0001
-- has.
--
-- installation.uidvalidity_floor: at least every UIDVALIDITY the
-- installation (or the one it was copied from) gave before it kept
-- UIDVALIDITY per name (store.InstallationDump.UIDValidityFloor): every
-- account created later starts above it. One row.
CREATE TABLE installation (
	one               boolean PRIMARY KEY DEFAULT true CHECK (one),
	uidvalidity_floor bigint NOT NULL DEFAULT 0
);

INSERT INTO installation DEFAULT VALUES;

-- renew_uidvalidity: a rename gives the mailbox a new UIDVALIDITY (and
-- ID) whatever its new name (store.MailboxDump.RenewOnRename: the
-- installation it was copied from could no longer tell whether an
-- earlier mailbox of that name had its value). This backend never sets
-- it itself.
ALTER TABLE mailboxes ADD COLUMN renew_uidvalidity boolean NOT NULL DEFAULT false;
