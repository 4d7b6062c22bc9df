-- Undo 0009_replaces: nothing to undo on PostgreSQL.
SELECT 1;
