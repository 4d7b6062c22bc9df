-- Undo 0011_requesters.
ALTER TABLE approvals DROP COLUMN pid_start;
ALTER TABLE approvals DROP COLUMN pgid;
ALTER TABLE approvals DROP COLUMN sid;
