-- Permissions and approvals (SPEC §6).
-- The audit row names the tool and, separately, the process that acted: for
-- a change through the mount they are the same (the process is the tool);
-- for a tool call an agent records itself (>> audit.jsonl) the tool is what
-- the agent says and the process is the agent.
ALTER TABLE tool_executions ADD COLUMN process TEXT;

-- Changes parked by a requires_approval rule until a person decides.
CREATE TABLE approvals (
  id          INTEGER PRIMARY KEY,
  tool_name   TEXT NOT NULL,
  pid         INTEGER,
  uid         INTEGER,
  operation   TEXT NOT NULL,
  path        TEXT NOT NULL,
  collection  TEXT NOT NULL,
  entity_key  TEXT,
  payload     TEXT CHECK (payload IS NULL OR json_valid(payload)),
  before_json TEXT CHECK (before_json IS NULL OR json_valid(before_json)),
  after_json  TEXT CHECK (after_json IS NULL OR json_valid(after_json)),
  status      TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending','approved','rejected')),
  reason      TEXT,
  decided_by  TEXT,
  decided_at  TEXT,
  revision    INTEGER NOT NULL DEFAULT 1,
  created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  updated_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);
CREATE INDEX approvals_status ON approvals(status, id);
CREATE TRIGGER approvals_touch AFTER UPDATE ON approvals WHEN new.revision = old.revision BEGIN
  UPDATE approvals SET revision = old.revision + 1,
    updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE id = new.id;
END;
CREATE TRIGGER approvals_feed_insert AFTER INSERT ON approvals BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('approvals', new.id, 'create');
END;
CREATE TRIGGER approvals_feed_update AFTER UPDATE ON approvals WHEN new.revision <> old.revision BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('approvals', new.id, 'update');
END;
