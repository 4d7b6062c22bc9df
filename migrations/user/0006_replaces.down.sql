-- Undo 0006_replaces.
DROP TRIGGER tool_executions_rewrite_replace;
DROP TRIGGER _orchfs_changes_rewrite_replace;
