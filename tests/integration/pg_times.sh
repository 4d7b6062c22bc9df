#!/bin/bash
# pg_times.sh - times between SQLite and PostgreSQL. `orchfs migrate --to`
# copies times that SQLite's text holds with more digits than a read shows,
# or in forms timestamptz keeps otherwise (past the microsecond, a leap
# second, the year 0), so that every file reads the same bytes on the copy;
# it refuses a text the server would take for another time ("yesterday"),
# naming the row, and never commits a copy that would read otherwise:
# nothing is left to clean. Times timestamptz has that SQLite's ISO text
# had no form for (infinity, -infinity, BC, years past 9999) read in one
# form on both engines (docs/format.md) and go through a save unchanged.
#
# The server is scripts/pg-server.sh's; the test's databases are made with
# `newdb` and dropped at the end.
. "$(dirname "$0")/lib.sh"
PGS="sh $(dirname "$0")/../../scripts/pg-server.sh"
$PGS up >/dev/null 2>"$T/pg-up.err" || { cat "$T/pg-up.err"; fail "no PostgreSQL server"; }
NAME=t_pg_times_$$
# mount2 DB: a second daemon at $MNT2
mount2() {
	mkdir -p "$MNT2"
	"$ORCHFS" mount -f --db "$1" "$MNT2" 2>"$T/daemon2.err" &
	PID2=$!
	for _ in $(seq 1 200); do
		grep -q " $MNT2 fuse" /proc/mounts && grep -q "^orchfs: mounted .* (pid $PID2)" "$T/daemon2.err" && return 0
		sleep 0.05
	done
	cat "$T/daemon2.err" >&2
	fail "the second mount did not come up"
}
FIXTURE_CLEANUP='umount2; for d in a b; do $PGS dropdb ${NAME}_$d >/dev/null 2>&1; done'
URLA=$($PGS newdb "${NAME}_a" 2>/dev/null) || fail "newdb ${NAME}_a"
URLB=$($PGS newdb "${NAME}_b" 2>/dev/null) || fail "newdb ${NAME}_b"
pga() { psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$URLA" -c "$1"; }
pgb() { psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$URLB" -c "$1"; }
TASKS="TASK-001 TASK-002 TASK-003 TASK-004 TASK-005"

mount_fs
for t in $TASKS; do
	echo "{\"title\":\"$t\"}" >"$MNT/tasks/new" || fail "create $t"
done
umount_fs || fail "daemon"
# what other writers put into SQLite's text: ISO 8601 that a read shows to
# the millisecond, and the server would keep otherwise
sql "UPDATE tasks SET started_at = '2026-01-31T12:00:00.123456Z' WHERE id = 'TASK-001';
     UPDATE tasks SET started_at = '2026-01-31T12:00:00.9999996Z', completed_at = '2026-01-31 12:00:00.5' WHERE id = 'TASK-002';
     UPDATE tasks SET started_at = '2016-12-31T23:59:60.25+01:00' WHERE id = 'TASK-003';
     UPDATE tasks SET started_at = '0000-02-29 12:00:00', completed_at = '-000043-03-15T12:00:00.5-0100' WHERE id = 'TASK-004';
     UPDATE tasks SET started_at = 'infinity', completed_at = '+010000-01-01T00:00:00Z' WHERE id = 'TASK-005'"
mount_fs
mkdir -p "$T/lite"
for t in $TASKS; do cp "$MNT/tasks/$t/task.json" "$T/lite/$t.json" || fail "read $t"; done
cp "$MNT/tasks.jsonl" "$T/lite/tasks.jsonl" || fail "read tasks.jsonl"
umount_fs || fail "daemon"
check_eq "2026-01-31T12:00:00.123Z 2026-01-31T12:00:00.999Z 2016-12-31T23:00:00.250Z 0000-02-29T12:00:00.000Z infinity" \
	"$(for t in $TASKS; do jq -r .started_at "$T/lite/$t.json"; done | paste -sd' ')" "SQLite: started_at as read"
check_eq "-000043-03-15T13:00:00.500Z +010000-01-01T00:00:00.000Z" \
	"$(jq -r .completed_at "$T/lite/TASK-004.json" "$T/lite/TASK-005.json" | paste -sd' ')" "SQLite: years outside 0000-9999"

note "migrate --to PostgreSQL: every time reads as it did"
out=$("$ORCHFS" migrate --db "$DB" --to "$URLA" 2>&1) || fail "migrate --to PostgreSQL: $out"
assert_contains "$out" "verified" "migrate --to PostgreSQL"
check_eq "2026-01-31 12:00:00.123456+00|2026-01-31 12:00:00.999999+00|2016-12-31 23:00:00.25+00|0001-02-29 12:00:00+00 BC|infinity" \
	"$(pga "SELECT string_agg(started_at::text, '|' ORDER BY id) FROM tasks")" \
	"the server keeps the microseconds, drops what is past them, and has 1 BC for the year 0"
mount2 "$URLA"
for t in $TASKS; do
	cmp -s "$T/lite/$t.json" "$MNT2/tasks/$t/task.json" ||
		bad "$t/task.json differs on PostgreSQL: $(diff "$T/lite/$t.json" "$MNT2/tasks/$t/task.json" | grep '^[<>]' | tr '\n' ' ')"
done
cmp -s "$T/lite/tasks.jsonl" "$MNT2/tasks.jsonl" || bad "tasks.jsonl differs on PostgreSQL"

note "a text the server would read as another time is refused, naming the row; nothing is copied"
sql "UPDATE tasks SET started_at = 'yesterday' WHERE id = 'TASK-003'"
out=$("$ORCHFS" migrate --db "$DB" --to "$URLB" 2>&1) && fail "migrate --to copied 'yesterday' into a time: $out"
assert_contains "$out" "tasks.started_at of the row with id TASK-003: \"yesterday\" is not a time orchfs reads" "the refusal"
assert_contains "$out" "nothing was copied" "the refusal says so"
check_eq "0|0|0" "$(pgb "SELECT (SELECT count(*) FROM tasks) || '|' || (SELECT count(*) FROM _orchfs_changes) || '|' || (SELECT count(*) FROM tool_executions)")" \
	"nothing of the copy on the server"

note "a copy that would read otherwise is not committed"
# jsonb keeps the last of a name given twice; SQLite's text shows both
sql "UPDATE tasks SET started_at = NULL, metadata = '{\"k\":1,\"k\":2}' WHERE id = 'TASK-003'"
out=$("$ORCHFS" migrate --db "$DB" --to "$URLB" 2>&1) && fail "migrate --to copied a value that reads otherwise: $out"
assert_contains "$out" "the copy would differ from $DB at line" "the refusal"
assert_contains "$out" "the row of tasks with id \"TASK-003\": metadata is" "the refusal names the row and the field"
assert_contains "$out" "nothing was copied" "the refusal says so"
check_eq "0|0" "$(pgb "SELECT (SELECT count(*) FROM tasks) || '|' || (SELECT count(*) FROM _orchfs_changes)")" \
	"nothing of the copy on the server"
sql "UPDATE tasks SET metadata = NULL WHERE id = 'TASK-003'"
out=$("$ORCHFS" migrate --db "$DB" --to "$URLB" 2>&1) || fail "migrate --to the database a refused copy left: $out"
assert_contains "$out" "verified" "the database a refused copy left is new: copied into again"

note "PostgreSQL's infinities, BC and years past 9999 read in the ISO form, and go through a save"
pga "UPDATE tasks SET started_at = '0044-03-15 12:00:00.5+00 BC', completed_at = '10000-01-01 00:00:00+00' WHERE id = 'TASK-001';
     UPDATE tasks SET started_at = '-infinity', completed_at = 'infinity' WHERE id = 'TASK-002'" >/dev/null
check_eq "-000043-03-15T12:00:00.500Z|+010000-01-01T00:00:00.000Z" \
	"$(jq -r '"\(.started_at)|\(.completed_at)"' "$MNT2/tasks/TASK-001/task.json")" "BC and a year past 9999"
check_eq "-infinity|infinity" "$(jq -r '"\(.started_at)|\(.completed_at)"' "$MNT2/tasks/TASK-002/task.json")" "the infinities"
check_eq '"-infinity"' "$(jq -c .started_at <(grep '"TASK-002"' "$MNT2/tasks.jsonl"))" "tasks.jsonl the same"
sed -i 's/"title": "TASK-001"/"title": "edited"/' "$MNT2/tasks/TASK-001/task.json" || bad "sed -i TASK-001"
sed -i 's/"title": "TASK-002"/"title": "edited"/' "$MNT2/tasks/TASK-002/task.json" || bad "sed -i TASK-002"
check_eq "edited|0044-03-15 12:00:00.5+00 BC|10000-01-01 00:00:00+00|edited|-infinity|infinity" \
	"$(pga "SELECT string_agg(title || '|' || started_at || '|' || completed_at, '|' ORDER BY id) FROM tasks WHERE id IN ('TASK-001', 'TASK-002')")" \
	"a whole-file save keeps them"
echo '{"started_at":"-004712-01-01T00:00:00.000Z","completed_at":"-infinity"}' >"$MNT2/tasks/TASK-004/task.json" ||
	bad "a save of BC and -infinity"
check_eq "4713-01-01 00:00:00+00 BC|-infinity" "$(pga "SELECT started_at || '|' || completed_at FROM tasks WHERE id = 'TASK-004'")" \
	"written as they read"
check_eq "-004712-01-01T00:00:00.000Z|-infinity" \
	"$(jq -r '"\(.started_at)|\(.completed_at)"' "$MNT2/tasks/TASK-004/task.json")" "read back as written"
cp "$MNT2/tasks/TASK-001/task.json" "$T/pg-TASK-001.json"
echo '{"title":"copied"}' >"$MNT2/tasks/new" || bad "create a task"
jq -c '{started_at, completed_at}' "$T/pg-TASK-001.json" >"$MNT2/tasks/TASK-006/task.json" || bad "copy the times into another task"
check_eq "0044-03-15 12:00:00.5+00 BC|10000-01-01 00:00:00+00" \
	"$(pga "SELECT started_at || '|' || completed_at FROM tasks WHERE id = 'TASK-006'")" "copied from one file into another"

note "the same values on SQLite, and back from the server into a file"
mount_fs
echo '{"started_at":"-004712-01-01T00:00:00.000Z","completed_at":"-infinity"}' >"$MNT/tasks/TASK-004/task.json" ||
	bad "a save on SQLite"
check_eq "-004712-01-01T00:00:00.000Z|-infinity" "$(jq -r '"\(.started_at)|\(.completed_at)"' "$MNT/tasks/TASK-004/task.json")" \
	"SQLite reads them as written"
umount_fs || fail "daemon"
out=$("$ORCHFS" migrate --db "$URLA" --to "$T/back.db" 2>&1) || fail "migrate --to a file: $out"
assert_contains "$out" "verified" "migrate back to a file"
mkdir -p "$T/mnt3"
"$ORCHFS" mount -f --db "$T/back.db" "$T/mnt3" 2>"$T/daemon3.err" &
PID3=$!
for _ in $(seq 1 200); do grep -q " $T/mnt3 fuse" /proc/mounts && break; sleep 0.05; done
for t in $TASKS TASK-006; do
	cmp -s "$MNT2/tasks/$t/task.json" "$T/mnt3/tasks/$t/task.json" || bad "$t/task.json differs in the copy back"
done
"$ORCHFS" umount "$T/mnt3"
wait $PID3 || bad "the third daemon exited non-zero"

note "a file a refused copy made is removed"
# an integer past 2^53 comes back from an export as the nearest double
echo '{"role":"user","content":"many tokens"}' >>"$MNT2/tasks/TASK-001/transcript.jsonl" || bad "append"
pga "UPDATE transcripts SET input_tokens = 9007199254740993" >/dev/null
out=$("$ORCHFS" migrate --db "$URLA" --to "$T/refused.db" 2>&1) && fail "migrate --to copied 2^53 + 1: $out"
assert_contains "$out" "the row of transcripts with id 1: input_tokens is about 9007199254740992, past 2^53" "the refusal"
assert_contains "$out" "nothing was copied" "the refusal says so"
check_eq "" "$(ls "$T" | grep '^refused\.db')" "no file left"
umount2 || fail "the second daemon exited non-zero"
