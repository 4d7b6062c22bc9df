-- Undo 0003_permissions (PostgreSQL).
DROP TRIGGER approvals_feed_update ON approvals;
DROP TRIGGER approvals_feed_insert ON approvals;
DROP TRIGGER approvals_touch ON approvals;
DROP INDEX approvals_status;
DROP TABLE approvals;
ALTER TABLE tool_executions DROP COLUMN process;
