-- Undo 0001_init: the sidecar holds nothing but orchfs's own tables.
DROP TRIGGER approvals_feed_update;
DROP TRIGGER approvals_feed_insert;
DROP TRIGGER approvals_touch;
DROP INDEX approvals_status;
DROP TABLE approvals;
DROP INDEX _orchfs_changes_entity;
DROP TABLE _orchfs_changes;
DROP TABLE _orchfs_keys;
DROP INDEX tool_executions_entity;
DROP INDEX tool_executions_task;
DROP INDEX tool_executions_tool;
DROP TABLE tool_executions;
