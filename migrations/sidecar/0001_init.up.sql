-- The sidecar: orchfs's own tables beside a tool's database file that it
-- mounts as it is (orchfs mount --schema …) and never alters. Attached to
-- every connection as schema "orchfs" (store/db.c). Same shapes as in
-- orchfs's own project database (migrations/project).

-- The audit log (SPEC §6): one row per change through the mount and per
-- refused attempt, with the entity's JSON before and after.
CREATE TABLE tool_executions (
  id            INTEGER PRIMARY KEY,
  tool_name     TEXT NOT NULL,
  process       TEXT,
  pid           INTEGER,
  uid           INTEGER,
  operation     TEXT NOT NULL,
  path          TEXT,
  arguments     TEXT CHECK (arguments IS NULL OR json_valid(arguments)),
  result        TEXT,
  status        TEXT NOT NULL
                CHECK (status IN ('success','failure','denied','approved','rejected','pending')),
  duration_ms   REAL,
  user_approval INTEGER CHECK (user_approval IN (0, 1)),
  task_id       TEXT,
  collection    TEXT,
  entity_key    TEXT,
  before_json   TEXT CHECK (before_json IS NULL OR json_valid(before_json)),
  after_json    TEXT CHECK (after_json IS NULL OR json_valid(after_json)),
  created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  updated_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);
CREATE INDEX tool_executions_tool ON tool_executions(tool_name, id);
CREATE INDEX tool_executions_task ON tool_executions(task_id, id);
CREATE INDEX tool_executions_entity ON tool_executions(collection, entity_key, id);

-- Next number for allocated keys (TASK-NNN), so allocation never scans.
CREATE TABLE _orchfs_keys (
  collection TEXT PRIMARY KEY NOT NULL,
  last       INTEGER NOT NULL
);

-- The change feed: filled by TEMP triggers on the mounting connections, so
-- it lists the changes made through orchfs (the tool's own writes show in
-- the tree at once but cannot be fed without altering its file).
CREATE TABLE _orchfs_changes (
  seq        INTEGER PRIMARY KEY AUTOINCREMENT,
  time       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  collection TEXT NOT NULL,
  entity_key TEXT NOT NULL,
  operation  TEXT NOT NULL CHECK (operation IN ('create','update','delete','link','unlink','append')),
  tool       TEXT,
  pid        INTEGER,
  audit_id   INTEGER
);
CREATE INDEX _orchfs_changes_entity ON _orchfs_changes (collection, entity_key, seq);

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
