-- The rest of Orca's user database (../shared/SEEDS.md): sessions, spending
-- budgets, the price list of models, and the usage log that spends them.
-- Times are ISO 8601 like the rest of this file (Orca's are epoch seconds).

CREATE TABLE sessions (
  id               TEXT PRIMARY KEY NOT NULL,
  workspace_root   TEXT NOT NULL,
  description      TEXT,
  active           INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
  last_activity_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  metadata         TEXT CHECK (metadata IS NULL OR json_valid(metadata)),
  revision         INTEGER NOT NULL DEFAULT 1,
  created_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  updated_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);
CREATE INDEX sessions_workspace ON sessions(workspace_root, id);
CREATE INDEX sessions_activity ON sessions(last_activity_at);

-- A budget renews every interval (recurring) or is spent down (credit).
CREATE TABLE budgets (
  id                     TEXT PRIMARY KEY NOT NULL,
  name                   TEXT NOT NULL UNIQUE,
  type                   TEXT NOT NULL CHECK (type IN ('recurring','credit')),
  renewal_interval_unit  TEXT CHECK (renewal_interval_unit IN ('days','weeks','months')),
  renewal_interval_value INTEGER CHECK (renewal_interval_value IS NULL OR renewal_interval_value > 0),
  last_renewal_date      TEXT,
  next_renewal_date      TEXT,
  credit_amount          REAL CHECK (credit_amount IS NULL OR credit_amount >= 0),
  credit_cap             REAL CHECK (credit_cap IS NULL OR credit_cap >= 0),
  current_usage          REAL NOT NULL DEFAULT 0 CHECK (current_usage >= 0),
  total_spent            REAL NOT NULL DEFAULT 0 CHECK (total_spent >= 0),
  enforcement            TEXT NOT NULL DEFAULT 'warn' CHECK (enforcement IN ('block','warn')),
  active                 INTEGER NOT NULL DEFAULT 0 CHECK (active IN (0, 1)),
  revision               INTEGER NOT NULL DEFAULT 1,
  created_at             TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  updated_at             TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  CONSTRAINT recurring_needs_interval
    CHECK (type <> 'recurring' OR (renewal_interval_unit IS NOT NULL AND renewal_interval_value IS NOT NULL))
);
CREATE INDEX budgets_active ON budgets(active, id);

-- Dollars per token, per provider and model.
CREATE TABLE llm_pricing (
  id                       TEXT PRIMARY KEY NOT NULL,
  provider                 TEXT NOT NULL,
  model                    TEXT NOT NULL,
  cost_per_input_token     REAL NOT NULL CHECK (cost_per_input_token >= 0),
  cost_per_output_token    REAL NOT NULL CHECK (cost_per_output_token >= 0),
  cost_per_reasoning_token REAL CHECK (cost_per_reasoning_token IS NULL OR cost_per_reasoning_token >= 0),
  revision                 INTEGER NOT NULL DEFAULT 1,
  created_at               TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  updated_at               TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  UNIQUE (provider, model)
);

-- One row per LLM call: a ledger, history that outlives its budget.
CREATE TABLE usage_logs (
  id               INTEGER PRIMARY KEY,
  budget_id        TEXT REFERENCES budgets(id) ON DELETE SET NULL,
  llm_provider     TEXT NOT NULL,
  llm_model        TEXT NOT NULL,
  request_type     TEXT,
  input_tokens     INTEGER CHECK (input_tokens IS NULL OR input_tokens >= 0),
  output_tokens    INTEGER CHECK (output_tokens IS NULL OR output_tokens >= 0),
  reasoning_tokens INTEGER CHECK (reasoning_tokens IS NULL OR reasoning_tokens >= 0),
  cost_usd         REAL NOT NULL CHECK (cost_usd >= 0),
  timestamp        TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  created_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  updated_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);
CREATE INDEX usage_logs_budget ON usage_logs(budget_id, id);
CREATE INDEX usage_logs_provider ON usage_logs(llm_provider, id);
CREATE INDEX usage_logs_model ON usage_logs(llm_model, id);
CREATE INDEX usage_logs_time ON usage_logs(timestamp);

CREATE TRIGGER sessions_touch AFTER UPDATE ON sessions WHEN new.revision = old.revision BEGIN
  UPDATE sessions SET revision = old.revision + 1,
    updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE id = new.id;
END;
CREATE TRIGGER budgets_touch AFTER UPDATE ON budgets WHEN new.revision = old.revision BEGIN
  UPDATE budgets SET revision = old.revision + 1,
    updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE id = new.id;
END;
CREATE TRIGGER llm_pricing_touch AFTER UPDATE ON llm_pricing WHEN new.revision = old.revision BEGIN
  UPDATE llm_pricing SET revision = old.revision + 1,
    updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE id = new.id;
END;

CREATE TRIGGER sessions_feed_insert AFTER INSERT ON sessions BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('sessions', new.id, 'create');
END;
CREATE TRIGGER sessions_feed_update AFTER UPDATE ON sessions WHEN new.revision <> old.revision BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('sessions', new.id, 'update');
END;
CREATE TRIGGER sessions_feed_delete AFTER DELETE ON sessions BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('sessions', old.id, 'delete');
END;
CREATE TRIGGER budgets_feed_insert AFTER INSERT ON budgets BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('budgets', new.id, 'create');
END;
CREATE TRIGGER budgets_feed_update AFTER UPDATE ON budgets WHEN new.revision <> old.revision BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('budgets', new.id, 'update');
END;
CREATE TRIGGER budgets_feed_delete AFTER DELETE ON budgets BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('budgets', old.id, 'delete');
END;
CREATE TRIGGER llm_pricing_feed_insert AFTER INSERT ON llm_pricing BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('pricing', new.id, 'create');
END;
CREATE TRIGGER llm_pricing_feed_update AFTER UPDATE ON llm_pricing WHEN new.revision <> old.revision BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('pricing', new.id, 'update');
END;
CREATE TRIGGER llm_pricing_feed_delete AFTER DELETE ON llm_pricing BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('pricing', old.id, 'delete');
END;
CREATE TRIGGER usage_logs_feed_insert AFTER INSERT ON usage_logs BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('usage', new.id, 'create');
END;
CREATE TRIGGER usage_logs_feed_delete AFTER DELETE ON usage_logs BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('usage', old.id, 'delete');
END;
