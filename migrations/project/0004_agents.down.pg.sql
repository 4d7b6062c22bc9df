-- Undo 0004_agents (PostgreSQL): drop its tables, dependents first (their indexes and
-- triggers go with them).
DROP TABLE system_logs;
DROP TABLE agent_logs;
DROP TABLE prompts;
DROP TABLE agents;
DROP TABLE orchestrator_agents;
