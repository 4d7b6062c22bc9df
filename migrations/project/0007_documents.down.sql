-- Undo 0007_documents. The default zones go only if nobody used them: still
-- at revision 1 as the schema made them, with no executions and no
-- worktrees (which would go with them); without feed rows: as they came.
CREATE TEMP TABLE _orchfs_m7 AS SELECT coalesce(max(seq), 0) AS seq FROM _orchfs_changes;
DELETE FROM zones WHERE revision = 1 AND created_at = '2026-11-24T00:00:00.000Z'
  AND id IN ('zone-development', 'zone-testing', 'zone-review', 'zone-deployment')
  AND id NOT IN (SELECT zone_id FROM zone_executions) AND id NOT IN (SELECT zone_id FROM worktree_zones);
DELETE FROM _orchfs_changes WHERE seq > (SELECT seq FROM _orchfs_m7);
UPDATE sqlite_sequence SET seq = (SELECT seq FROM _orchfs_m7) WHERE name = '_orchfs_changes';
DROP TABLE _orchfs_m7;
DROP TABLE task_attachments;
DROP TRIGGER metadata_entries_feed_delete;
DROP TRIGGER metadata_entries_feed_update;
DROP TRIGGER metadata_entries_feed_insert;
DROP TRIGGER documents_feed_delete;
DROP TRIGGER documents_feed_update;
DROP TRIGGER documents_feed_insert;
DROP TRIGGER documents_touch;
DROP TABLE documents;
