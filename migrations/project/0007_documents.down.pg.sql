-- Undo 0007_documents (PostgreSQL). The default zones go only if nobody used
-- them: still at revision 1 as the schema made them, with no executions and
-- no worktrees (which would go with them); without feed rows: as they came
-- (the feed's sequence is put back as in the up step).
DO $m7$
DECLARE
  sq     text := pg_get_serial_sequence('_orchfs_changes', 'seq');
  mark   bigint;
  last   bigint;
  called boolean;
BEGIN
  LOCK TABLE _orchfs_changes IN SHARE ROW EXCLUSIVE MODE;
  SELECT coalesce(max(seq), 0) INTO mark FROM _orchfs_changes;
  EXECUTE 'SELECT last_value, is_called FROM ' || sq INTO last, called;
  DELETE FROM zones WHERE revision = 1 AND created_at = '2026-11-24T00:00:00.000Z'
    AND id IN ('zone-development', 'zone-testing', 'zone-review', 'zone-deployment')
    AND id NOT IN (SELECT zone_id FROM zone_executions) AND id NOT IN (SELECT zone_id FROM worktree_zones);
  DELETE FROM _orchfs_changes WHERE seq > mark;
  PERFORM setval(sq, last, called);
END;
$m7$;
DROP TABLE task_attachments;
DROP TRIGGER metadata_entries_feed_delete ON metadata_entries;
DROP TRIGGER metadata_entries_feed_update ON metadata_entries;
DROP TRIGGER metadata_entries_feed_insert ON metadata_entries;
DROP TRIGGER documents_feed_delete ON documents;
DROP TRIGGER documents_feed_update ON documents;
DROP TRIGGER documents_feed_insert ON documents;
DROP TRIGGER documents_touch ON documents;
DROP TABLE documents;
