-- Undo 0003_permissions.
DROP TRIGGER approvals_feed_update;
DROP TRIGGER approvals_feed_insert;
DROP TRIGGER approvals_touch;
DROP INDEX approvals_status;
DROP TABLE approvals;
ALTER TABLE tool_executions DROP COLUMN process;
