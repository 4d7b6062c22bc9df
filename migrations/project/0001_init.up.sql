-- orchfs project database, version 1.
-- Column and value sets follow ../shared/SEEDS.md (Orca, AI-Orchestra, orc).
-- Every entity table has created_at/updated_at (ISO 8601 UTC, milliseconds)
-- and a revision that grows by one with every change: orchfs bumps it itself,
-- and a trigger bumps it for writers that do not (the sqlite3 shell, other
-- orchestrators), so a stale edit can always be told from a fresh one.

CREATE TABLE workflows (
  id               TEXT PRIMARY KEY NOT NULL,
  name             TEXT NOT NULL DEFAULT '',
  description      TEXT,
  status           TEXT NOT NULL DEFAULT 'pending'
                   CHECK (status IN ('pending','running','completed','failed','cancelled','paused')),
  pattern          TEXT CHECK (pattern IN ('react','plan_execute','reflection')),
  template_id      TEXT,
  definition       TEXT CHECK (definition IS NULL OR json_valid(definition)),
  routing_strategy TEXT,
  metadata         TEXT CHECK (metadata IS NULL OR json_valid(metadata)),
  started_at       TEXT,
  completed_at     TEXT,
  revision         INTEGER NOT NULL DEFAULT 1,
  created_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  updated_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);

CREATE TABLE tasks (
  id            TEXT PRIMARY KEY NOT NULL,
  title         TEXT NOT NULL DEFAULT '',
  description   TEXT,
  status        TEXT NOT NULL DEFAULT 'created'
                CHECK (status IN ('created','pending','classifying','planned','running','paused',
                                  'blocked','finalizing','completed','failed','resolved','cancelled')),
  priority      INTEGER NOT NULL DEFAULT 0,
  weight        TEXT,
  category      TEXT,
  queue         TEXT,
  current_phase TEXT,
  branch        TEXT,
  worktree_path TEXT,
  workflow_id   TEXT REFERENCES workflows(id) ON DELETE SET NULL,
  result        TEXT,
  error         TEXT,
  metadata      TEXT CHECK (metadata IS NULL OR json_valid(metadata)),
  started_at    TEXT,
  completed_at  TEXT,
  revision      INTEGER NOT NULL DEFAULT 1,
  created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  updated_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);
CREATE INDEX tasks_status ON tasks(status, id);

CREATE TABLE task_dependencies (
  task_id    TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
  depends_on TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  PRIMARY KEY (task_id, depends_on),
  CHECK (task_id <> depends_on)
) WITHOUT ROWID;
CREATE INDEX task_dependencies_reverse ON task_dependencies(depends_on, task_id);

CREATE TABLE bugs (
  id            TEXT PRIMARY KEY NOT NULL,
  title         TEXT NOT NULL,
  description   TEXT,
  status        TEXT NOT NULL DEFAULT 'open'
                CHECK (status IN ('open','in_progress','fixed','wontfix','duplicate')),
  priority      INTEGER NOT NULL DEFAULT 3 CHECK (priority BETWEEN 1 AND 5),
  severity      TEXT,
  assignee      TEXT,
  reporter      TEXT,
  labels        TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(labels) AND json_type(labels) = 'array'),
  related_files TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(related_files) AND json_type(related_files) = 'array'),
  metadata      TEXT CHECK (metadata IS NULL OR json_valid(metadata)),
  resolved_at   TEXT,
  revision      INTEGER NOT NULL DEFAULT 1,
  created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  updated_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);
CREATE INDEX bugs_status ON bugs(status, id);
CREATE INDEX bugs_priority ON bugs(priority, id);

CREATE TABLE task_bugs (
  task_id      TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
  bug_id       TEXT NOT NULL REFERENCES bugs(id) ON DELETE CASCADE,
  relationship TEXT NOT NULL DEFAULT 'fixes',
  created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  updated_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  PRIMARY KEY (task_id, bug_id)
) WITHOUT ROWID;
CREATE INDEX task_bugs_reverse ON task_bugs(bug_id, task_id);

