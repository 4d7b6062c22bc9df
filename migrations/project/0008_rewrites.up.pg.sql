-- 0008_rewrites keeps, in SQLite, a count of rewrites of the audit log and
-- the change feed, for the mount's rendering cache to extend a stream's
-- size by its new rows (fs/view.c). On PostgreSQL the mount keeps no
-- rendering cache, so nothing would read it: this step adds nothing here
-- (tests/pg/schema_parity.py knows).
SELECT 1;
