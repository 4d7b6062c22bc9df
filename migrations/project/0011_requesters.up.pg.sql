-- Who asked for a parked change (PostgreSQL's form of 0011_requesters.up.sql):
-- the asking process's session, process group and start time.
ALTER TABLE approvals ADD COLUMN sid BIGINT;
ALTER TABLE approvals ADD COLUMN pgid BIGINT;
ALTER TABLE approvals ADD COLUMN pid_start BIGINT;
