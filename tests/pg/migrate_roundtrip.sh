#!/bin/sh
# migrate_roundtrip.sh - the PostgreSQL migration steps of the project
# database (migrations/project/NNNN_name.{up,down}.pg.sql), with psql alone.
#
# On a scratch database: every up step in order, each in one transaction
# with its version row as the runner does it, the schema dumped before and
# after each; then from the latest step down to the first: down (the schema
# must equal the one before that step's up), up again (equal to the one
# after it), down again. Then the whole way up once more, and representative
# rows: a task, a bug with labels, transcripts found through the text search
# view (and its index used, by EXPLAIN on a few thousand rows), the touch
# trigger, the change feed, a NOTIFY received by a psql that LISTENs, the
# event log's deduplication, the metadata view, zone_stats, an attachment.
#
#   sh scripts/pg-server.sh && sh tests/pg/migrate_roundtrip.sh
#
# The server is scripts/pg-server.sh's (PGPORT as there); the scratch
# database is made by `pg-server.sh newdb`, so this runs as root (or as
# postgres). ORCHFS_PG_KEEP=1 keeps the scratch database and files.
# Exit 0 when everything holds, 1 at the first mismatch, 77 (skip) when
# there is no server and this user cannot make one.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
steps=$root/migrations/project
server=$root/scripts/pg-server.sh
dbname=orchfs_rt_$$
tmp=$(mktemp -d "${TMPDIR:-/tmp}/orchfs-pg-rt.XXXXXX")
listener=

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok $passed - $*"; }
fail() {
	failed=$((failed + 1))
	echo "not ok - $*"
	echo "$passed passed, $failed failed"
	exit 1
}

cleanup() {
	[ -z "$listener" ] || kill "$listener" 2>/dev/null || true
	if [ "${ORCHFS_PG_KEEP:-0}" = 1 ]; then
		echo "# kept database $dbname and $tmp" >&2
	else
		sh "$server" dropdb "$dbname" >/dev/null 2>&1 || true
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

if ! url=$(sh "$server" newdb "$dbname" 2>"$tmp/server.err"); then
	cat "$tmp/server.err" >&2
	if [ "$(id -u)" -ne 0 ]; then
		echo "1..0 # SKIP no PostgreSQL server and not root to make one"
		exit 77
	fi
	fail "scripts/pg-server.sh newdb $dbname"
fi
echo "# database $url"

# psql on the scratch database: quiet, stop at the first error, no psqlrc.
q() { psql "$url" -X -q -v ON_ERROR_STOP=1 "$@"; }
# One value (unaligned, no headers).
val() { psql "$url" -X -q -A -t -v ON_ERROR_STOP=1 -c "$1"; }
# expect WHAT SQL WANT: the value of SQL is WANT.
expect() {
	got=$(val "$2" 2>&1) || fail "$1: $got"
	[ "$got" = "$3" ] || fail "$1: got '$got', want '$3'"
	ok "$1"
}
# refuse WHAT SQLSTATE SQL: SQL fails with that SQLSTATE.
refuse() {
	if out=$(psql "$url" -X -q -v ON_ERROR_STOP=1 -v VERBOSITY=verbose -c "$3" 2>&1); then
		fail "$1: accepted"
	fi
	case "$out" in
	*"ERROR:  $2:"*) ok "$1" ;;
	*) fail "$1: want SQLSTATE $2, got: $out" ;;
	esac
}

# The runner's version table (store/ makes it before the first step).
q -c "CREATE TABLE _orchfs_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,
      applied_at TIMESTAMPTZ NOT NULL DEFAULT now())" || fail "version table"

# The schema as pg_dump sees it, without comments, SETs and blank lines.
dump() {
	pg_dump --schema-only --no-owner --no-privileges "$url" >"$tmp/raw" || fail "pg_dump"
	grep -v -e '^--' -e '^SET ' -e '^SELECT pg_catalog.set_config' -e '^\\restrict ' -e '^\\unrestrict ' -e '^[[:space:]]*$' "$tmp/raw" >"$1"
}

