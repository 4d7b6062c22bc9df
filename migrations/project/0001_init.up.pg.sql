-- orchfs project database, version 1: PostgreSQL's form of 0001_init.up.sql
-- (same tables, columns, keys, checks, indexes and defaults; the runner runs
-- this file in one transaction).
-- Column and value sets follow ../shared/SEEDS.md (Orca, AI-Orchestra, orc).
-- Every entity table has created_at/updated_at (TIMESTAMPTZ here, ISO 8601
-- UTC text in SQLite) and a revision that grows by one with every change:
-- orchfs bumps it itself, and a trigger bumps it for writers that do not
-- (psql, other orchestrators), so a stale edit can always be told from a
-- fresh one. JSON columns are JSONB (the type checks what json_valid
-- checked); INTEGER PRIMARY KEY ids are identity columns.

-- The touch: an UPDATE that leaves revision as it was gets the next one and
-- a new updated_at. One function for every table with a revision; its
-- triggers fire only WHEN (NEW.revision = OLD.revision).
CREATE FUNCTION _orchfs_touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.revision := OLD.revision + 1;
  NEW.updated_at := statement_timestamp();
  RETURN NEW;
END;
$$;

CREATE TABLE workflows (
  id               TEXT PRIMARY KEY NOT NULL,
  name             TEXT NOT NULL DEFAULT '',
  description      TEXT,
  status           TEXT NOT NULL DEFAULT 'pending'
                   CHECK (status IN ('pending','running','completed','failed','cancelled','paused')),
  pattern          TEXT CHECK (pattern IN ('react','plan_execute','reflection')),
  template_id      TEXT,
  definition       JSONB,
  routing_strategy TEXT,
  metadata         JSONB,
  started_at       TIMESTAMPTZ,
  completed_at     TIMESTAMPTZ,
  revision         BIGINT NOT NULL DEFAULT 1,
  created_at       TIMESTAMPTZ NOT NULL DEFAULT statement_timestamp(),
  updated_at       TIMESTAMPTZ NOT NULL DEFAULT statement_timestamp()
);

CREATE TABLE tasks (
  id            TEXT PRIMARY KEY NOT NULL,
  title         TEXT NOT NULL DEFAULT '',
  description   TEXT,
  status        TEXT NOT NULL DEFAULT 'created'
                CHECK (status IN ('created','pending','classifying','planned','running','paused',
                                  'blocked','finalizing','completed','failed','resolved','cancelled')),
  priority      BIGINT NOT NULL DEFAULT 0,
  weight        TEXT,
  category      TEXT,
  queue         TEXT,
  current_phase TEXT,
  branch        TEXT,
  worktree_path TEXT,
  workflow_id   TEXT REFERENCES workflows(id) ON DELETE SET NULL DEFERRABLE INITIALLY IMMEDIATE,
  result        TEXT,
  error         TEXT,
  metadata      JSONB,
  started_at    TIMESTAMPTZ,
  completed_at  TIMESTAMPTZ,
  revision      BIGINT NOT NULL DEFAULT 1,
  created_at    TIMESTAMPTZ NOT NULL DEFAULT statement_timestamp(),
  updated_at    TIMESTAMPTZ NOT NULL DEFAULT statement_timestamp()
);
CREATE INDEX tasks_status ON tasks(status, id);

CREATE TABLE task_dependencies (
  task_id    TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  depends_on TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  created_at TIMESTAMPTZ NOT NULL DEFAULT statement_timestamp(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT statement_timestamp(),
  PRIMARY KEY (task_id, depends_on),
  CHECK (task_id <> depends_on)
);
CREATE INDEX task_dependencies_reverse ON task_dependencies(depends_on, task_id);

CREATE TABLE bugs (
  id            TEXT PRIMARY KEY NOT NULL,
  title         TEXT NOT NULL,
  description   TEXT,
  status        TEXT NOT NULL DEFAULT 'open'
                CHECK (status IN ('open','in_progress','fixed','wontfix','duplicate')),
  priority      BIGINT NOT NULL DEFAULT 3 CHECK (priority BETWEEN 1 AND 5),
  severity      TEXT,
  assignee      TEXT,
  reporter      TEXT,
  labels        JSONB NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(labels) = 'array'),
  related_files JSONB NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(related_files) = 'array'),
  metadata      JSONB,
  resolved_at   TIMESTAMPTZ,
  revision      BIGINT NOT NULL DEFAULT 1,
  created_at    TIMESTAMPTZ NOT NULL DEFAULT statement_timestamp(),
  updated_at    TIMESTAMPTZ NOT NULL DEFAULT statement_timestamp()
);
CREATE INDEX bugs_status ON bugs(status, id);
CREATE INDEX bugs_priority ON bugs(priority, id);

