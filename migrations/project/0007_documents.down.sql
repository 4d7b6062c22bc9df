-- Undo 0007_documents. The default zones go only if nobody changed them
-- (still at revision 1, as the schema made them), without feed rows: as
-- they came, they go.
CREATE TEMP TABLE _orchfs_m7 AS SELECT coalesce(max(seq), 0) AS seq FROM _orchfs_changes;
DELETE FROM zones WHERE revision = 1 AND created_at = '2026-11-24T00:00:00.000Z'
  AND id IN ('zone-development', 'zone-testing', 'zone-review', 'zone-deployment');
DELETE FROM _orchfs_changes WHERE seq > (SELECT seq FROM _orchfs_m7);
UPDATE sqlite_sequence SET seq = (SELECT seq FROM _orchfs_m7) WHERE name = '_orchfs_changes';
DROP TABLE _orchfs_m7;
DROP TABLE task_attachments;
DROP TRIGGER documents_feed_delete;
DROP TRIGGER documents_feed_update;
DROP TRIGGER documents_feed_insert;
DROP TRIGGER documents_touch;
DROP TABLE documents;
