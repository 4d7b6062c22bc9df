DO $$
DECLARE
  t text;
BEGIN
  FOR t IN SELECT c.relname FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid
            WHERE g.tgname = '_orchfs_order' LOOP
    EXECUTE format('DROP TRIGGER _orchfs_order ON %I', t);
  END LOOP;
END;
$$;
DROP FUNCTION _orchfs_changes_order();
