-- The audit row names the acting process apart from the tool (see the
-- project database's 0003_permissions).
ALTER TABLE tool_executions ADD COLUMN process TEXT;
