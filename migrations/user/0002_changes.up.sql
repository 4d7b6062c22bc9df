-- The change feed (changes.jsonl, `orchfs watch`): one row per change to
-- any entity, link or log row, whoever made it. Triggers write the rows, so
-- the sqlite3 shell and other orchestrators are in the feed too; orchfs
-- fills in tool and pid (and the audit row) for its own changes, in the
-- same transaction. tool NULL means a writer other than orchfs.
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

CREATE TRIGGER llm_providers_feed_insert AFTER INSERT ON llm_providers BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('providers', new.id, 'create');
END;
CREATE TRIGGER llm_providers_feed_update AFTER UPDATE ON llm_providers WHEN new.revision <> old.revision BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('providers', new.id, 'update');
END;
CREATE TRIGGER llm_providers_feed_delete AFTER DELETE ON llm_providers BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('providers', old.id, 'delete');
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
CREATE TRIGGER workflow_templates_feed_insert AFTER INSERT ON workflow_templates BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('workflow_templates', new.id, 'create');
END;
CREATE TRIGGER workflow_templates_feed_update AFTER UPDATE ON workflow_templates WHEN new.revision <> old.revision BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('workflow_templates', new.id, 'update');
END;
CREATE TRIGGER workflow_templates_feed_delete AFTER DELETE ON workflow_templates BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('workflow_templates', old.id, 'delete');
END;
