-- QRESYNC and CHANGEDSINCE ask for the UIDs expunged after a mod-sequence:
-- index them by mod-sequence so that the question does not scan every
-- expunged UID the mailbox ever had (they are kept until the mailbox is
-- deleted).
CREATE INDEX expunged_modseq ON expunged(mailbox, modseq);
