-- The messages flagged \Deleted (flag bit 8) of each mailbox, so that
-- EXPUNGE (and CLOSE) find them without reading the whole mailbox:
-- imaptest-style clients EXPUNGE after nearly every change, and that was a
-- scan of every message of the mailbox each time.
CREATE INDEX messages_deleted ON messages(mailbox, uid) WHERE flags & 8 != 0;
