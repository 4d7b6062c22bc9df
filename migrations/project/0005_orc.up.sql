-- orc's execution state (../shared/SEEDS.md, orc's internal/db/schema):
-- the phases of a task and what they produced (a task's spec is its output
-- named SPEC_CONTENT), reusable phase templates, workflow runs and their
-- phases, comments and review comments, gate decisions, the event log
-- (deduplicated), branches, and initiatives with their decisions,
-- dependencies and tasks. Logs (rows that belong to one entity and only
-- grow) have an integer id; the tables shown in the tree feed
-- _orchfs_changes (see 0002_changes).

-- One row per phase of a task.
CREATE TABLE phases (
  id            INTEGER PRIMARY KEY,
  task_id       TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
  phase_id      TEXT NOT NULL,
  status        TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending','completed','skipped')),
  iterations    INTEGER NOT NULL DEFAULT 0 CHECK (iterations >= 0),
  input_tokens  INTEGER NOT NULL DEFAULT 0 CHECK (input_tokens >= 0),
  output_tokens INTEGER NOT NULL DEFAULT 0 CHECK (output_tokens >= 0),
  cost_usd      REAL NOT NULL DEFAULT 0 CHECK (cost_usd >= 0),
  commit_sha    TEXT,
  skip_reason   TEXT,
  error_message TEXT,
  started_at    TEXT,
  completed_at  TEXT,
  created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  updated_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  UNIQUE (task_id, phase_id)
);
CREATE INDEX phases_task ON phases(task_id, id);

