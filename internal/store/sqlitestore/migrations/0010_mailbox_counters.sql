-- Per-mailbox counters for STATUS (and LIST-STATUS): the number of
-- messages, of those without \Seen (flag bit 1), of those with \Deleted
-- (bit 8), their total size and the size of the \Deleted ones. Kept by the
-- triggers below in the transaction of every insert, delete and flag
-- change, so STATUS reads one row instead of counting a mailbox's
-- messages (100k messages: one row instead of a 100k-row scan).

ALTER TABLE mailboxes ADD COLUMN n_messages INTEGER NOT NULL DEFAULT 0;
ALTER TABLE mailboxes ADD COLUMN n_unseen INTEGER NOT NULL DEFAULT 0;
ALTER TABLE mailboxes ADD COLUMN n_deleted INTEGER NOT NULL DEFAULT 0;
ALTER TABLE mailboxes ADD COLUMN size_all INTEGER NOT NULL DEFAULT 0;
ALTER TABLE mailboxes ADD COLUMN size_deleted INTEGER NOT NULL DEFAULT 0;

UPDATE mailboxes SET
	n_messages = (SELECT count(*) FROM messages g WHERE g.mailbox = mailboxes.id),
	n_unseen = (SELECT count(*) FROM messages g WHERE g.mailbox = mailboxes.id AND g.flags & 1 = 0),
	n_deleted = (SELECT count(*) FROM messages g WHERE g.mailbox = mailboxes.id AND g.flags & 8 != 0),
	size_all = (SELECT coalesce(sum(g.size), 0) FROM messages g WHERE g.mailbox = mailboxes.id),
	size_deleted = (SELECT coalesce(sum(g.size), 0) FROM messages g WHERE g.mailbox = mailboxes.id AND g.flags & 8 != 0);

CREATE TRIGGER messages_counters_insert AFTER INSERT ON messages BEGIN
	UPDATE mailboxes SET
		n_messages = n_messages + 1,
		n_unseen = n_unseen + (NEW.flags & 1 = 0),
		n_deleted = n_deleted + (NEW.flags & 8 != 0),
		size_all = size_all + NEW.size,
		size_deleted = size_deleted + (CASE WHEN NEW.flags & 8 != 0 THEN NEW.size ELSE 0 END)
	WHERE id = NEW.mailbox;
END;

CREATE TRIGGER messages_counters_delete AFTER DELETE ON messages BEGIN
	UPDATE mailboxes SET
		n_messages = n_messages - 1,
		n_unseen = n_unseen - (OLD.flags & 1 = 0),
		n_deleted = n_deleted - (OLD.flags & 8 != 0),
		size_all = size_all - OLD.size,
		size_deleted = size_deleted - (CASE WHEN OLD.flags & 8 != 0 THEN OLD.size ELSE 0 END)
	WHERE id = OLD.mailbox;
END;

CREATE TRIGGER messages_counters_update AFTER UPDATE OF mailbox, flags, size ON messages
WHEN OLD.mailbox != NEW.mailbox OR OLD.flags != NEW.flags OR OLD.size != NEW.size BEGIN
	UPDATE mailboxes SET
		n_messages = n_messages - 1,
		n_unseen = n_unseen - (OLD.flags & 1 = 0),
		n_deleted = n_deleted - (OLD.flags & 8 != 0),
		size_all = size_all - OLD.size,
		size_deleted = size_deleted - (CASE WHEN OLD.flags & 8 != 0 THEN OLD.size ELSE 0 END)
	WHERE id = OLD.mailbox;
	UPDATE mailboxes SET
		n_messages = n_messages + 1,
		n_unseen = n_unseen + (NEW.flags & 1 = 0),
		n_deleted = n_deleted + (NEW.flags & 8 != 0),
		size_all = size_all + NEW.size,
		size_deleted = size_deleted + (CASE WHEN NEW.flags & 8 != 0 THEN NEW.size ELSE 0 END)
	WHERE id = NEW.mailbox;
END;