# same WHAT A B: two dumps are equal.
same() {
	if ! diff -u "$2" "$3" >"$tmp/diff"; then
		head -n 60 "$tmp/diff"
		fail "$1"
	fi
	ok "$1"
}

n=0
for f in "$steps"/[0-9][0-9][0-9][0-9]_*.up.pg.sql; do
	[ -e "$f" ] || fail "no PostgreSQL steps in $steps"
	n=$((n + 1))
	base=$(basename "$f" .up.pg.sql)
	v=$(echo "$base" | sed 's/_.*//; s/^0*//')
	[ "$v" = "$n" ] || fail "$base: steps must be numbered 1, 2, ... (found $v where $n was due)"
	[ -f "$steps/$base.down.pg.sql" ] || fail "$base: no $base.down.pg.sql"
	[ -f "$steps/$base.up.sql" ] && [ -f "$steps/$base.down.sql" ] || fail "$base: no SQLite step beside it"
	for d in up down; do
		# the runner makes the transaction: a step must not
		if grep -n -i -E '^[[:space:]]*(BEGIN|COMMIT|ROLLBACK|END|START[[:space:]]+TRANSACTION)([[:space:]]+(WORK|TRANSACTION))?[[:space:]]*;' \
			"$steps/$base.$d.pg.sql" | grep -v -i -E '^[0-9]+:[[:space:]]*END[[:space:]]*;' >"$tmp/tx"; then
			cat "$tmp/tx"
			fail "$base.$d.pg.sql has its own transaction control"
		fi
	done
	eval "name_$n=\$base"
done
echo "# $n steps"
[ "$n" -gt 0 ] || fail "no steps"

# step up|down K: run step K in one transaction with its version row.
step() {
	eval "base=\$name_$2"
	{
		echo "BEGIN;"
		cat "$steps/$base.$1.pg.sql"
		echo
		if [ "$1" = up ]; then
			echo "INSERT INTO _orchfs_migrations (version, name) VALUES ($2, 'project/$base.up.pg.sql');"
		else
			echo "DELETE FROM _orchfs_migrations WHERE version = $2;"
		fi
		echo "COMMIT;"
	} >"$tmp/step.sql"
	q -f "$tmp/step.sql" >"$tmp/step.out" 2>&1 || {
		cat "$tmp/step.out"
		fail "$base.$1.pg.sql"
	}
	grep -q WARNING "$tmp/step.out" && cat "$tmp/step.out" >&2
	return 0
}

dump "$tmp/schema.0"
k=1
while [ "$k" -le "$n" ]; do
	step up "$k"
	dump "$tmp/schema.$k"
	expect "up $k: schema_version row" "SELECT max(version) FROM _orchfs_migrations" "$k"
	k=$((k + 1))
done
ok "up 1..$n"

expect "no feed rows after the steps (the default zones are not a change)" \
	"SELECT count(*) FROM _orchfs_changes" 0
expect "feed sequence as new after the steps" \
	"SELECT last_value || ' ' || is_called FROM $(val "SELECT pg_get_serial_sequence('_orchfs_changes', 'seq')")" "1 false"
expect "four default zones" "SELECT string_agg(id, ',' ORDER BY id) FROM zones" \
	"zone-deployment,zone-development,zone-review,zone-testing"
expect "the constitution" "SELECT name || ' ' || revision || ' ' || created_at FROM documents" \
	"constitution 1 2026-11-24 00:00:00+00"

k=$n
while [ "$k" -ge 1 ]; do
	prev=$((k - 1))
	step down "$k"
	dump "$tmp/down.$k"
	same "down $k: schema as after up $prev" "$tmp/schema.$prev" "$tmp/down.$k"
	step up "$k"
	dump "$tmp/again.$k"
	same "down $k, up $k: schema as after up $k" "$tmp/schema.$k" "$tmp/again.$k"
	step down "$k"
	k=$prev
