-- Undo 0005_rewrites: its triggers are on tables that stay, so they are
-- dropped by name, then its table.
DROP TRIGGER tool_executions_rewrite_update;
DROP TRIGGER tool_executions_rewrite_delete;
DROP TRIGGER tool_executions_rewrite_insert;
DROP TRIGGER _orchfs_changes_rewrite_update;
DROP TRIGGER _orchfs_changes_rewrite_delete;
DROP TRIGGER _orchfs_changes_rewrite_insert;
DROP TABLE _orchfs_rewrites;
