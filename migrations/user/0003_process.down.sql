-- Undo 0003_process.
ALTER TABLE tool_executions DROP COLUMN process;
