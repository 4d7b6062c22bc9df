-- Who asked for a parked change: as the project database's 0011_requesters.
ALTER TABLE approvals ADD COLUMN sid INTEGER;
ALTER TABLE approvals ADD COLUMN pgid INTEGER;
ALTER TABLE approvals ADD COLUMN pid_start INTEGER;
