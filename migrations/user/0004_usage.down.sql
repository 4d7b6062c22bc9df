-- Undo 0004_usage: drop its tables, dependents first (their indexes and
-- triggers go with them).
DROP TABLE usage_logs;
DROP TABLE llm_pricing;
DROP TABLE budgets;
DROP TABLE sessions;
