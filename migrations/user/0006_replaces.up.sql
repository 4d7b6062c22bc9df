-- An INSERT OR REPLACE of a row that is there deletes it and inserts the
-- new one, and SQLite runs no DELETE trigger for that (recursive_triggers
-- is off): 0005_rewrites counted it only below the newest row, so the
-- newest row of the audit log or the feed could be rewritten that way
-- unseen by the readers that count on the rewrite count (fs/stream.c).
-- An insert whose id is taken counts now, before it runs (an INSERT OR
-- IGNORE that then does nothing counts too: a count too many only costs
-- a rendering). An append names no id, or a new one: one index lookup.
CREATE TRIGGER tool_executions_rewrite_replace BEFORE INSERT ON tool_executions
WHEN EXISTS (SELECT 1 FROM tool_executions WHERE id = new.id) BEGIN
  UPDATE _orchfs_rewrites SET n = n + 1 WHERE tbl = 'tool_executions';
END;
CREATE TRIGGER _orchfs_changes_rewrite_replace BEFORE INSERT ON _orchfs_changes
WHEN EXISTS (SELECT 1 FROM _orchfs_changes WHERE seq = new.seq) BEGIN
  UPDATE _orchfs_rewrites SET n = n + 1 WHERE tbl = '_orchfs_changes';
END;
