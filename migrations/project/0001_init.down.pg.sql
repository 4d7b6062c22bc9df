-- Undo 0001_init (PostgreSQL): drop everything it created, dependents first
-- (a table's indexes and triggers go with it).
DROP VIEW zone_stats;
DROP TABLE _orchfs_keys;
DROP TABLE tool_executions;
DROP TABLE tool_permissions;
DROP VIEW transcripts_fts;
DROP TABLE transcripts;
DROP TABLE workflow_tasks;
DROP TABLE zone_executions;
DROP TABLE worktree_zones;
DROP TABLE worktrees;
DROP TABLE zones;
DROP TABLE project_rules;
DROP TABLE task_bugs;
DROP TABLE bugs;
DROP TABLE task_dependencies;
DROP TABLE tasks;
DROP TABLE workflows;
DROP FUNCTION _orchfs_touch();
