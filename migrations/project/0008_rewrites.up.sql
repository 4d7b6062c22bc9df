-- How often rows already written to the two append-mostly tables (the audit
-- log and the change feed) were changed, deleted, or joined by a row below
-- the newest. A reader that knew a stream's size (audit.jsonl,
-- changes.jsonl) when n was some value can add the rows after the last one
-- it saw, as long as n is still that value, instead of rendering the whole
-- stream again (fs/view.c): inserts at the end, by far the most common
-- write, do not touch this table; anything else moves n. Triggers keep it,
-- so the sqlite3 shell and other orchestrators move it too. Derived: not in
-- an export (store/export.c). One update leaves n alone: orchfs signing
-- the feed rows its own transaction wrote (tool, pid and audit_id set where
-- all three were unset, audit_id the audit row it has just written, the
-- newest), which the readers of the stream see as new rows anyway. (Another
-- writer signing old rows that way would not be counted; none does: the
-- feed's tool, pid and audit_id are orchfs's.)
CREATE TABLE _orchfs_rewrites (
  tbl TEXT PRIMARY KEY NOT NULL,
  n   INTEGER NOT NULL DEFAULT 0
);
INSERT INTO _orchfs_rewrites (tbl) VALUES ('tool_executions'), ('_orchfs_changes');
CREATE TRIGGER tool_executions_rewrite_update AFTER UPDATE ON tool_executions BEGIN
  UPDATE _orchfs_rewrites SET n = n + 1 WHERE tbl = 'tool_executions';
END;
CREATE TRIGGER tool_executions_rewrite_delete AFTER DELETE ON tool_executions BEGIN
  UPDATE _orchfs_rewrites SET n = n + 1 WHERE tbl = 'tool_executions';
END;
CREATE TRIGGER tool_executions_rewrite_insert AFTER INSERT ON tool_executions
WHEN new.id < (SELECT max(id) FROM tool_executions) BEGIN
  UPDATE _orchfs_rewrites SET n = n + 1 WHERE tbl = 'tool_executions';
END;
CREATE TRIGGER _orchfs_changes_rewrite_update AFTER UPDATE ON _orchfs_changes
WHEN NOT (new.seq IS old.seq AND new.time IS old.time AND new.collection IS old.collection
          AND new.entity_key IS old.entity_key AND new.operation IS old.operation
          AND old.tool IS NULL AND old.pid IS NULL AND old.audit_id IS NULL
          AND new.audit_id IS NOT NULL AND new.audit_id IS (SELECT max(id) FROM tool_executions)) BEGIN
  UPDATE _orchfs_rewrites SET n = n + 1 WHERE tbl = '_orchfs_changes';
END;
CREATE TRIGGER _orchfs_changes_rewrite_delete AFTER DELETE ON _orchfs_changes BEGIN
  UPDATE _orchfs_rewrites SET n = n + 1 WHERE tbl = '_orchfs_changes';
END;
CREATE TRIGGER _orchfs_changes_rewrite_insert AFTER INSERT ON _orchfs_changes
WHEN new.seq < (SELECT max(seq) FROM _orchfs_changes) BEGIN
  UPDATE _orchfs_rewrites SET n = n + 1 WHERE tbl = '_orchfs_changes';
END;
