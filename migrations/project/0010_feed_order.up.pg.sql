-- 0010_feed_order: a follower of the change feed (orchfs watch --since,
-- tail -f changes.jsonl) reads the rows after the last seq it saw, so a
-- row must never commit with a seq below one already committed. orchfs's
-- writers take one lock per database for their whole transaction
-- (pg_advisory_xact_lock, store/db.c); another writer (psql, an
-- orchestrator) did not, and its row could take seq N, commit after an
-- orchfs change took N + 1, and never be seen.
--
-- Now every statement that changes a table the feed follows takes that same
-- lock first (orchfs's own writers hold it already), before it locks any row
-- (a statement's BEFORE trigger runs before its rows are touched): the feed's
-- seqs are drawn in the order their transactions commit, and every writer
-- takes the lock before row locks, so a writer and another never wait for
-- each other in opposite orders (which taking it at the feed's insert, after
-- the row's lock, did). A seq given explicitly (orchfs import, migrate --to)
-- is kept as it is. A later step that makes the feed follow another table
-- adds this trigger to it too.
CREATE FUNCTION _orchfs_changes_order() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(7310594420066648934);
  RETURN NULL;
END;
$$;
DO $$
DECLARE
  t text;
BEGIN
  FOR t IN SELECT DISTINCT c.relname
             FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid JOIN pg_proc p ON p.oid = g.tgfoid
            WHERE p.proname = '_orchfs_feed' AND NOT g.tgisinternal
            ORDER BY 1 LOOP
    EXECUTE format('CREATE TRIGGER _orchfs_order BEFORE INSERT OR UPDATE OR DELETE ON %I '
                   'FOR EACH STATEMENT EXECUTE FUNCTION _orchfs_changes_order()', t);
  END LOOP;
END;
$$;
CREATE TRIGGER _orchfs_order BEFORE INSERT ON _orchfs_changes
  FOR EACH STATEMENT EXECUTE FUNCTION _orchfs_changes_order();
