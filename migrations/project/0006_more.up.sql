-- Orca's AST cache, OmniOrchestrator's metadata and soft deletes
-- (../shared/SEEDS.md).

-- Parsed files, keyed by path in Orca. A path has slashes, so it cannot
-- name a file in the tree: the key is the integer id, the path is unique.
CREATE TABLE ast_cache (
  id                INTEGER PRIMARY KEY,
  file_path         TEXT NOT NULL UNIQUE,
  language          TEXT NOT NULL,
  content_hash      TEXT NOT NULL,
  ast_data          TEXT CHECK (ast_data IS NULL OR json_valid(ast_data)),
  symbols           TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(symbols) AND json_type(symbols) = 'array'),
  imports           TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(imports) AND json_type(imports) = 'array'),
  file_size         INTEGER CHECK (file_size IS NULL OR file_size >= 0),
  parse_duration_ms INTEGER NOT NULL DEFAULT 0 CHECK (parse_duration_ms >= 0),
  accessed_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  revision          INTEGER NOT NULL DEFAULT 1,
  created_at        TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  updated_at        TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);
CREATE INDEX ast_cache_language ON ast_cache(language, id);
CREATE INDEX ast_cache_accessed ON ast_cache(accessed_at);
CREATE TRIGGER ast_cache_touch AFTER UPDATE ON ast_cache WHEN new.revision = old.revision BEGIN
  UPDATE ast_cache SET revision = old.revision + 1,
    updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE id = new.id;
END;
CREATE TRIGGER ast_cache_feed_insert AFTER INSERT ON ast_cache BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('ast-cache', new.id, 'create');
END;
CREATE TRIGGER ast_cache_feed_update AFTER UPDATE ON ast_cache WHEN new.revision <> old.revision BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('ast-cache', new.id, 'update');
END;
CREATE TRIGGER ast_cache_feed_delete AFTER DELETE ON ast_cache BEGIN
  INSERT INTO _orchfs_changes (collection, entity_key, operation) VALUES ('ast-cache', old.id, 'delete');
END;

-- The metadata key/value store (OmniOrchestrator's get_meta_value and
-- set_meta_value). schema_version is not stored: the view derives it from
-- the migration steps applied, so it equals the version after every step,
-- up or down, whoever migrates, and it never goes stale. Other keys live in
-- metadata_entries; writes to the view go there. Being derived, it is not
-- in an export either, so an import still finds a fresh database empty.
CREATE TABLE metadata_entries (
  key        TEXT PRIMARY KEY NOT NULL CHECK (key <> 'schema_version'),
  value      TEXT,
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);
CREATE VIEW metadata (key, value) AS
  SELECT 'schema_version', CAST(max(version) AS TEXT) FROM _orchfs_migrations
  UNION ALL
  SELECT key, value FROM metadata_entries;
CREATE TRIGGER metadata_insert INSTEAD OF INSERT ON metadata BEGIN
  SELECT RAISE(ABORT, 'metadata: schema_version is kept by the migrations') WHERE new.key = 'schema_version';
  INSERT INTO metadata_entries (key, value) VALUES (new.key, new.value)
    ON CONFLICT (key) DO UPDATE SET value = excluded.value,
      updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now');
END;
CREATE TRIGGER metadata_update INSTEAD OF UPDATE ON metadata BEGIN
  SELECT RAISE(ABORT, 'metadata: schema_version is kept by the migrations')
    WHERE old.key = 'schema_version' OR new.key = 'schema_version';
  UPDATE metadata_entries SET key = new.key, value = new.value,
    updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE key = old.key;
END;
CREATE TRIGGER metadata_delete INSTEAD OF DELETE ON metadata BEGIN
  SELECT RAISE(ABORT, 'metadata: schema_version is kept by the migrations') WHERE old.key = 'schema_version';
  DELETE FROM metadata_entries WHERE key = old.key;
END;

-- Soft deletes: when set, the entity is deleted but its row, links and logs
-- are kept, so it can be restored by clearing the field.
ALTER TABLE tasks ADD COLUMN deleted_at TEXT;
ALTER TABLE bugs ADD COLUMN deleted_at TEXT;
ALTER TABLE workflows ADD COLUMN deleted_at TEXT;
CREATE INDEX tasks_deleted ON tasks(deleted_at, id) WHERE deleted_at IS NOT NULL;
CREATE INDEX bugs_deleted ON bugs(deleted_at, id) WHERE deleted_at IS NOT NULL;
CREATE INDEX workflows_deleted ON workflows(deleted_at, id) WHERE deleted_at IS NOT NULL;