CREATE TABLE task_bugs (
  task_id      TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  bug_id       TEXT NOT NULL REFERENCES bugs(id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  relationship TEXT NOT NULL DEFAULT 'fixes',
  created_at   TIMESTAMPTZ NOT NULL DEFAULT statement_timestamp(),
  updated_at   TIMESTAMPTZ NOT NULL DEFAULT statement_timestamp(),
  PRIMARY KEY (task_id, bug_id)
);
CREATE INDEX task_bugs_reverse ON task_bugs(bug_id, task_id);

CREATE TABLE project_rules (
  id          TEXT PRIMARY KEY NOT NULL,
  name        TEXT NOT NULL,
  rule_type   TEXT NOT NULL DEFAULT 'custom'
              CHECK (rule_type IN ('style','security','workflow','custom')),
  description TEXT,
  config      JSONB NOT NULL,
  severity    TEXT NOT NULL DEFAULT 'warning' CHECK (severity IN ('error','warning','info')),
  enabled     INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
  revision    BIGINT NOT NULL DEFAULT 1,
  created_at  TIMESTAMPTZ NOT NULL DEFAULT statement_timestamp(),
  updated_at  TIMESTAMPTZ NOT NULL DEFAULT statement_timestamp()
);
CREATE INDEX project_rules_type ON project_rules(rule_type, id);

CREATE TABLE zones (
  id              TEXT PRIMARY KEY NOT NULL,
  name            TEXT NOT NULL DEFAULT '',
  description     TEXT,
  trigger         TEXT NOT NULL DEFAULT 'onDrop' CHECK (trigger IN ('onDrop','manual')),
  agents          JSONB NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(agents) = 'array'),
  actions         JSONB NOT NULL DEFAULT '[]',
  prompt_template TEXT,
  position_x      DOUBLE PRECISION NOT NULL DEFAULT 0,
  position_y      DOUBLE PRECISION NOT NULL DEFAULT 0,
  width           DOUBLE PRECISION NOT NULL DEFAULT 300,
  height          DOUBLE PRECISION NOT NULL DEFAULT 200,
  revision        BIGINT NOT NULL DEFAULT 1,
  created_at      TIMESTAMPTZ NOT NULL DEFAULT statement_timestamp(),
  updated_at      TIMESTAMPTZ NOT NULL DEFAULT statement_timestamp()
);

CREATE TABLE worktrees (
  id          TEXT PRIMARY KEY NOT NULL,
  path        TEXT NOT NULL DEFAULT '',
  port        BIGINT UNIQUE CHECK (port IS NULL OR port BETWEEN 1 AND 65535),
  branch_name TEXT,
  issue_url   TEXT,
  task_id     TEXT REFERENCES tasks(id) ON DELETE SET NULL DEFERRABLE INITIALLY IMMEDIATE,
  status      TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active','inactive','completed')),
  position_x  DOUBLE PRECISION NOT NULL DEFAULT 0,
  position_y  DOUBLE PRECISION NOT NULL DEFAULT 0,
  revision    BIGINT NOT NULL DEFAULT 1,
  created_at  TIMESTAMPTZ NOT NULL DEFAULT statement_timestamp(),
  updated_at  TIMESTAMPTZ NOT NULL DEFAULT statement_timestamp()
);

