-- Undo 0005_orc (PostgreSQL): drop its tables, dependents first (their indexes and
-- triggers go with them).
DROP TABLE initiative_tasks;
DROP TABLE initiative_dependencies;
DROP TABLE initiative_decisions;
DROP TABLE initiatives;
DROP TABLE branches;
DROP TABLE event_log;
DROP TABLE gate_decisions;
DROP TABLE review_comments;
DROP TABLE task_comments;
DROP TABLE phase_outputs;
DROP TABLE workflow_run_phases;
DROP TABLE workflow_runs;
DROP TABLE phase_templates;
DROP TABLE phases;
DROP FUNCTION _orchfs_event_log_dedup();
