-- 0010_feed_order: nothing was added in SQLite, nothing to take away.
SELECT 1;
