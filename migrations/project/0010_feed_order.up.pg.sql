-- 0010_feed_order: a follower of the change feed (orchfs watch --since,
-- tail -f changes.jsonl) reads the rows after the last seq it saw, so a
-- row must never commit with a seq below one already committed. orchfs's
-- writers take one lock per database for their whole transaction
-- (pg_advisory_xact_lock, store/db.c); another writer (psql, an
-- orchestrator) did not, and its row could take seq N, commit after an
-- orchfs change took N + 1, and never be seen. Now every statement that
-- adds to the feed first takes that same lock (orchfs's own writers hold it
-- already), before its rows are formed and their seq drawn (a statement's
-- BEFORE trigger runs before its rows' defaults are computed): seqs are
-- drawn in the order the transactions that hold them commit. A seq given
-- explicitly (orchfs import, migrate --to) is kept as it is.
CREATE FUNCTION _orchfs_changes_order() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(7310594420066648934);
  RETURN NULL;
END;
$$;
CREATE TRIGGER _orchfs_changes_order BEFORE INSERT ON _orchfs_changes
  FOR EACH STATEMENT EXECUTE FUNCTION _orchfs_changes_order();