-- A worktree is in at most one zone: the key is worktree_id alone.
CREATE TABLE worktree_zones (
  worktree_id TEXT PRIMARY KEY NOT NULL REFERENCES worktrees(id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  zone_id     TEXT NOT NULL REFERENCES zones(id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  assigned_at TIMESTAMPTZ NOT NULL DEFAULT statement_timestamp(),
  created_at  TIMESTAMPTZ NOT NULL DEFAULT statement_timestamp(),
  updated_at  TIMESTAMPTZ NOT NULL DEFAULT statement_timestamp()
);
CREATE INDEX worktree_zones_zone ON worktree_zones(zone_id, worktree_id);

CREATE TABLE zone_executions (
  id          BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  zone_id     TEXT NOT NULL REFERENCES zones(id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  worktree_id TEXT REFERENCES worktrees(id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  agent_type  TEXT,
  prompt      TEXT,
  result      JSONB,
  success     INTEGER CHECK (success IN (0, 1)),
  executed_at TIMESTAMPTZ NOT NULL DEFAULT statement_timestamp(),
  created_at  TIMESTAMPTZ NOT NULL DEFAULT statement_timestamp(),
  updated_at  TIMESTAMPTZ NOT NULL DEFAULT statement_timestamp()
);
CREATE INDEX zone_executions_zone ON zone_executions(zone_id, id);

-- zone_stats: on SQLite orchfs makes it on every connection as a TEMP VIEW
-- (mappings/native.json, "temp_views"); here it is an ordinary view, with the
-- same columns and values. sum(e.success = 1) there is a count with a FILTER
-- here (rows without an execution or with success NULL count in neither);
-- success_rate is rounded in numeric, then a double like SQLite's REAL.
CREATE VIEW zone_stats AS
  SELECT z.id AS zone_id, z.name AS name, count(e.id) AS total,
         count(e.id) FILTER (WHERE e.success = 1) AS successes,
         count(e.id) FILTER (WHERE e.success = 0) AS failures,
         CASE WHEN count(e.id) > 0
              THEN round(100.0 * count(e.id) FILTER (WHERE e.success = 1) / count(e.id), 1)::double precision
         END AS success_rate,
         count(DISTINCT e.agent_type) AS unique_agents,
         max(e.executed_at) AS last_executed_at
    FROM zones z LEFT JOIN zone_executions e ON e.zone_id = z.id
   WHERE z.id <> 'all'
   GROUP BY z.id
  UNION ALL
  SELECT 'all', 'All zones', count(*),
         count(*) FILTER (WHERE success = 1),
         count(*) FILTER (WHERE success = 0),
         CASE WHEN count(*) > 0
              THEN round(100.0 * count(*) FILTER (WHERE success = 1) / count(*), 1)::double precision
         END,
         count(DISTINCT agent_type), max(executed_at)
    FROM zone_executions;

CREATE TABLE workflow_tasks (
  workflow_id TEXT NOT NULL REFERENCES workflows(id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  task_id     TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  sequence    BIGINT NOT NULL DEFAULT 0,
  created_at  TIMESTAMPTZ NOT NULL DEFAULT statement_timestamp(),
  updated_at  TIMESTAMPTZ NOT NULL DEFAULT statement_timestamp(),
  PRIMARY KEY (workflow_id, task_id)
);
CREATE INDEX workflow_tasks_task ON workflow_tasks(task_id, workflow_id);

-- Transcripts are append-only logs per task (orc), searchable through
-- PostgreSQL's text search (transcripts_fts below).
CREATE TABLE transcripts (
  id            BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  task_id       TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  message_uuid  TEXT UNIQUE,
  run_id        TEXT,
  type          TEXT NOT NULL DEFAULT 'message',
  role          TEXT,
  content       TEXT NOT NULL DEFAULT '',
  model         TEXT,
  input_tokens  BIGINT,
  output_tokens BIGINT,
  tool_calls    JSONB,
  timestamp     TIMESTAMPTZ NOT NULL DEFAULT statement_timestamp(),
  created_at    TIMESTAMPTZ NOT NULL DEFAULT statement_timestamp(),
  updated_at    TIMESTAMPTZ NOT NULL DEFAULT statement_timestamp()
);
CREATE INDEX transcripts_task ON transcripts(task_id, id);

-- SQLite's FTS5 table transcripts_fts is a view here, with the same name and
-- the row id: search it as
--   SELECT rowid FROM transcripts_fts WHERE document @@ websearch_to_tsquery('simple', $1)
-- The expression index below serves that (the view is inlined), and it is
-- always in step with the table: no sync triggers.
-- The document is to_tsvector('simple', content), through a function for
-- one reason: a tsvector holds at most 1 MB, which a transcript of about a
-- megabyte of distinct words (hashes, a dump) would pass, and then its
-- INSERT would fail because the index could not be built (FTS5 has no such
-- limit). Content too big for one tsvector is indexed by its longest
-- leading part that fits. Below 256 kB nothing can overflow (a tsvector is
-- at most about 2.5 times its text), so that common case takes no detour.
CREATE FUNCTION _orchfs_fts_document(content text) RETURNS tsvector
  LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
  n integer := length(content);
BEGIN
  IF octet_length(content) < 262144 THEN
    RETURN to_tsvector('simple', content);
  END IF;
  LOOP
    BEGIN
      RETURN to_tsvector('simple', left(content, n));
    EXCEPTION WHEN program_limit_exceeded THEN
      n := n * 3 / 4;
    END;
  END LOOP;
END;
$$;
CREATE INDEX transcripts_fts_document ON transcripts USING gin (_orchfs_fts_document(content));
CREATE VIEW transcripts_fts (rowid, document) AS
  SELECT id, _orchfs_fts_document(content) FROM transcripts;

CREATE TABLE tool_permissions (
  tool_name         TEXT PRIMARY KEY NOT NULL,
  permission_level  TEXT NOT NULL DEFAULT 'allowed'
                    CHECK (permission_level IN ('allowed','restricted','requires_approval','denied')),
  path_restrictions JSONB,
  arg_whitelist     JSONB,
  arg_blacklist     JSONB,
  description       TEXT,
  revision          BIGINT NOT NULL DEFAULT 1,
  created_at        TIMESTAMPTZ NOT NULL DEFAULT statement_timestamp(),
  updated_at        TIMESTAMPTZ NOT NULL DEFAULT statement_timestamp()
);

-- The audit log: one row per change through orchfs, and per refused attempt.
CREATE TABLE tool_executions (
  id            BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  tool_name     TEXT NOT NULL,
  pid           BIGINT,
  uid           BIGINT,
  operation     TEXT NOT NULL,
  path          TEXT,
  arguments     JSONB,
  result        TEXT,
  status        TEXT NOT NULL
                CHECK (status IN ('success','failure','denied','approved','rejected','pending')),
  duration_ms   DOUBLE PRECISION,
  user_approval INTEGER CHECK (user_approval IN (0, 1)),
  task_id       TEXT,          -- kept after the task goes: the log is history
  collection    TEXT,
  entity_key    TEXT,
  before_json   JSONB,
  after_json    JSONB,
  created_at    TIMESTAMPTZ NOT NULL DEFAULT statement_timestamp(),
  updated_at    TIMESTAMPTZ NOT NULL DEFAULT statement_timestamp()
);
CREATE INDEX tool_executions_tool ON tool_executions(tool_name, id);
CREATE INDEX tool_executions_task ON tool_executions(task_id, id);
CREATE INDEX tool_executions_entity ON tool_executions(collection, entity_key, id);

-- Next number for allocated keys (TASK-NNN, BUG-NNN), so allocation never scans.
CREATE TABLE _orchfs_keys (
  collection TEXT PRIMARY KEY NOT NULL,
  last       BIGINT NOT NULL
);

CREATE TRIGGER workflows_touch BEFORE UPDATE ON workflows
  FOR EACH ROW WHEN (NEW.revision = OLD.revision) EXECUTE FUNCTION _orchfs_touch();
CREATE TRIGGER tasks_touch BEFORE UPDATE ON tasks
  FOR EACH ROW WHEN (NEW.revision = OLD.revision) EXECUTE FUNCTION _orchfs_touch();
CREATE TRIGGER bugs_touch BEFORE UPDATE ON bugs
  FOR EACH ROW WHEN (NEW.revision = OLD.revision) EXECUTE FUNCTION _orchfs_touch();
CREATE TRIGGER project_rules_touch BEFORE UPDATE ON project_rules
  FOR EACH ROW WHEN (NEW.revision = OLD.revision) EXECUTE FUNCTION _orchfs_touch();
CREATE TRIGGER zones_touch BEFORE UPDATE ON zones
  FOR EACH ROW WHEN (NEW.revision = OLD.revision) EXECUTE FUNCTION _orchfs_touch();
CREATE TRIGGER worktrees_touch BEFORE UPDATE ON worktrees
  FOR EACH ROW WHEN (NEW.revision = OLD.revision) EXECUTE FUNCTION _orchfs_touch();
CREATE TRIGGER tool_permissions_touch BEFORE UPDATE ON tool_permissions
  FOR EACH ROW WHEN (NEW.revision = OLD.revision) EXECUTE FUNCTION _orchfs_touch();
