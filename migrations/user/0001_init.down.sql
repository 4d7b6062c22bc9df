-- Undo 0001_init of the user database.
DROP TABLE _orchfs_keys;
DROP TABLE tool_executions;
DROP TABLE workflow_templates;
DROP TABLE prompts;
DROP TABLE llm_providers;
