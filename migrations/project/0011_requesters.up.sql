-- Who asked for a parked change, so that no process of its own decides on
-- it, even once the processes between them have exited (store/approval.c):
-- the asking process's session (sid) and process group (pgid), and when it
-- started (pid_start: clock ticks after boot, as /proc/PID/stat says; with
-- pid it names one process, not a later one given the same number). Null in
-- the rows parked before, and when the mount could not see the process.
ALTER TABLE approvals ADD COLUMN sid INTEGER;
ALTER TABLE approvals ADD COLUMN pgid INTEGER;
ALTER TABLE approvals ADD COLUMN pid_start INTEGER;
