-- Undo 0009_replaces.
DROP TRIGGER tool_executions_rewrite_replace;
DROP TRIGGER _orchfs_changes_rewrite_replace;