done
expect "down to 0: no version rows" "SELECT count(*) FROM _orchfs_migrations" 0
expect "down to 0: nothing but the version table" \
	"SELECT count(*) FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
	 WHERE s.nspname = 'public' AND c.relname NOT LIKE '\\_orchfs\\_migrations%'" 0
expect "down to 0: no functions left" \
	"SELECT count(*) FROM pg_proc p JOIN pg_namespace s ON s.oid = p.pronamespace WHERE s.nspname = 'public'" 0

k=1
while [ "$k" -le "$n" ]; do
	step up "$k"
	k=$((k + 1))
done
dump "$tmp/final"
same "up 1..$n again: schema as the first time" "$tmp/schema.$n" "$tmp/final"
expect "feed sequence as new after down and up" \
	"SELECT last_value || ' ' || is_called FROM $(val "SELECT pg_get_serial_sequence('_orchfs_changes', 'seq')")" "1 false"

# ---- rows -------------------------------------------------------------------

q -c "INSERT INTO tasks (id, title) VALUES ('TASK-001', 'first task')" || fail "insert task"
expect "task: defaults" \
	"SELECT status || ' ' || priority || ' ' || revision || ' ' || (created_at = updated_at)
	 || ' ' || (now() - created_at < interval '1 minute') FROM tasks WHERE id = 'TASK-001'" "created 0 1 true true"
expect "task: feed row" \
	"SELECT seq || ' ' || collection || ' ' || entity_key || ' ' || operation || ' ' || (tool IS NULL)
	 FROM _orchfs_changes ORDER BY seq" "1 tasks TASK-001 create true"
refuse "task: status outside its set" 23514 "INSERT INTO tasks (id, status) VALUES ('TASK-002', 'nope')"
refuse "task: no such workflow" 23503 "INSERT INTO tasks (id, workflow_id) VALUES ('TASK-002', 'WF-9')"

# The touch: an update that leaves revision alone bumps it and updated_at
# (a later transaction: now() is the transaction's time).
q -c "SELECT pg_sleep(0.02)" >/dev/null
q -c "UPDATE tasks SET title = 'renamed' WHERE id = 'TASK-001'" || fail "update task"
expect "touch: revision 2, updated_at moved" \
	"SELECT revision || ' ' || (updated_at > created_at) FROM tasks WHERE id = 'TASK-001'" "2 true"
q -c "UPDATE tasks SET title = 'again', revision = revision + 1 WHERE id = 'TASK-001'" || fail "update task"
expect "an update that bumps revision itself: no second bump" \
	"SELECT revision FROM tasks WHERE id = 'TASK-001'" 3
q -c "UPDATE tasks SET title = title WHERE id = 'TASK-001'" || fail "update task"
expect "an update that changes nothing still bumps" "SELECT revision FROM tasks WHERE id = 'TASK-001'" 4
expect "feed: one update row per update" \
	"SELECT string_agg(operation, ',' ORDER BY seq) FROM _orchfs_changes WHERE entity_key = 'TASK-001'" \
	"create,update,update,update"

# A bug with labels: JSONB arrays.
q -c "INSERT INTO bugs (id, title, labels) VALUES ('BUG-001', 'it crashes', '[\"ui\", \"p1\"]')" || fail "insert bug"
expect "bug: labels is a JSON array" \
	"SELECT jsonb_typeof(labels) || ' ' || (labels ? 'ui') || ' ' || jsonb_array_length(labels) || ' '
	 || related_files::text || ' ' || priority || ' ' || status FROM bugs WHERE id = 'BUG-001'" "array true 2 [] 3 open"
