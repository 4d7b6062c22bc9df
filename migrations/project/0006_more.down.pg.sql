-- Undo 0006_more (PostgreSQL). Dropping a column needs its index gone first.
DROP INDEX workflows_deleted;
DROP INDEX bugs_deleted;
DROP INDEX tasks_deleted;
ALTER TABLE workflows DROP COLUMN deleted_at;
ALTER TABLE bugs DROP COLUMN deleted_at;
ALTER TABLE tasks DROP COLUMN deleted_at;
DROP VIEW metadata;
DROP FUNCTION _orchfs_metadata_write();
DROP TABLE metadata_entries;
DROP TABLE ast_cache;