CREATE TABLE project_rules (
  id          TEXT PRIMARY KEY NOT NULL,
  name        TEXT NOT NULL,
  rule_type   TEXT NOT NULL DEFAULT 'custom'
              CHECK (rule_type IN ('style','security','workflow','custom')),
  description TEXT,
  config      TEXT NOT NULL CHECK (json_valid(config)),
  severity    TEXT NOT NULL DEFAULT 'warning' CHECK (severity IN ('error','warning','info')),
  enabled     INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
  revision    INTEGER NOT NULL DEFAULT 1,
  created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  updated_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);
CREATE INDEX project_rules_type ON project_rules(rule_type, id);

CREATE TABLE zones (
  id              TEXT PRIMARY KEY NOT NULL,
  name            TEXT NOT NULL DEFAULT '',
  description     TEXT,
  trigger         TEXT NOT NULL DEFAULT 'onDrop' CHECK (trigger IN ('onDrop','manual')),
  agents          TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(agents) AND json_type(agents) = 'array'),
  actions         TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(actions)),
  prompt_template TEXT,
  position_x      REAL NOT NULL DEFAULT 0,
  position_y      REAL NOT NULL DEFAULT 0,
  width           REAL NOT NULL DEFAULT 300,
  height          REAL NOT NULL DEFAULT 200,
  revision        INTEGER NOT NULL DEFAULT 1,
  created_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  updated_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);

CREATE TABLE worktrees (
  id          TEXT PRIMARY KEY NOT NULL,
  path        TEXT NOT NULL DEFAULT '',
  port        INTEGER UNIQUE CHECK (port IS NULL OR port BETWEEN 1 AND 65535),
  branch_name TEXT,
  issue_url   TEXT,
  task_id     TEXT REFERENCES tasks(id) ON DELETE SET NULL,
  status      TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active','inactive','completed')),
  position_x  REAL NOT NULL DEFAULT 0,
  position_y  REAL NOT NULL DEFAULT 0,
  revision    INTEGER NOT NULL DEFAULT 1,
  created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  updated_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);

-- A worktree is in at most one zone: the key is worktree_id alone.
CREATE TABLE worktree_zones (
  worktree_id TEXT PRIMARY KEY NOT NULL REFERENCES worktrees(id) ON DELETE CASCADE,
  zone_id     TEXT NOT NULL REFERENCES zones(id) ON DELETE CASCADE,
  assigned_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  updated_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
) WITHOUT ROWID;
CREATE INDEX worktree_zones_zone ON worktree_zones(zone_id, worktree_id);

CREATE TABLE zone_executions (
  id          INTEGER PRIMARY KEY,
  zone_id     TEXT NOT NULL REFERENCES zones(id) ON DELETE CASCADE,
  worktree_id TEXT REFERENCES worktrees(id) ON DELETE CASCADE,
  agent_type  TEXT,
  prompt      TEXT,
  result      TEXT CHECK (result IS NULL OR json_valid(result)),
  success     INTEGER CHECK (success IN (0, 1)),
  executed_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  updated_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);
CREATE INDEX zone_executions_zone ON zone_executions(zone_id, id);

CREATE TABLE workflow_tasks (
  workflow_id TEXT NOT NULL REFERENCES workflows(id) ON DELETE CASCADE,
  task_id     TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
  sequence    INTEGER NOT NULL DEFAULT 0,
  created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  updated_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  PRIMARY KEY (workflow_id, task_id)
) WITHOUT ROWID;
CREATE INDEX workflow_tasks_task ON workflow_tasks(task_id, workflow_id);

-- Transcripts are append-only logs per task (orc), searchable through FTS5.
CREATE TABLE transcripts (
  id            INTEGER PRIMARY KEY,
  task_id       TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
  message_uuid  TEXT UNIQUE,
  run_id        TEXT,
  type          TEXT NOT NULL DEFAULT 'message',
  role          TEXT,
  content       TEXT NOT NULL DEFAULT '',
  model         TEXT,
  input_tokens  INTEGER,
  output_tokens INTEGER,
  tool_calls    TEXT CHECK (tool_calls IS NULL OR json_valid(tool_calls)),
  timestamp     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  updated_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);