refuse "bug: labels must be an array" 23514 "INSERT INTO bugs (id, title, labels) VALUES ('BUG-002', 't', '{\"a\": 1}')"
refuse "bug: labels must be JSON" 22P02 "INSERT INTO bugs (id, title, labels) VALUES ('BUG-002', 't', '[1,')"
refuse "bug: priority 1..5" 23514 "INSERT INTO bugs (id, title, priority) VALUES ('BUG-002', 't', 6)"
q -c "INSERT INTO task_bugs (task_id, bug_id) VALUES ('TASK-001', 'BUG-001')" || fail "link"
q -c "DELETE FROM bugs WHERE id = 'BUG-001'" || fail "delete bug"
expect "link, then the bug deleted: link gone with it, all in the feed" \
	"SELECT (SELECT count(*) FROM task_bugs) || ' ' || string_agg(collection || ':' || operation, ',' ORDER BY seq)
	 FROM _orchfs_changes WHERE seq > 4" "0 bugs:create,tasks:link,bugs:delete,tasks:unlink"

# Transcripts and the text search view.
q -c "INSERT INTO transcripts (task_id, role, content) VALUES
      ('TASK-001', 'user', 'Please fix the flaky Parser test'),
      ('TASK-001', 'assistant', 'The parser is fixed; the tokenizer needed a guard.')" || fail "transcripts"
expect "fts: one word" \
	"SELECT string_agg(rowid::text, ',' ORDER BY rowid) FROM transcripts_fts
	 WHERE document @@ websearch_to_tsquery('simple', 'parser')" "1,2"
expect "fts: two words, case folded" \
	"SELECT string_agg(rowid::text, ',' ORDER BY rowid) FROM transcripts_fts
	 WHERE document @@ websearch_to_tsquery('simple', 'TOKENIZER guard')" "2"
expect "fts: phrase and negation" \
	"SELECT string_agg(rowid::text, ',' ORDER BY rowid) FROM transcripts_fts
	 WHERE document @@ websearch_to_tsquery('simple', '\"flaky parser\" -tokenizer')" "1"
expect "fts: the view's columns" \
	"SELECT string_agg(attname || ':' || format_type(atttypid, atttypmod), ',' ORDER BY attnum)
	 FROM pg_attribute WHERE attrelid = 'transcripts_fts'::regclass AND attnum > 0" "rowid:bigint,document:tsvector"
expect "transcripts: feed rows" \
	"SELECT count(*) FROM _orchfs_changes WHERE collection = 'tasks' AND operation = 'append'" 2
q -c "INSERT INTO transcripts (task_id, content)
      SELECT 'TASK-001', 'message number ' || i || ' about ' || (ARRAY['build','deploy','review','merge'])[1 + i % 4]
      FROM generate_series(1, 5000) i;
      INSERT INTO transcripts (task_id, content) VALUES ('TASK-001', 'a needle in the haystack');
      ANALYZE transcripts" || fail "many transcripts"
q -A -t -c "EXPLAIN (COSTS OFF) SELECT rowid FROM transcripts_fts
            WHERE document @@ websearch_to_tsquery('simple', 'needle')" >"$tmp/explain" || fail "explain"
if grep -q 'transcripts_fts_document' "$tmp/explain" && ! grep -q 'Seq Scan' "$tmp/explain"; then
	ok "fts: the GIN index serves the search ($(grep -o '[A-Za-z ]*Index Scan on transcripts_fts_document' "$tmp/explain" | head -n 1 | sed 's/^ *//'))"
else
	cat "$tmp/explain"
	fail "fts: the search does not use transcripts_fts_document"
fi
expect "fts: found among 5000" \
	"SELECT count(*) FROM transcripts_fts WHERE document @@ websearch_to_tsquery('simple', 'needle')" 1
expect "transcripts: updating content keeps the search in step" \
	"UPDATE transcripts SET content = 'no more hay' WHERE content LIKE 'a needle%';
	 SELECT count(*) FROM transcripts_fts WHERE document @@ websearch_to_tsquery('simple', 'needle')" 0

# NOTIFY: a psql that LISTENs hears a change written by another session.
mkfifo "$tmp/listen.in"
psql "$url" -X -q <"$tmp/listen.in" >"$tmp/listen.out" 2>&1 &
listener=$!
exec 3>"$tmp/listen.in"
printf '%s\n' "LISTEN orchfs_changes;" "SELECT 'listening';" >&3
i=0
until grep -q listening "$tmp/listen.out"; do
	i=$((i + 1))
	[ "$i" -lt 100 ] || fail "notify: the listener did not start: $(cat "$tmp/listen.out")"
	sleep 0.1
