-- 0010_feed_order makes, in PostgreSQL, the change feed's seq follow the
-- order in which changes commit. SQLite has one writer at a time (the file's
-- write lock), so a row's seq is always greater than every committed one's:
-- this step adds nothing here.
SELECT 1;
