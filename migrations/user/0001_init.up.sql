-- orchfs user database (~/.orchfs/user.db), version 1: LLM providers with
-- their API keys, prompt templates and workflow templates (Orca's user.db).
-- Changes through the mount are audited here, in the same transaction.

CREATE TABLE llm_providers (
  id            TEXT PRIMARY KEY NOT NULL,
  provider_type TEXT NOT NULL DEFAULT 'openai',
  model         TEXT,
  api_key       TEXT,
  api_base      TEXT,
  temperature   REAL NOT NULL DEFAULT 0.7 CHECK (temperature BETWEEN 0 AND 2),
  max_tokens    INTEGER NOT NULL DEFAULT 4096 CHECK (max_tokens > 0),
  settings      TEXT CHECK (settings IS NULL OR json_valid(settings)),
  is_default    INTEGER NOT NULL DEFAULT 0 CHECK (is_default IN (0, 1)),
  revision      INTEGER NOT NULL DEFAULT 1,
  created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  updated_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);

CREATE TABLE prompts (
  id          TEXT PRIMARY KEY NOT NULL,
  template    TEXT NOT NULL DEFAULT '',
  category    TEXT,
  variables   TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(variables)),
  revision    INTEGER NOT NULL DEFAULT 1,
  created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  updated_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);

CREATE TABLE workflow_templates (
  id          TEXT PRIMARY KEY NOT NULL,
  description TEXT,
  pattern     TEXT CHECK (pattern IN ('react','plan_execute','reflection')),
  definition  TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(definition)),
  tags        TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(tags)),
  is_public   INTEGER NOT NULL DEFAULT 0 CHECK (is_public IN (0, 1)),
  usage_count INTEGER NOT NULL DEFAULT 0 CHECK (usage_count >= 0),
  revision    INTEGER NOT NULL DEFAULT 1,
  created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  updated_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);

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
  task_id       TEXT,
  collection    TEXT,
  entity_key    TEXT,
  before_json   TEXT CHECK (before_json IS NULL OR json_valid(before_json)),
  after_json    TEXT CHECK (after_json IS NULL OR json_valid(after_json)),
  created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  updated_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);

CREATE TABLE _orchfs_keys (
  collection TEXT PRIMARY KEY NOT NULL,
  last       INTEGER NOT NULL
);

CREATE TRIGGER llm_providers_touch AFTER UPDATE ON llm_providers WHEN new.revision = old.revision BEGIN
  UPDATE llm_providers SET revision = old.revision + 1,
    updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE id = new.id;
END;
CREATE TRIGGER prompts_touch AFTER UPDATE ON prompts WHEN new.revision = old.revision BEGIN
  UPDATE prompts SET revision = old.revision + 1,
    updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE id = new.id;
END;
CREATE TRIGGER workflow_templates_touch AFTER UPDATE ON workflow_templates WHEN new.revision = old.revision BEGIN
  UPDATE workflow_templates SET revision = old.revision + 1,
    updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE id = new.id;
END;
