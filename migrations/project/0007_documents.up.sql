-- Documents, task attachments and AI-Orchestra's four default zones.
--
-- documents: plain-text project documents shown as editable files
-- (documents/constitution.md: orc's constitution, the principles every agent
-- on the project follows). task_attachments: orc's files stored with a task,
-- shown as they are under tasks/<id>/attachments/ (read-only).

CREATE TABLE documents (
  name       TEXT PRIMARY KEY NOT NULL,
  content    TEXT NOT NULL DEFAULT '',
  revision   INTEGER NOT NULL DEFAULT 1,
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);
-- Written before its feed triggers exist: a default, not a change.
INSERT INTO documents (name, created_at, updated_at, content) VALUES ('constitution',
'2026-11-24T00:00:00.000Z', '2026-11-24T00:00:00.000Z',
'# Constitution

The principles every agent working on this project follows. Edit this file
to change them: orchfs keeps it in the project database, audited like any
other change.

1. Every change is tied to a task (TASK-NNN in the commit message).
2. Tests come with the change they cover.
3. Nothing is deleted that cannot be restored.
');
CREATE TRIGGER documents_touch AFTER UPDATE ON documents WHEN new.revision = old.revision BEGIN
  UPDATE documents SET revision = old.revision + 1,
    updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE name = new.name;
END;
CREATE TRIGGER documents_feed_insert AFTER INSERT ON documents BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('documents', new.name, 'create');
END;
CREATE TRIGGER documents_feed_update AFTER UPDATE ON documents WHEN new.revision <> old.revision BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('documents', new.name, 'update');
END;
CREATE TRIGGER documents_feed_delete AFTER DELETE ON documents BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('documents', old.name, 'delete');
END;

-- metadata/ (0006) is in the tree: its changes are in the feed like any other.
CREATE TRIGGER metadata_entries_feed_insert AFTER INSERT ON metadata_entries BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('metadata', new.key, 'create');
END;
CREATE TRIGGER metadata_entries_feed_update AFTER UPDATE ON metadata_entries BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('metadata', new.key, 'update');
END;
CREATE TRIGGER metadata_entries_feed_delete AFTER DELETE ON metadata_entries BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('metadata', old.key, 'delete');
END;

CREATE TABLE task_attachments (
  id           INTEGER PRIMARY KEY,
  task_id      TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
  filename     TEXT NOT NULL CHECK (length(filename) BETWEEN 1 AND 255 AND instr(filename, '/') = 0
                                    AND substr(filename, 1, 1) <> '.'),
  content_type TEXT,
  size_bytes   INTEGER,
  data         BLOB NOT NULL,
  is_image     INTEGER NOT NULL DEFAULT 0 CHECK (is_image IN (0, 1)),
  created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  UNIQUE (task_id, filename)
);

-- AI-Orchestra's default zones (its migrate_to_phase9). A project that has
-- zones of these names keeps its own. They come with the schema: no change
-- by anyone, so the feed rows their insert makes are taken out again.
CREATE TEMP TABLE _orchfs_m7 AS SELECT coalesce(max(seq), 0) AS seq FROM _orchfs_changes;
INSERT OR IGNORE INTO zones (id, name, description, trigger, agents, actions, prompt_template,
                             position_x, position_y, width, height, created_at, updated_at) VALUES
  ('zone-development', 'Development', 'Active development work - implement features and write code',
   'onDrop', '["frontend","backend"]', '[]',
   'You are working on: {{ github.title }}. Implement the feature described, following best practices.',
   50, 50, 350, 450, '2026-11-24T00:00:00.000Z', '2026-11-24T00:00:00.000Z'),
  ('zone-testing', 'Testing', 'QA and testing - run tests and verify functionality',
   'onDrop', '["qa","test-engineer"]', '[{"type":"runTests"}]',
   'Test the implementation for: {{ github.title }}. Run all tests, write new ones, check edge cases.',
   450, 50, 350, 450, '2026-11-24T00:00:00.000Z', '2026-11-24T00:00:00.000Z'),
  ('zone-review', 'Code Review', 'Ready for review - review code and create pull request',
   'onDrop', '["code-reviewer"]', '[{"type":"runTests"},{"type":"createPR","title":"{{ github.title }}"}]',
   'Review the code for: {{ github.title }}: quality, security, performance, tests, documentation.',
   850, 50, 350, 450, '2026-11-24T00:00:00.000Z', '2026-11-24T00:00:00.000Z'),
  ('zone-deployment', 'Deployment', 'Production deployment - deploy to staging or production',
   'manual', '["devops"]', '[{"type":"runTests"},{"type":"notify","message":"Ready for deployment"}]',
   'Prepare deployment for: {{ github.title }}. Verify tests, configuration and artifacts.',
   1250, 50, 350, 450, '2026-11-24T00:00:00.000Z', '2026-11-24T00:00:00.000Z');
DELETE FROM _orchfs_changes WHERE seq > (SELECT seq FROM _orchfs_m7);
UPDATE sqlite_sequence SET seq = (SELECT seq FROM _orchfs_m7) WHERE name = '_orchfs_changes';
DROP TABLE _orchfs_m7;