CREATE INDEX transcripts_task ON transcripts(task_id, id);

CREATE VIRTUAL TABLE transcripts_fts USING fts5(
  content, content='transcripts', content_rowid='id');
CREATE TRIGGER transcripts_fts_insert AFTER INSERT ON transcripts BEGIN
  INSERT INTO transcripts_fts(rowid, content) VALUES (new.id, new.content);
END;
CREATE TRIGGER transcripts_fts_delete AFTER DELETE ON transcripts BEGIN
  INSERT INTO transcripts_fts(transcripts_fts, rowid, content) VALUES ('delete', old.id, old.content);
END;
CREATE TRIGGER transcripts_fts_update AFTER UPDATE OF content ON transcripts BEGIN
  INSERT INTO transcripts_fts(transcripts_fts, rowid, content) VALUES ('delete', old.id, old.content);
  INSERT INTO transcripts_fts(rowid, content) VALUES (new.id, new.content);
END;

CREATE TABLE tool_permissions (
  tool_name         TEXT PRIMARY KEY NOT NULL,
  permission_level  TEXT NOT NULL DEFAULT 'allowed'
                    CHECK (permission_level IN ('allowed','restricted','requires_approval','denied')),
  path_restrictions TEXT CHECK (path_restrictions IS NULL OR json_valid(path_restrictions)),
  arg_whitelist     TEXT CHECK (arg_whitelist IS NULL OR json_valid(arg_whitelist)),
  arg_blacklist     TEXT CHECK (arg_blacklist IS NULL OR json_valid(arg_blacklist)),
  description       TEXT,
  revision          INTEGER NOT NULL DEFAULT 1,
  created_at        TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  updated_at        TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);

-- The audit log: one row per change through orchfs, and per refused attempt.
CREATE TABLE tool_executions (
  id            INTEGER PRIMARY KEY,
  tool_name     TEXT NOT NULL,
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
  task_id       TEXT,          -- kept after the task goes: the log is history
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

-- Next number for allocated keys (TASK-NNN, BUG-NNN), so allocation never scans.
CREATE TABLE _orchfs_keys (
  collection TEXT PRIMARY KEY NOT NULL,
  last       INTEGER NOT NULL
);

CREATE TRIGGER workflows_touch AFTER UPDATE ON workflows WHEN new.revision = old.revision BEGIN
  UPDATE workflows SET revision = old.revision + 1,
    updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE id = new.id;
END;
CREATE TRIGGER tasks_touch AFTER UPDATE ON tasks WHEN new.revision = old.revision BEGIN
  UPDATE tasks SET revision = old.revision + 1,
    updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE id = new.id;
END;
CREATE TRIGGER bugs_touch AFTER UPDATE ON bugs WHEN new.revision = old.revision BEGIN
  UPDATE bugs SET revision = old.revision + 1,
    updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE id = new.id;
END;
CREATE TRIGGER project_rules_touch AFTER UPDATE ON project_rules WHEN new.revision = old.revision BEGIN
  UPDATE project_rules SET revision = old.revision + 1,
    updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE id = new.id;
END;
CREATE TRIGGER zones_touch AFTER UPDATE ON zones WHEN new.revision = old.revision BEGIN
  UPDATE zones SET revision = old.revision + 1,
    updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE id = new.id;
END;
CREATE TRIGGER worktrees_touch AFTER UPDATE ON worktrees WHEN new.revision = old.revision BEGIN
  UPDATE worktrees SET revision = old.revision + 1,
    updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE id = new.id;
END;
CREATE TRIGGER tool_permissions_touch AFTER UPDATE ON tool_permissions WHEN new.revision = old.revision BEGIN
  UPDATE tool_permissions SET revision = old.revision + 1,
    updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE tool_name = new.tool_name;
END;
