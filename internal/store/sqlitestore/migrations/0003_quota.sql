-- Quotas (RFC 9208) and SCRAM-SHA-256 verifiers.
--
-- quota_storage / quota_messages: NULL follows the store's default quota
-- (sqlitestore.Options.DefaultQuota), 0 is unlimited, > 0 is the limit in
-- bytes / messages. used_storage / used_messages are maintained by the
-- triggers below in the same transaction as every insert and delete of a
-- message, so Append/Copy can check the limits inside their transaction.

ALTER TABLE accounts ADD COLUMN quota_storage INTEGER;
ALTER TABLE accounts ADD COLUMN quota_messages INTEGER;
ALTER TABLE accounts ADD COLUMN used_storage INTEGER NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN used_messages INTEGER NOT NULL DEFAULT 0;
-- SCRAM-SHA-256 verifier encoded by package auth; '' when unknown.
ALTER TABLE accounts ADD COLUMN scram TEXT NOT NULL DEFAULT '';

UPDATE accounts SET
	used_storage = (SELECT coalesce(sum(g.size), 0) FROM messages g JOIN mailboxes m ON g.mailbox = m.id WHERE m.account = accounts.id),
	used_messages = (SELECT count(*) FROM messages g JOIN mailboxes m ON g.mailbox = m.id WHERE m.account = accounts.id);

CREATE TRIGGER messages_usage_insert AFTER INSERT ON messages BEGIN
	UPDATE accounts SET used_storage = used_storage + NEW.size, used_messages = used_messages + 1
	WHERE id = (SELECT account FROM mailboxes WHERE id = NEW.mailbox);
END;

CREATE TRIGGER messages_usage_delete AFTER DELETE ON messages BEGIN
	UPDATE accounts SET used_storage = used_storage - OLD.size, used_messages = used_messages - 1
	WHERE id = (SELECT account FROM mailboxes WHERE id = OLD.mailbox);
END;

-- Messages only move between mailboxes of one account (RENAME INBOX), but
-- keep the counters right should that ever change.
CREATE TRIGGER messages_usage_move AFTER UPDATE OF mailbox, size ON messages
WHEN OLD.mailbox != NEW.mailbox OR OLD.size != NEW.size BEGIN
	UPDATE accounts SET used_storage = used_storage - OLD.size, used_messages = used_messages - 1
	WHERE id = (SELECT account FROM mailboxes WHERE id = OLD.mailbox);
	UPDATE accounts SET used_storage = used_storage + NEW.size, used_messages = used_messages + 1
	WHERE id = (SELECT account FROM mailboxes WHERE id = NEW.mailbox);
END;
