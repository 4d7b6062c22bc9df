-- Agents (TAC Bootstrap's orchestrator, ../shared/SEEDS.md): the agent
-- types, the agents they spawn (a tree through parent_agent_id), each
-- agent's LLM prompts and its lifecycle log, and the system-wide log.
-- TAC's value sets are CHECKs here too; its ids are text (UUIDs when
-- orchfs allocates them), its times ISO 8601 like the rest of this file.
-- The tables shown in the tree feed _orchfs_changes (see 0002_changes).

CREATE TABLE orchestrator_agents (
  id            TEXT PRIMARY KEY NOT NULL,
  name          TEXT NOT NULL UNIQUE,
  agent_type    TEXT NOT NULL DEFAULT 'utility'
                CHECK (agent_type IN ('planner','builder','reviewer','tester','orchestrator','utility')),
  capabilities  TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(capabilities) AND json_type(capabilities) = 'array'),
  default_model TEXT,
  revision      INTEGER NOT NULL DEFAULT 1,
  created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  updated_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);
CREATE INDEX orchestrator_agents_type ON orchestrator_agents(agent_type, id);

-- A running agent. Deleting its type deletes it; deleting its parent leaves
-- it without one.
CREATE TABLE agents (
  id                    TEXT PRIMARY KEY NOT NULL,
  orchestrator_agent_id TEXT NOT NULL REFERENCES orchestrator_agents(id) ON DELETE CASCADE,
  session_id            TEXT,
  parent_agent_id       TEXT REFERENCES agents(id) ON DELETE SET NULL,
  status                TEXT NOT NULL DEFAULT 'initializing'
                        CHECK (status IN ('initializing','planning','executing','reviewing','completed',
                                          'failed','cancelled')),
  context               TEXT CHECK (context IS NULL OR json_valid(context)),
  config                TEXT CHECK (config IS NULL OR json_valid(config)),
  cost_usd              REAL NOT NULL DEFAULT 0 CHECK (cost_usd >= 0),
  error_message         TEXT,
  started_at            TEXT,
  completed_at          TEXT,
  revision              INTEGER NOT NULL DEFAULT 1,
  created_at            TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  updated_at            TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  CHECK (parent_agent_id IS NULL OR parent_agent_id <> id)
);
CREATE INDEX agents_orchestrator_agent ON agents(orchestrator_agent_id, id);
CREATE INDEX agents_parent ON agents(parent_agent_id, id);
CREATE INDEX agents_session ON agents(session_id, id);
CREATE INDEX agents_status ON agents(status, id);

-- One request and its response (TAC's prompts; the user database's
-- prompts are Orca's templates, another thing).
CREATE TABLE prompts (
  id            TEXT PRIMARY KEY NOT NULL,
  agent_id      TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
  prompt_type   TEXT NOT NULL CHECK (prompt_type IN ('adw','command','followup','correction','tool_call')),
  prompt_name   TEXT,
  prompt_text   TEXT NOT NULL,
  response_text TEXT,
  status        TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending','streaming','completed','failed','cancelled')),
  model_used    TEXT,
  tokens_input  INTEGER CHECK (tokens_input IS NULL OR tokens_input >= 0),
  tokens_output INTEGER CHECK (tokens_output IS NULL OR tokens_output >= 0),
  cost_usd      REAL CHECK (cost_usd IS NULL OR cost_usd >= 0),
  latency_ms    INTEGER CHECK (latency_ms IS NULL OR latency_ms >= 0),
  error_message TEXT,
  completed_at  TEXT,
  revision      INTEGER NOT NULL DEFAULT 1,
  created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  updated_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);
CREATE INDEX prompts_agent ON prompts(agent_id, id);
CREATE INDEX prompts_status ON prompts(status, id);
CREATE INDEX prompts_type ON prompts(prompt_type, id);

-- Append-only logs. timestamp is what retention prunes by.
CREATE TABLE agent_logs (
  id         INTEGER PRIMARY KEY,
  agent_id   TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
  log_level  TEXT NOT NULL DEFAULT 'INFO' CHECK (log_level IN ('DEBUG','INFO','WARNING','ERROR','CRITICAL')),
  log_type   TEXT NOT NULL DEFAULT 'milestone'
             CHECK (log_type IN ('state_change','milestone','error','performance','tool_call','cost_update')),
  message    TEXT NOT NULL,
  details    TEXT CHECK (details IS NULL OR json_valid(details)),
  timestamp  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);
CREATE INDEX agent_logs_agent ON agent_logs(agent_id, id);
CREATE INDEX agent_logs_time ON agent_logs(timestamp);

CREATE TABLE system_logs (
  id         INTEGER PRIMARY KEY,
  log_level  TEXT NOT NULL DEFAULT 'INFO' CHECK (log_level IN ('DEBUG','INFO','WARNING','ERROR','CRITICAL')),
  component  TEXT NOT NULL DEFAULT 'orchestrator',
  message    TEXT NOT NULL,
  details    TEXT CHECK (details IS NULL OR json_valid(details)),
  timestamp  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);
CREATE INDEX system_logs_level ON system_logs(log_level, id);
CREATE INDEX system_logs_component ON system_logs(component, id);
CREATE INDEX system_logs_time ON system_logs(timestamp);

CREATE TRIGGER orchestrator_agents_touch AFTER UPDATE ON orchestrator_agents WHEN new.revision = old.revision BEGIN
  UPDATE orchestrator_agents SET revision = old.revision + 1,
    updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE id = new.id;
END;
CREATE TRIGGER agents_touch AFTER UPDATE ON agents WHEN new.revision = old.revision BEGIN
  UPDATE agents SET revision = old.revision + 1,
    updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE id = new.id;
END;
CREATE TRIGGER prompts_touch AFTER UPDATE ON prompts WHEN new.revision = old.revision BEGIN
  UPDATE prompts SET revision = old.revision + 1,
    updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE id = new.id;
END;

CREATE TRIGGER orchestrator_agents_feed_insert AFTER INSERT ON orchestrator_agents BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('orchestrator-agents', new.id, 'create');
END;
CREATE TRIGGER orchestrator_agents_feed_update AFTER UPDATE ON orchestrator_agents WHEN new.revision <> old.revision BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('orchestrator-agents', new.id, 'update');
END;
CREATE TRIGGER orchestrator_agents_feed_delete AFTER DELETE ON orchestrator_agents BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('orchestrator-agents', old.id, 'delete');
END;
CREATE TRIGGER agents_feed_insert AFTER INSERT ON agents BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('agents', new.id, 'create');
END;
CREATE TRIGGER agents_feed_update AFTER UPDATE ON agents WHEN new.revision <> old.revision BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('agents', new.id, 'update');
END;
CREATE TRIGGER agents_feed_delete AFTER DELETE ON agents BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('agents', old.id, 'delete');
END;
CREATE TRIGGER prompts_feed_insert AFTER INSERT ON prompts BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('prompts', new.id, 'create');
END;
CREATE TRIGGER prompts_feed_update AFTER UPDATE ON prompts WHEN new.revision <> old.revision BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('prompts', new.id, 'update');
END;
CREATE TRIGGER prompts_feed_delete AFTER DELETE ON prompts BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('prompts', old.id, 'delete');
END;
CREATE TRIGGER agent_logs_feed_insert AFTER INSERT ON agent_logs BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('agents', new.agent_id, 'append');
END;
CREATE TRIGGER system_logs_feed_insert AFTER INSERT ON system_logs BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('logs', new.id, 'create');
END;
CREATE TRIGGER system_logs_feed_delete AFTER DELETE ON system_logs BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('logs', old.id, 'delete');
END;