-- Reusable phase definitions (orc's "lego blocks").
CREATE TABLE phase_templates (
  id                TEXT PRIMARY KEY NOT NULL,
  name              TEXT NOT NULL,
  description       TEXT,
  prompt_source     TEXT NOT NULL DEFAULT 'embedded' CHECK (prompt_source IN ('embedded','db','file')),
  prompt_content    TEXT,
  prompt_path       TEXT,
  input_variables   TEXT NOT NULL DEFAULT '[]'
                    CHECK (json_valid(input_variables) AND json_type(input_variables) = 'array'),
  output_schema     TEXT CHECK (output_schema IS NULL OR json_valid(output_schema)),
  produces_artifact INTEGER NOT NULL DEFAULT 0 CHECK (produces_artifact IN (0, 1)),
  artifact_type     TEXT,
  max_iterations    INTEGER NOT NULL DEFAULT 20 CHECK (max_iterations > 0),
  model_override    TEXT,
  thinking_enabled  INTEGER CHECK (thinking_enabled IN (0, 1)),
  gate_type         TEXT NOT NULL DEFAULT 'auto' CHECK (gate_type IN ('auto','human','skip','ai')),
  checkpoint        INTEGER NOT NULL DEFAULT 1 CHECK (checkpoint IN (0, 1)),
  retry_from_phase  TEXT,
  is_builtin        INTEGER NOT NULL DEFAULT 0 CHECK (is_builtin IN (0, 1)),
  revision          INTEGER NOT NULL DEFAULT 1,
  created_at        TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  updated_at        TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);

-- An execution of a workflow (RUN-NNN). A workflow with runs cannot be
-- deleted (orc's RESTRICT); a run outlives its task.
CREATE TABLE workflow_runs (
  id                  TEXT PRIMARY KEY NOT NULL,
  workflow_id         TEXT NOT NULL REFERENCES workflows(id) ON DELETE RESTRICT,
  task_id             TEXT REFERENCES tasks(id) ON DELETE SET NULL,
  context_type        TEXT NOT NULL DEFAULT 'task'
                      CHECK (context_type IN ('task','branch','pr','standalone','tag')),
  context_data        TEXT CHECK (context_data IS NULL OR json_valid(context_data)),
  prompt              TEXT NOT NULL DEFAULT '',
  instructions        TEXT,
  status              TEXT NOT NULL DEFAULT 'pending'
                      CHECK (status IN ('pending','running','paused','completed','failed','cancelled')),
  current_phase       TEXT,
  variables_snapshot  TEXT CHECK (variables_snapshot IS NULL OR json_valid(variables_snapshot)),
  total_cost_usd      REAL NOT NULL DEFAULT 0 CHECK (total_cost_usd >= 0),
  total_input_tokens  INTEGER NOT NULL DEFAULT 0 CHECK (total_input_tokens >= 0),
  total_output_tokens INTEGER NOT NULL DEFAULT 0 CHECK (total_output_tokens >= 0),
  error               TEXT,
  started_at          TEXT,
  completed_at        TEXT,
  revision            INTEGER NOT NULL DEFAULT 1,
  created_at          TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  updated_at          TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);
CREATE INDEX workflow_runs_workflow ON workflow_runs(workflow_id, id);
CREATE INDEX workflow_runs_task ON workflow_runs(task_id, id);
CREATE INDEX workflow_runs_status ON workflow_runs(status, id);

CREATE TABLE workflow_run_phases (
  id                INTEGER PRIMARY KEY,
  workflow_run_id   TEXT NOT NULL REFERENCES workflow_runs(id) ON DELETE CASCADE,
  phase_template_id TEXT NOT NULL REFERENCES phase_templates(id) ON DELETE RESTRICT,
  status            TEXT NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending','running','completed','failed','skipped')),
  iterations        INTEGER NOT NULL DEFAULT 0 CHECK (iterations >= 0),
  input_tokens      INTEGER NOT NULL DEFAULT 0 CHECK (input_tokens >= 0),
  output_tokens     INTEGER NOT NULL DEFAULT 0 CHECK (output_tokens >= 0),
  cost_usd          REAL NOT NULL DEFAULT 0 CHECK (cost_usd >= 0),
  commit_sha        TEXT,
  artifact          TEXT,
  error             TEXT,
  session_id        TEXT,
  started_at        TEXT,
  completed_at      TEXT,
  created_at        TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  updated_at        TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  UNIQUE (workflow_run_id, phase_template_id)
);
CREATE INDEX workflow_run_phases_run ON workflow_run_phases(workflow_run_id, id);
CREATE INDEX workflow_run_phases_template ON workflow_run_phases(phase_template_id);

-- What a phase produced, by variable name (SPEC_CONTENT is the spec).
CREATE TABLE phase_outputs (
  id              INTEGER PRIMARY KEY,
  task_id         TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
  workflow_run_id TEXT REFERENCES workflow_runs(id) ON DELETE SET NULL,
  phase_id        TEXT NOT NULL,
  output_var_name TEXT NOT NULL,
  content         TEXT NOT NULL,
  content_hash    TEXT,
  iteration       INTEGER NOT NULL DEFAULT 1 CHECK (iteration >= 1),
  timestamp       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  created_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  updated_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  UNIQUE (task_id, phase_id, output_var_name, iteration)
);
CREATE INDEX phase_outputs_task ON phase_outputs(task_id, id);
CREATE INDEX phase_outputs_run ON phase_outputs(workflow_run_id);
CREATE INDEX phase_outputs_var ON phase_outputs(output_var_name, task_id);

CREATE TABLE task_comments (
  id          INTEGER PRIMARY KEY,
  task_id     TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
  author      TEXT NOT NULL,
  author_type TEXT NOT NULL DEFAULT 'human' CHECK (author_type IN ('human','agent','system')),
  content     TEXT NOT NULL,
  phase       TEXT,
  timestamp   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  updated_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);
CREATE INDEX task_comments_task ON task_comments(task_id, id);

-- Code review comments on a task's diff.
CREATE TABLE review_comments (
  id           INTEGER PRIMARY KEY,
  task_id      TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
  review_round INTEGER NOT NULL DEFAULT 1 CHECK (review_round >= 1),
  file_path    TEXT,
  line_number  INTEGER CHECK (line_number IS NULL OR line_number >= 1),
  severity     TEXT NOT NULL DEFAULT 'suggestion' CHECK (severity IN ('suggestion','issue','blocker')),
  status       TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open','resolved','wont_fix')),
  author       TEXT NOT NULL DEFAULT 'agent' CHECK (author IN ('human','agent','system')),
  content      TEXT NOT NULL,
  timestamp    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  resolved_by  TEXT,
  resolved_at  TEXT,
  created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  updated_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);
CREATE INDEX review_comments_task ON review_comments(task_id, id);
CREATE INDEX review_comments_status ON review_comments(status, task_id);

-- A gate between phases: who or what let the task through, or did not.
CREATE TABLE gate_decisions (
  id         INTEGER PRIMARY KEY,
  task_id    TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
  phase      TEXT NOT NULL,
  gate_type  TEXT NOT NULL DEFAULT 'auto' CHECK (gate_type IN ('auto','human','skip','ai')),
  approved   INTEGER NOT NULL CHECK (approved IN (0, 1)),
  reason     TEXT,
  decided_by TEXT,
  decided_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  revision   INTEGER NOT NULL DEFAULT 1,
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);
CREATE INDEX gate_decisions_task ON gate_decisions(task_id, id);
CREATE INDEX gate_decisions_type ON gate_decisions(gate_type, id);

-- The events published while a task runs. Deduplicated: an event is its
-- task, type, phase and time; writing it again (a retried batch, a second
-- >>) is silently one row, for every writer, by the trigger below; the
-- unique index makes the rule hold even against an UPDATE.
CREATE TABLE event_log (
  id              INTEGER PRIMARY KEY,
  task_id         TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
  workflow_run_id TEXT REFERENCES workflow_runs(id) ON DELETE SET NULL,
  event_type      TEXT NOT NULL,
  phase           TEXT NOT NULL DEFAULT '',
  iteration       INTEGER,
  source          TEXT,
  data            TEXT CHECK (data IS NULL OR json_valid(data)),
  duration_ms     INTEGER CHECK (duration_ms IS NULL OR duration_ms >= 0),
  timestamp       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  created_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  updated_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);
CREATE UNIQUE INDEX event_log_dedup ON event_log(task_id, event_type, phase, timestamp);
CREATE INDEX event_log_task ON event_log(task_id, id);
CREATE INDEX event_log_run ON event_log(workflow_run_id);
CREATE TRIGGER event_log_dedup BEFORE INSERT ON event_log
WHEN EXISTS (SELECT 1 FROM event_log WHERE task_id = new.task_id AND event_type = new.event_type
             AND phase = new.phase AND timestamp = new.timestamp) BEGIN
  SELECT RAISE(IGNORE);
END;

-- Branches orc manages. The git name ("orc/TASK-001") has slashes, so it
-- cannot name a file: the key is an id of its own.
CREATE TABLE branches (
  id               TEXT PRIMARY KEY NOT NULL,
  name             TEXT NOT NULL UNIQUE,
  type             TEXT NOT NULL CHECK (type IN ('initiative','staging','task')),
  owner_id         TEXT,
  base_branch      TEXT,
  status           TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active','merged','stale','orphaned')),
  last_activity    TEXT,
  merged_at        TEXT,
  merged_to        TEXT,
  merge_commit_sha TEXT,
  revision         INTEGER NOT NULL DEFAULT 1,
  created_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  updated_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);
CREATE INDEX branches_type ON branches(type, id);
CREATE INDEX branches_status ON branches(status, id);
CREATE INDEX branches_owner ON branches(owner_id, id);

CREATE TABLE initiatives (
  id                 TEXT PRIMARY KEY NOT NULL,
  title              TEXT NOT NULL,
  status             TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('draft','active','completed','archived')),
  vision             TEXT,
  owner_initials     TEXT,
  owner_display_name TEXT,
  owner_email        TEXT,
  branch_base        TEXT,
  branch_prefix      TEXT,
  revision           INTEGER NOT NULL DEFAULT 1,
  created_at         TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  updated_at         TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);
CREATE INDEX initiatives_status ON initiatives(status, id);

CREATE TABLE initiative_decisions (
  id            INTEGER PRIMARY KEY,
  initiative_id TEXT NOT NULL REFERENCES initiatives(id) ON DELETE CASCADE,
  decision      TEXT NOT NULL,
  rationale     TEXT,
  decided_by    TEXT,
  decided_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  updated_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);
CREATE INDEX initiative_decisions_initiative ON initiative_decisions(initiative_id, id);

CREATE TABLE initiative_dependencies (
  initiative_id TEXT NOT NULL REFERENCES initiatives(id) ON DELETE CASCADE,
  depends_on    TEXT NOT NULL REFERENCES initiatives(id) ON DELETE CASCADE,
  created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  updated_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  PRIMARY KEY (initiative_id, depends_on),
  CHECK (initiative_id <> depends_on)
) WITHOUT ROWID;
CREATE INDEX initiative_dependencies_reverse ON initiative_dependencies(depends_on, initiative_id);

-- A task is in at most one initiative (orc's tasks.initiative_id): the key
-- is task_id alone.
CREATE TABLE initiative_tasks (
  task_id       TEXT PRIMARY KEY NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
  initiative_id TEXT NOT NULL REFERENCES initiatives(id) ON DELETE CASCADE,
  sequence      INTEGER NOT NULL DEFAULT 0,
  created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  updated_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
) WITHOUT ROWID;
CREATE INDEX initiative_tasks_initiative ON initiative_tasks(initiative_id, sequence, task_id);

CREATE TRIGGER phase_templates_touch AFTER UPDATE ON phase_templates WHEN new.revision = old.revision BEGIN
  UPDATE phase_templates SET revision = old.revision + 1,
    updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE id = new.id;
END;
CREATE TRIGGER workflow_runs_touch AFTER UPDATE ON workflow_runs WHEN new.revision = old.revision BEGIN
  UPDATE workflow_runs SET revision = old.revision + 1,
    updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE id = new.id;
END;
CREATE TRIGGER gate_decisions_touch AFTER UPDATE ON gate_decisions WHEN new.revision = old.revision BEGIN
  UPDATE gate_decisions SET revision = old.revision + 1,
    updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE id = new.id;
END;
CREATE TRIGGER branches_touch AFTER UPDATE ON branches WHEN new.revision = old.revision BEGIN
  UPDATE branches SET revision = old.revision + 1,
    updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE id = new.id;
END;
CREATE TRIGGER initiatives_touch AFTER UPDATE ON initiatives WHEN new.revision = old.revision BEGIN
  UPDATE initiatives SET revision = old.revision + 1,
    updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE id = new.id;
END;

CREATE TRIGGER phase_templates_feed_insert AFTER INSERT ON phase_templates BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('phase-templates', new.id, 'create');
END;
CREATE TRIGGER phase_templates_feed_update AFTER UPDATE ON phase_templates WHEN new.revision <> old.revision BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('phase-templates', new.id, 'update');
END;
CREATE TRIGGER phase_templates_feed_delete AFTER DELETE ON phase_templates BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('phase-templates', old.id, 'delete');
END;
CREATE TRIGGER workflow_runs_feed_insert AFTER INSERT ON workflow_runs BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('workflow-runs', new.id, 'create');
END;
CREATE TRIGGER workflow_runs_feed_update AFTER UPDATE ON workflow_runs WHEN new.revision <> old.revision BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('workflow-runs', new.id, 'update');
END;
CREATE TRIGGER workflow_runs_feed_delete AFTER DELETE ON workflow_runs BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('workflow-runs', old.id, 'delete');
END;
CREATE TRIGGER gate_decisions_feed_insert AFTER INSERT ON gate_decisions BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('gates', new.id, 'create');
END;
CREATE TRIGGER gate_decisions_feed_update AFTER UPDATE ON gate_decisions WHEN new.revision <> old.revision BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('gates', new.id, 'update');
END;
CREATE TRIGGER gate_decisions_feed_delete AFTER DELETE ON gate_decisions BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('gates', old.id, 'delete');
END;
CREATE TRIGGER branches_feed_insert AFTER INSERT ON branches BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('branches', new.id, 'create');
END;
CREATE TRIGGER branches_feed_update AFTER UPDATE ON branches WHEN new.revision <> old.revision BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('branches', new.id, 'update');
END;
CREATE TRIGGER branches_feed_delete AFTER DELETE ON branches BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('branches', old.id, 'delete');
END;
CREATE TRIGGER initiatives_feed_insert AFTER INSERT ON initiatives BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('initiatives', new.id, 'create');
END;
CREATE TRIGGER initiatives_feed_update AFTER UPDATE ON initiatives WHEN new.revision <> old.revision BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('initiatives', new.id, 'update');
END;
CREATE TRIGGER initiatives_feed_delete AFTER DELETE ON initiatives BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('initiatives', old.id, 'delete');
END;
CREATE TRIGGER initiative_dependencies_feed_insert AFTER INSERT ON initiative_dependencies BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('initiatives', new.initiative_id, 'link');
END;
CREATE TRIGGER initiative_dependencies_feed_delete AFTER DELETE ON initiative_dependencies BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('initiatives', old.initiative_id, 'unlink');
END;
CREATE TRIGGER initiative_tasks_feed_insert AFTER INSERT ON initiative_tasks BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('initiatives', new.initiative_id, 'link');
END;
CREATE TRIGGER initiative_tasks_feed_delete AFTER DELETE ON initiative_tasks BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('initiatives', old.initiative_id, 'unlink');
END;
CREATE TRIGGER phases_feed_insert AFTER INSERT ON phases BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('tasks', new.task_id, 'append');
END;
CREATE TRIGGER phase_outputs_feed_insert AFTER INSERT ON phase_outputs BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('tasks', new.task_id, 'append');
END;
CREATE TRIGGER task_comments_feed_insert AFTER INSERT ON task_comments BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('tasks', new.task_id, 'append');
END;
CREATE TRIGGER review_comments_feed_insert AFTER INSERT ON review_comments BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('tasks', new.task_id, 'append');
END;
CREATE TRIGGER event_log_feed_insert AFTER INSERT ON event_log BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('tasks', new.task_id, 'append');
END;
CREATE TRIGGER workflow_run_phases_feed_insert AFTER INSERT ON workflow_run_phases BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('workflow-runs', new.workflow_run_id, 'append');
END;
CREATE TRIGGER initiative_decisions_feed_insert AFTER INSERT ON initiative_decisions BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('initiatives', new.initiative_id, 'append');
END;
