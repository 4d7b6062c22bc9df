-- Undo 0008_rewrites on PostgreSQL: it added nothing.
SELECT 1;
