DROP TRIGGER _orchfs_changes_order ON _orchfs_changes;
DROP FUNCTION _orchfs_changes_order();
