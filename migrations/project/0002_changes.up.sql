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

CREATE TRIGGER workflows_feed_insert AFTER INSERT ON workflows BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('workflows', new.id, 'create');
END;
CREATE TRIGGER workflows_feed_update AFTER UPDATE ON workflows WHEN new.revision <> old.revision BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('workflows', new.id, 'update');
END;
CREATE TRIGGER workflows_feed_delete AFTER DELETE ON workflows BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('workflows', old.id, 'delete');
END;
CREATE TRIGGER tasks_feed_insert AFTER INSERT ON tasks BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('tasks', new.id, 'create');
END;
CREATE TRIGGER tasks_feed_update AFTER UPDATE ON tasks WHEN new.revision <> old.revision BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('tasks', new.id, 'update');
END;
CREATE TRIGGER tasks_feed_delete AFTER DELETE ON tasks BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('tasks', old.id, 'delete');
END;
CREATE TRIGGER bugs_feed_insert AFTER INSERT ON bugs BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('bugs', new.id, 'create');
END;
CREATE TRIGGER bugs_feed_update AFTER UPDATE ON bugs WHEN new.revision <> old.revision BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('bugs', new.id, 'update');
END;
CREATE TRIGGER bugs_feed_delete AFTER DELETE ON bugs BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('bugs', old.id, 'delete');
END;
CREATE TRIGGER project_rules_feed_insert AFTER INSERT ON project_rules BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('rules', new.id, 'create');
END;
CREATE TRIGGER project_rules_feed_update AFTER UPDATE ON project_rules WHEN new.revision <> old.revision BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('rules', new.id, 'update');
END;
CREATE TRIGGER project_rules_feed_delete AFTER DELETE ON project_rules BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('rules', old.id, 'delete');
END;
CREATE TRIGGER zones_feed_insert AFTER INSERT ON zones BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('zones', new.id, 'create');
END;
CREATE TRIGGER zones_feed_update AFTER UPDATE ON zones WHEN new.revision <> old.revision BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('zones', new.id, 'update');
END;
CREATE TRIGGER zones_feed_delete AFTER DELETE ON zones BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('zones', old.id, 'delete');
END;
CREATE TRIGGER worktrees_feed_insert AFTER INSERT ON worktrees BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('worktrees', new.id, 'create');
END;
CREATE TRIGGER worktrees_feed_update AFTER UPDATE ON worktrees WHEN new.revision <> old.revision BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('worktrees', new.id, 'update');
END;
CREATE TRIGGER worktrees_feed_delete AFTER DELETE ON worktrees BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('worktrees', old.id, 'delete');
END;
CREATE TRIGGER tool_permissions_feed_insert AFTER INSERT ON tool_permissions BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('permissions', new.tool_name, 'create');
END;
CREATE TRIGGER tool_permissions_feed_update AFTER UPDATE ON tool_permissions WHEN new.revision <> old.revision BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('permissions', new.tool_name, 'update');
END;
CREATE TRIGGER tool_permissions_feed_delete AFTER DELETE ON tool_permissions BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('permissions', old.tool_name, 'delete');
END;
CREATE TRIGGER task_dependencies_feed_insert AFTER INSERT ON task_dependencies BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('tasks', new.task_id, 'link');
END;
CREATE TRIGGER task_dependencies_feed_delete AFTER DELETE ON task_dependencies BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('tasks', old.task_id, 'unlink');
END;
CREATE TRIGGER task_bugs_feed_insert AFTER INSERT ON task_bugs BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('tasks', new.task_id, 'link');
END;
CREATE TRIGGER task_bugs_feed_delete AFTER DELETE ON task_bugs BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('tasks', old.task_id, 'unlink');
END;
CREATE TRIGGER worktree_zones_feed_insert AFTER INSERT ON worktree_zones BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('zones', new.zone_id, 'link');
END;
CREATE TRIGGER worktree_zones_feed_delete AFTER DELETE ON worktree_zones BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('zones', old.zone_id, 'unlink');
END;
CREATE TRIGGER workflow_tasks_feed_insert AFTER INSERT ON workflow_tasks BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('workflows', new.workflow_id, 'link');
END;
CREATE TRIGGER workflow_tasks_feed_delete AFTER DELETE ON workflow_tasks BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('workflows', old.workflow_id, 'unlink');
END;
CREATE TRIGGER transcripts_feed_insert AFTER INSERT ON transcripts BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('tasks', new.task_id, 'append');
END;
CREATE TRIGGER zone_executions_feed_insert AFTER INSERT ON zone_executions BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('zones', new.zone_id, 'append');
END;