done
q -c "INSERT INTO workflows (id, name) VALUES ('WF-001', 'flow')" || fail "insert workflow"
q -c "BEGIN; INSERT INTO workflows (id, name) VALUES ('WF-002', 'flow'); ROLLBACK;" || fail "rolled back insert"
q -c "BEGIN; UPDATE workflows SET name = 'one' WHERE id = 'WF-001';
      UPDATE workflows SET name = 'two' WHERE id = 'WF-001'; COMMIT;" || fail "two updates"
sleep 0.2
printf '%s\n' "SELECT 'done';" '\q' >&3
exec 3>&-
wait "$listener" || true
listener=
heard=$(grep -c 'Asynchronous notification "orchfs_changes" received' "$tmp/listen.out" || true)
if [ "$heard" = 2 ] && ! grep -q 'with payload' "$tmp/listen.out"; then
	ok "notify: one empty notification per committed transaction with changes (2), none for a rollback"
else
	cat "$tmp/listen.out"
	fail "notify: heard $heard notifications, want 2 without payload"
fi

# The event log: the same event twice is one row (and one feed row).
q -c "INSERT INTO event_log (task_id, event_type, phase, timestamp) VALUES
      ('TASK-001', 'phase_started', 'spec', '2026-01-31T12:00:00.000Z');
      INSERT INTO event_log (task_id, event_type, phase, timestamp) VALUES
      ('TASK-001', 'phase_started', 'spec', '2026-01-31T12:00:00Z');
      INSERT INTO event_log (task_id, event_type, phase, timestamp) VALUES
      ('TASK-001', 'phase_started', 'implement', '2026-01-31T12:00:00Z')" || fail "events"
expect "event log: deduplicated" "SELECT count(*) FROM event_log" 2
expect "event log: one feed row per event kept" \
	"SELECT count(*) FROM _orchfs_changes WHERE seq > (SELECT max(seq) - 2 FROM _orchfs_changes) AND operation = 'append'" 2
refuse "event log: an update cannot make a duplicate" 23505 \
	"UPDATE event_log SET phase = 'spec' WHERE phase = 'implement'"

# The metadata view.
expect "metadata: schema_version is the latest step" \
	"SELECT value FROM metadata WHERE key = 'schema_version'" "$n"
q -c "INSERT INTO metadata (key, value) VALUES ('owner', 'team-a');
      INSERT INTO metadata (key, value) VALUES ('owner', 'team-b');
      UPDATE metadata SET value = 'x' WHERE key = 'owner';
      INSERT INTO metadata (key, value) VALUES ('gone', '1');
      DELETE FROM metadata WHERE key = 'gone'" || fail "metadata writes"
expect "metadata: writes go to metadata_entries" \
	"SELECT string_agg(key || '=' || value, ',' ORDER BY key) FROM metadata_entries" "owner=x"
expect "metadata: in the feed" \
	"SELECT string_agg(operation, ',' ORDER BY seq) FROM _orchfs_changes WHERE collection = 'metadata'" \
	"create,update,update,create,delete"
refuse "metadata: schema_version cannot be written" 23000 \
	"INSERT INTO metadata (key, value) VALUES ('schema_version', '99')"
refuse "metadata: schema_version cannot be deleted" 23000 "DELETE FROM metadata WHERE key = 'schema_version'"

# zone_stats, as the SQLite temp view computes it.
q -c "INSERT INTO zone_executions (zone_id, agent_type, success, executed_at) VALUES
      ('zone-testing', 'qa', 1, '2026-02-01T10:00:00Z'), ('zone-testing', 'qa', 1, '2026-02-01T11:00:00Z'),
      ('zone-testing', 'test-engineer', 0, '2026-02-01T12:00:00Z'), ('zone-testing', NULL, NULL, '2026-02-01T09:00:00Z'),
      ('zone-review', 'code-reviewer', 0, '2026-02-02T10:00:00Z'), ('zone-review', 'code-reviewer', 1, '2026-02-02T11:00:00Z'),
      ('zone-review', 'code-reviewer', 1, '2026-02-02T12:00:00Z')" || fail "executions"
