-- 0009_replaces adds, in SQLite, to the rewrite counts of 0008_rewrites,
-- which PostgreSQL does not keep (no rendering cache reads them): this step
-- adds nothing here (tests/pg/schema_parity.py knows).
SELECT 1;
