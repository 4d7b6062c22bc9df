#!/bin/bash
# pg_times.sh - times between SQLite and PostgreSQL. Times timestamptz has
# that SQLite's ISO text had no form for (infinity, -infinity, BC, years past
# 9999) read in one form on both engines (docs/format.md), go through a save
# unchanged, and through `orchfs migrate --to` from the server to a file.
#
# The server is scripts/pg-server.sh's; the test's databases are made with
# `newdb` and dropped at the end.
. "$(dirname "$0")/lib.sh"
PGS="sh $(dirname "$0")/../../scripts/pg-server.sh"
$PGS up >/dev/null 2>"$T/pg-up.err" || { cat "$T/pg-up.err"; fail "no PostgreSQL server"; }
NAME=t_pg_times_$$
MNT2=$T/mnt2
PID2=
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
umount2() {
	[ -n "$PID2" ] || return 0
	grep -q " $MNT2 fuse" /proc/mounts && { "$ORCHFS" umount "$MNT2" || "$ORCHFS" umount -l "$MNT2"; }
	wait "$PID2"
	local rc=$?
	PID2=
	return $rc
}
FIXTURE_CLEANUP='umount2; $PGS dropdb ${NAME}_a >/dev/null 2>&1'
URLA=$($PGS newdb "${NAME}_a" 2>/dev/null) || fail "newdb ${NAME}_a"
pga() { psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$URLA" -c "$1"; }
TASKS="TASK-001 TASK-002 TASK-003 TASK-004 TASK-005"

mount_fs
for t in $TASKS; do
	echo "{\"title\":\"$t\"}" >"$MNT/tasks/new" || fail "create $t"
done
umount_fs || fail "daemon"
"$ORCHFS" migrate --db "$URLA" up >/dev/null || fail "migrate up on the server"
mount2 "$URLA"
for t in $TASKS; do
	echo "{\"title\":\"$t\"}" >"$MNT2/tasks/new" || fail "create $t on the server"
done

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
umount2 || fail "the second daemon exited non-zero"