expect "zone_stats: one zone" \
	"SELECT concat_ws(' ', zone_id, name, total, successes, failures, success_rate, unique_agents, last_executed_at)
	 FROM zone_stats WHERE zone_id = 'zone-testing'" "zone-testing Testing 4 2 1 50 2 2026-02-01 12:00:00+00"
expect "zone_stats: rounding" \
	"SELECT success_rate FROM zone_stats WHERE zone_id = 'zone-review'" "66.7"
expect "zone_stats: a zone without executions" \
	"SELECT concat_ws(' ', zone_id, total, successes, failures, coalesce(success_rate::text, 'null'), unique_agents,
	 coalesce(last_executed_at::text, 'null')) FROM zone_stats WHERE zone_id = 'zone-deployment'" \
	"zone-deployment 0 0 0 null 0 null"
expect "zone_stats: all" \
	"SELECT concat_ws(' ', zone_id, name, total, successes, failures, success_rate, unique_agents, last_executed_at)
	 FROM zone_stats WHERE zone_id = 'all'" "all All zones 7 4 2 57.1 3 2026-02-02 12:00:00+00"
expect "zone_stats: columns" \
	"SELECT string_agg(attname || ':' || format_type(atttypid, atttypmod), ',' ORDER BY attnum)
	 FROM pg_attribute WHERE attrelid = 'zone_stats'::regclass AND attnum > 0" \
	"zone_id:text,name:text,total:bigint,successes:bigint,failures:bigint,success_rate:double precision,unique_agents:bigint,last_executed_at:timestamp with time zone"

# Attachments: bytes, and the file name rule.
q -c "INSERT INTO task_attachments (task_id, filename, data) VALUES ('TASK-001', 'shot.png', '\\x89504e470d0a1a0a00ff')" ||
	fail "attachment"
expect "attachment: bytes kept" "SELECT encode(data, 'hex') || ' ' || length(data) FROM task_attachments" \
	"89504e470d0a1a0a00ff 10"
refuse "attachment: no slash in a name" 23514 \
	"INSERT INTO task_attachments (task_id, filename, data) VALUES ('TASK-001', 'a/b', '\\x00')"
refuse "attachment: no dot file" 23514 \
	"INSERT INTO task_attachments (task_id, filename, data) VALUES ('TASK-001', '.hidden', '\\x00')"

# Cascades and links of the later steps.
q -c "INSERT INTO orchestrator_agents (id, name) VALUES ('oa1', 'planner-1');
      INSERT INTO agents (id, orchestrator_agent_id) VALUES ('a1', 'oa1');
      INSERT INTO agents (id, orchestrator_agent_id, parent_agent_id) VALUES ('a2', 'oa1', 'a1');
      DELETE FROM agents WHERE id = 'a1'" || fail "agents"
expect "agents: deleting the parent leaves the child without one" \
	"SELECT id || ' ' || coalesce(parent_agent_id, 'null') FROM agents" "a2 null"
q -c "INSERT INTO workflow_runs (id, workflow_id, task_id) VALUES ('RUN-001', 'WF-001', 'TASK-001')" || fail "run"
refuse "workflow with runs cannot be deleted" 23503 "DELETE FROM workflows WHERE id = 'WF-001'"
q -c "DELETE FROM tasks WHERE id = 'TASK-001'" || fail "delete task"
expect "task deleted: its logs go, the run stays without it" \
	"SELECT (SELECT count(*) FROM transcripts) || ' ' || (SELECT count(*) FROM event_log) || ' '
	 || (SELECT coalesce(task_id, 'null') FROM workflow_runs)" "0 0 null"

echo "$passed passed, $failed failed"
