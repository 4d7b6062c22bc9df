#!/bin/bash
# live.sh - the mount is a live view: what another writer (the sqlite3
# shell) does shows at once in ls, cat and stat with exact sizes; tail -f
# follows logs; the sizes of the audit log, the feed and the collections'
# streams follow every change without an open; inotify sees writes through the mount; the change feed
# lists every writer; relations and views follow both sides; ln -s, rm and
# mv change link tables in one transaction each; a reader never sees a
# torn file; streams longer than the daemon's memory limits are read whole
# from a temporary file.
. "$(dirname "$0")/lib.sh"
mount_fs
B=$MNT/bugs
now_ms() { date +%s%3N; }

# poll CMD until it prints WANT (at most 5 s); print how long it took in ms
visible_within() { # visible_within WANT CMD...
	local want=$1 t0 out
	shift
	t0=$(now_ms)
	for _ in $(seq 1 500); do
		out=$("$@" 2>/dev/null)
		if [ "$out" = "$want" ]; then
			echo $(($(now_ms) - t0))
			return 0
		fi
		sleep 0.01
	done
	fail "never saw [$want] from $*: last [$out]"
}

note "an insert, an update and a delete made with sqlite3 show at once"
sql "INSERT INTO bugs (id, title) VALUES ('BUG-500', 'from sqlite3')"
ms_insert=$(visible_within "BUG-500.json" sh -c "ls '$B' | grep BUG-500")
assert_eq "from sqlite3" "$(jq -r .title "$B/BUG-500.json")" "cat after the insert"
sql "UPDATE bugs SET title = 'changed by sqlite3, and longer' WHERE id = 'BUG-500'"
ms_update=$(visible_within "changed by sqlite3, and longer" jq -r .title "$B/BUG-500.json")
assert_eq "$(wc -c < "$B/BUG-500.json")" "$(stat -c %s "$B/BUG-500.json")" "stat size follows the update"
assert_eq "2" "$(jq .revision "$B/BUG-500.json")" "the revision grew for the outside writer too"
sql "DELETE FROM bugs WHERE id = 'BUG-500'"
ms_delete=$(visible_within "gone" sh -c "[ -e '$B/BUG-500.json' ] && echo there || echo gone")
echo "# visible after: insert ${ms_insert} ms, update ${ms_update} ms, delete ${ms_delete} ms"

# tail_stop OUT N: once the tail -f running as $TAIL printed N lines into OUT
# (at most 5 s), stop it
tail_stop() {
	for _ in $(seq 1 50); do
		[ "$(wc -l < "$1")" -ge "$2" ] && break
		sleep 0.1
	done
	kill $TAIL 2>/dev/null
	wait $TAIL 2>/dev/null
}

note "tail -f of a transcript prints rows from sqlite3 and from the mount"
mkdir "$MNT/tasks/TASK-001"
LOG=$MNT/tasks/TASK-001/transcript.jsonl
echo '{"role":"user","content":"first"}' >> "$LOG"
tail -n +1 -f "$LOG" > "$T/tail.out" 2>"$T/tail.err" &
TAIL=$!
FIXTURE_CLEANUP="kill $TAIL 2>/dev/null"
sleep 0.3
sql "INSERT INTO transcripts (task_id, role, content) VALUES ('TASK-001', 'assistant', 'from sqlite3')"
echo '{"role":"user","content":"from the mount"}' >> "$LOG"
tail_stop "$T/tail.out" 3
assert_eq "first|from sqlite3|from the mount" "$(jq -r .content "$T/tail.out" | paste -sd'|')" "tail -f output"

note "a log's rows removed under its readers: tail -f reads it again from the start, a reader in its middle gets ESTALE"
tail -n +1 -f "$LOG" > "$T/tail2.out" 2>"$T/tail2.err" &
TAIL=$!
FIXTURE_CLEANUP="kill $TAIL 2>/dev/null"
python3 - "$LOG" "$T/go" > "$T/mid.out" 2>&1 <<'PY' &
import errno, json, os, sys, time
log, go = sys.argv[1:]
fd = os.open(log, os.O_RDONLY)
head = os.read(fd, 10)
print("read %d" % len(head), flush=True)
for _ in range(400):  # until the delete and the append below are done
    if os.path.exists(go):
        break
    time.sleep(0.05)
try:
    os.read(fd, 65536)
    print("middle: OK")
except OSError as e:
    print("middle: " + errno.errorcode[e.errno])
os.lseek(fd, 0, os.SEEK_SET)
print("again: " + "|".join(json.loads(l)["content"] for l in os.read(fd, 1 << 20).decode().splitlines()))
PY
MID=$!
sleep 1.2 # tail printed the three rows, the python reader read its first bytes
sql "DELETE FROM transcripts WHERE task_id = 'TASK-001' AND content = 'first'"
sleep 1.5 # tail's next look: the file is shorter
echo '{"role":"user","content":"after the delete"}' >> "$LOG"
: > "$T/go"
wait $MID
tail_stop "$T/tail2.out" 6
assert_eq "first|from sqlite3|from the mount|from sqlite3|from the mount|after the delete" \
	"$(jq -r .content "$T/tail2.out" | paste -sd'|')" "tail -f: the rows, then the log again from its start after the delete"
assert_contains "$(cat "$T/tail2.err")" "file truncated" "tail -f saw the log shrink"
assert_eq "read 10
middle: ESTALE
again: from sqlite3|from the mount|after the delete" "$(cat "$T/mid.out")" "a reader in the middle of the log"
assert_contains "$(cat "$T/daemon.err")" "transcript.jsonl: rows were rewritten or removed under a reader in the middle of it" \
	"the daemon's log"

note "tail -f reads on past a row rewritten in place (before what it has read) and an append right after"
tail -n 0 -f "$LOG" > "$T/tail3.out" 2>"$T/tail3.err" &
TAIL=$!
FIXTURE_CLEANUP="kill $TAIL 2>/dev/null"
sleep 1.2
sql "UPDATE transcripts SET content = content || ', rewritten in place and longer' WHERE task_id = 'TASK-001' AND content = 'from sqlite3'"
echo '{"role":"user","content":"after the rewrite"}' >> "$LOG"
sleep 1.2
echo '{"role":"user","content":"and one more"}' >> "$LOG"
tail_stop "$T/tail3.out" 2
assert_eq "after the rewrite|and one more" "$(jq -r .content "$T/tail3.out" | paste -sd'|')" "tail -f went on"
[ -s "$T/tail3.err" ] && fail "tail -f: $(cat "$T/tail3.err")"

note "inotifywait sees a write made through the mount"
echo '{"title":"watched"}' > "$B/new"
inotifywait -q -m -e close_write -e modify --format '%e %f' "$B" > "$T/inotify.out" 2>/dev/null &
INW=$!
FIXTURE_CLEANUP="kill $INW 2>/dev/null"
sleep 0.3
echo '{"status":"fixed"}' > "$B/BUG-001.json"
sleep 0.3
kill $INW 2>/dev/null
wait $INW 2>/dev/null
grep -q "CLOSE_WRITE,CLOSE BUG-001.json" "$T/inotify.out" || fail "inotify events: $(cat "$T/inotify.out")"

note "the change feed lists both kinds of writer"
sql "UPDATE bugs SET priority = 1 WHERE id = 'BUG-001'"
feed=$(jq -c 'select(.key == "BUG-001") | [.operation, .tool]' "$MNT/changes.jsonl" | paste -sd' ')
assert_eq '["create","bash"] ["update","bash"] ["update",null]' "$feed" "changes.jsonl for BUG-001"
assert_eq "$(jq -c . "$MNT/changes.jsonl")" "$("$ORCHFS" watch --no-follow)" "orchfs watch prints the same feed"
last=$(tail -n 1 "$MNT/changes.jsonl" | jq .seq)
"$ORCHFS" watch --since "$last" > "$T/watch.out" &
WATCH=$!
FIXTURE_CLEANUP="kill $WATCH 2>/dev/null"
sleep 0.3
sql "INSERT INTO bugs (id, title) VALUES ('BUG-600', 'watched')"
for _ in $(seq 1 200); do
	grep -q BUG-600 "$T/watch.out" && break
	sleep 0.1
done
kill $WATCH
wait $WATCH 2>/dev/null
assert_eq '{"collection":"bugs","key":"BUG-600","operation":"create","tool":null}' \
	"$(jq -c '{collection, key, operation, tool}' "$T/watch.out")" "orchfs watch follows"

note "relations: ln -s, rm and mv change the link tables, one transaction each"
mkdir "$MNT/tasks/TASK-002" "$MNT/zones/zone-a" "$MNT/zones/zone-b"
echo '{"path":"/srv/wt1"}' > "$MNT/worktrees/wt1.json"
a0=$(audit_count)
ln -s ../../TASK-002 "$MNT/tasks/TASK-001/deps/TASK-002"
ln -s ../../../bugs/BUG-001.json "$MNT/tasks/TASK-001/bugs/BUG-001"
assert_eq "TASK-001|TASK-002" "$(sql "SELECT task_id, depends_on FROM task_dependencies")" "ln -s made the dependency"
assert_eq "TASK-001|BUG-001|fixes" "$(sql "SELECT task_id, bug_id, relationship FROM task_bugs")" "ln -s made the task-bug link"
assert_eq "$((a0 + 2))" "$(audit_count)" "one audit row per link"
assert_eq "$(readlink -f "$MNT/tasks/TASK-002")" "$(readlink -f "$MNT/tasks/TASK-001/deps/TASK-002")" "readlink -f resolves"
assert_eq "BUG-001" "$(jq -r .id "$MNT/tasks/TASK-001/bugs/BUG-001")" "cat through the link"
ls -L "$MNT/tasks/TASK-001/deps/TASK-002/task.json" >/dev/null || fail "ls -L through the link"
mv "$MNT/worktrees/wt1.json" "$MNT/zones/zone-a/worktrees/"
assert_eq "wt1|zone-a" "$(sql "SELECT worktree_id, zone_id FROM worktree_zones")" "mv assigned the worktree"
mv "$MNT/worktrees/wt1.json" "$MNT/zones/zone-b/worktrees/"
assert_eq "wt1|zone-b" "$(sql "SELECT worktree_id, zone_id FROM worktree_zones")" "mv reassigned it, in one transaction"
assert_eq "/zones/zone-b/worktrees/wt1" "$(sql "SELECT path FROM tool_executions WHERE id = (SELECT max(id) FROM tool_executions)")" "audited at the link's own path"
assert_eq "wt1" "$(ls "$MNT/worktrees/by-zone/zone-b")" "worktrees/by-zone follows"
[ -e "$MNT/zones/zone-a/worktrees/wt1" ] && fail "still in zone-a"
[ -e "$MNT/worktrees/wt1.json" ] || fail "the worktree itself stays in worktrees/"
rm "$MNT/tasks/TASK-001/deps/TASK-002"
assert_eq "0" "$(sql "SELECT count(*) FROM task_dependencies")" "rm unlinked"
assert_eq "$((a0 + 5))" "$(audit_count)" "one audit row per ln, mv and rm"
M=$(sql "SELECT max(id) FROM tool_executions WHERE operation = 'link' AND entity_key = 'zone-b'")
assert_eq "zone-a" "$(jq -r .arguments.from "$MNT/audit/$M.json")" "the move's audit row names the zone it left"
"$ORCHFS" undo "$M" >/dev/null || fail "orchfs undo of the move"
assert_eq "wt1|zone-a" "$(sql "SELECT worktree_id, zone_id FROM worktree_zones")" "undo of the move put it back in zone-a"
mv "$MNT/worktrees/wt1.json" "$MNT/zones/zone-b/worktrees/" || fail "mv to zone-b again"
M2=$(sql "SELECT max(id) FROM tool_executions WHERE operation = 'link' AND entity_key = 'zone-b'")
mv "$MNT/zones/zone-b/worktrees/wt1" "$MNT/zones/zone-a/worktrees/" || fail "mv back to zone-a"
"$ORCHFS" undo "$M2" >/dev/null 2>&1 && fail "undo of an older move went over a later one"
assert_eq "wt1|zone-a" "$(sql "SELECT worktree_id, zone_id FROM worktree_zones")" "the later move is kept"
mv "$MNT/zones/zone-a/worktrees/wt1" "$MNT/zones/zone-b/worktrees/" || fail "mv to zone-b, as the tests below expect"

note "relations and views follow sqlite3 too"
sql "INSERT INTO task_dependencies (task_id, depends_on) VALUES ('TASK-002', 'TASK-001')"
assert_eq "TASK-001" "$(ls "$MNT/tasks/TASK-002/deps")" "a link inserted with sqlite3"
sql "UPDATE tasks SET status = 'running' WHERE id = 'TASK-002'"
assert_eq "TASK-002" "$(ls "$MNT/tasks/by-status/running")" "the view follows an update"
echo '{"status":"blocked"}' > "$MNT/tasks/TASK-002/task.json"
[ -e "$MNT/tasks/by-status/running" ] && fail "by-status/running should be gone"
assert_eq "TASK-002" "$(ls "$MNT/tasks/by-status/blocked")" "the view follows a write through the mount"
# (SQLite enforces foreign keys only when asked; PostgreSQL always does)
if on_pg; then fk=; else fk="PRAGMA foreign_keys = ON;"; fi
sql "$fk DELETE FROM tasks WHERE id = 'TASK-001'"
assert_eq "" "$(ls "$MNT/tasks/TASK-002/deps")" "the link went with the task (ON DELETE CASCADE)"

note "full-text search of transcripts, from the shell and the CLI"
echo '{"role":"assistant","content":"the token bucket refills"}' >> "$MNT/tasks/TASK-002/transcript.jsonl"
assert_eq "TASK-002|the token bucket refills" "$(jq -r '"\(.task_id)|\(.content)"' "$MNT/tasks/search/token bucket")" "cat tasks/search/QUERY"
assert_eq "the token bucket refills" "$("$ORCHFS" search 'bucket' | jq -r .content)" "orchfs search"

note "sizes kept between requests follow every writer: appends here and by sqlite3, rows rewritten or deleted"
# cat | wc -c reads to the end (wc -c on the file itself may trust st_size)
size_ok() { assert_eq "$(cat "$1" | wc -c)" "$(stat -c %s "$1")" "$2"; }
L=$MNT/tasks/TASK-002/transcript.jsonl
size_ok "$L" "log size before"
for i in 1 2 3; do
	echo "{\"role\":\"user\",\"content\":\"append $i\"}" >> "$L"
	size_ok "$L" "log size after append $i through the mount"
done
sql "INSERT INTO transcripts (task_id, role, content) VALUES ('TASK-002', 'assistant', 'from sqlite3')"
size_ok "$L" "log size after an insert by sqlite3"
echo '{"role":"user","content":"and one more"}' >> "$L"
sql "UPDATE transcripts SET content = content || ', rewritten by sqlite3' WHERE task_id = 'TASK-002' AND content = 'append 1'"
size_ok "$L" "log size after sqlite3 rewrote an old row"
assert_eq "append 1, rewritten by sqlite3" "$(jq -r 'select(.content | startswith("append 1")) | .content' "$L")" "the rewritten row"
sql "DELETE FROM transcripts WHERE task_id = 'TASK-002' AND content = 'append 2'"
size_ok "$L" "log size after sqlite3 deleted an old row"
assert_eq "the token bucket refills|append 1, rewritten by sqlite3|append 3|from sqlite3|and one more" \
	"$(jq -r .content "$L" | paste -sd'|')" "the log after all of it"
size_ok "$B/BUG-001.json" "entity size before"
sql "UPDATE bugs SET title = title || ' (retitled)' WHERE id = 'BUG-001'"
size_ok "$B/BUG-001.json" "entity size after an update by sqlite3"
size_ok "$MNT/bugs.jsonl" "stream size before"
sql "UPDATE bugs SET title = 'short' WHERE id = 'BUG-001'"
size_ok "$MNT/bugs.jsonl" "stream size after an update by sqlite3"
assert_eq "short" "$(jq -r .title "$B/BUG-001.json")" "cat after the update"

note "the sizes of the audit log and the feed follow appends, rewrites and deletes, stat before any open"
# a stat first: an open renders the whole file and would answer the stat itself
stat_ok() { local s; s=$(stat -c %s "$1"); assert_eq "$(cat "$1" | wc -c)" "$s" "$2"; }
A=$MNT/audit.jsonl F=$MNT/changes.jsonl
stat_ok "$A" "audit.jsonl size"
stat_ok "$F" "changes.jsonl size"
for i in 1 2 3; do
	printf '{"priority":%d}\n' $((i % 2 + 2)) >"$B/BUG-001.json"
	stat_ok "$A" "audit.jsonl size after save $i through the mount"
	stat_ok "$F" "changes.jsonl size after save $i through the mount"
done
sql "INSERT INTO tool_executions (tool_name, operation, status, result) VALUES ('agent', 'tool_call', 'success', 'ok')"
stat_ok "$A" "audit.jsonl size after sqlite3 appended a tool call"
sql "INSERT INTO tool_executions (tool_name, operation, status) VALUES ('agent', 'tool_call', 'success');
     INSERT INTO tool_executions (tool_name, operation, status) VALUES ('agent', 'tool_call', 'failure')"
sql "UPDATE bugs SET title = 'by sqlite3 for the feed' WHERE id = 'BUG-001'"
stat_ok "$A" "audit.jsonl size after two more commits"
stat_ok "$F" "changes.jsonl size after an unsigned feed row"
sql "UPDATE tool_executions SET result = 'rewritten, and longer than it was' WHERE id = (SELECT min(id) FROM tool_executions)"
stat_ok "$A" "audit.jsonl size after sqlite3 rewrote its first row"
first=$(sql "SELECT min(id) FROM tool_executions")
sql "DELETE FROM tool_executions WHERE id = $first"
stat_ok "$A" "audit.jsonl size after sqlite3 deleted its first row"
sql "INSERT INTO tool_executions (id, tool_name, operation, status) VALUES ($first, 'agent', 'tool_call', 'success')"
stat_ok "$A" "audit.jsonl size after sqlite3 put a row back below the newest"
assert_eq "$first" "$(head -n 1 "$A" | jq .id)" "the row put back is first again"
sql "UPDATE _orchfs_changes SET tool = 'someone' WHERE seq = (SELECT min(seq) FROM _orchfs_changes)"
stat_ok "$F" "changes.jsonl size after its first row was rewritten"
sql "DELETE FROM _orchfs_changes WHERE seq = (SELECT min(seq) FROM _orchfs_changes)"
stat_ok "$F" "changes.jsonl size after its first row was deleted"
printf '{"priority":2}\n' >"$B/BUG-001.json"
stat_ok "$A" "audit.jsonl size after one more save"
stat_ok "$F" "changes.jsonl size after one more save"
for f in "$A" "$F"; do # the same size twice over, and each line whole JSON
	assert_eq "$(stat -c %s "$f")" "$(stat -c %s "$f")" "$f: the same size twice"
	jq -e . "$f" >/dev/null || fail "$f: not JSON Lines"
done

note "a collection's stream size follows saves, sqlite3, rm to .trash and back, and a pruned feed, stat before any open"
S=$MNT/bugs.jsonl
stat_ok "$S" "bugs.jsonl size"
printf '{"title":"retitled through the mount, longer than before"}\n' >"$B/BUG-001.json"
stat_ok "$S" "bugs.jsonl size after a save through the mount"
printf '{"title":"short"}\n' >"$B/BUG-001.json"
stat_ok "$S" "bugs.jsonl size after a shorter save"
sql "UPDATE bugs SET description = 'rewritten by sqlite3, at some length' WHERE id = 'BUG-001'"
stat_ok "$S" "bugs.jsonl size after an update by sqlite3"
# (BUG-600 is the bug orchfs watch saw made, above)
sql "INSERT INTO bugs (id, title) VALUES ('BUG-610', 'inserted by sqlite3'), ('BUG-611', 'and another')" ||
	fail "sqlite3 could not insert BUG-610 and BUG-611"
stat_ok "$S" "bugs.jsonl size after two inserts by sqlite3"
sql "DELETE FROM bugs WHERE id = 'BUG-610'"
stat_ok "$S" "bugs.jsonl size after a delete by sqlite3"
rm "$B/BUG-611.json" || fail "rm BUG-611.json"
stat_ok "$S" "bugs.jsonl size after rm (to .trash)"
mv "$B/.trash/BUG-611.json" "$B/BUG-611.json" || fail "mv BUG-611.json back from .trash"
stat_ok "$S" "bugs.jsonl size after mv back from .trash"
sql "INSERT INTO bugs (id, title) VALUES ('BUG-610', 'the same key again')" || fail "sqlite3 could not insert BUG-610 again"
stat_ok "$S" "bugs.jsonl size after a key came back"
sql "UPDATE bugs SET title = 'one' WHERE id = 'BUG-610'; UPDATE bugs SET title = 'two, longer' WHERE id = 'BUG-610'"
stat_ok "$S" "bugs.jsonl size after two updates of one row"
sql "UPDATE bugs SET title = 'its feed row is deleted' WHERE id = 'BUG-001';
     DELETE FROM _orchfs_changes WHERE seq = (SELECT max(seq) FROM _orchfs_changes)"
stat_ok "$S" "bugs.jsonl size after a change whose feed row was deleted"
sql "DELETE FROM _orchfs_changes WHERE seq > (SELECT max(seq) - 2 FROM _orchfs_changes)"
sql "UPDATE bugs SET title = 'after the feed lost rows' WHERE id = 'BUG-610'"
stat_ok "$S" "bugs.jsonl size after feed rows were deleted"
assert_eq "$(sql "SELECT count(*) FROM bugs WHERE deleted_at IS NULL")" "$(wc -l <"$S")" "one line a live bug"
sql "UPDATE bugs SET id = 'BUG-700' WHERE id = 'BUG-610'"
stat_ok "$S" "bugs.jsonl size after sqlite3 changed a key (the feed names the new one only)"
W=$MNT/worktrees.jsonl
sql "INSERT INTO worktrees (id, path, port) VALUES ('wt-a', '/srv/a', 8401), ('wt-b', '/srv/b', 8402)"
stat_ok "$W" "worktrees.jsonl size"
if ! on_pg; then # SQLite's REPLACE deletes the row in the way, and runs no trigger for it
	sql "INSERT OR REPLACE INTO worktrees (id, path, port) VALUES ('wt-c', '/srv/c', 8401)"
	stat_ok "$W" "worktrees.jsonl size after a REPLACE deleted another row"
	assert_eq "wt-b wt-c" "$(jq -r .id "$W" | grep '^wt-' | paste -sd' ')" "the worktrees after the REPLACE"
fi
stat_ok "$MNT/tasks.jsonl" "tasks.jsonl size"
sql "UPDATE tasks SET title = title || ' (a longer title)' WHERE id = 'TASK-001'"
stat_ok "$MNT/tasks.jsonl" "tasks.jsonl size after an update by sqlite3"

note "a reader never sees a torn file while another process rewrites the row"
echo '{"title":"torn","description":"short"}' > "$B/new"
key=$(cat "$B/new")
rm -f "$T/reads-enough"
python3 - "$DB" "$key" "$T/reads-enough" > "$T/writer.out" 2>&1 <<'PY' &
import os, sqlite3, subprocess, sys, time
if sys.argv[1].startswith("postgres"):
    # psql, one autocommitted UPDATE at a time, each waited for
    p = subprocess.Popen(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", sys.argv[1]],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
    def update(text, key):
        p.stdin.write("UPDATE bugs SET description = '%s' WHERE id = '%s';\n\\echo done\n" % (text, key))
        p.stdin.flush()
        if p.stdout.readline().strip() != "done":
            sys.exit("psql failed")
else:
    db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)
    def update(text, key):
        db.execute("UPDATE bugs SET description = ? WHERE id = ?", (text, key))
# at least 3 s, and on until the reader has made 50 whole reads (at most 60 s:
# a loaded machine reads slowly, and the check below needs reads to mean anything)
t0 = time.time()
i = 0
while time.time() < t0 + 3 or (not os.path.exists(sys.argv[3]) and time.time() < t0 + 60):
    update("x" * (2000 if i % 2 else 10), sys.argv[2])
    i += 1
print(i)
PY
WRITER=$!
FIXTURE_CLEANUP="kill $WRITER 2>/dev/null"
reads=0
while kill -0 $WRITER 2>/dev/null; do
	out=$(cat "$B/$key.json") || fail "cat failed"
	d=$(jq -r '.description | length' <<<"$out") || fail "a torn read: $(head -c 200 <<<"$out")"
	case "$d" in 10 | 2000 | 5) ;; *) fail "description of length $d" ;; esac
	reads=$((reads + 1))
	[ "$reads" -ne 50 ] || : >"$T/reads-enough"
done
wait $WRITER
echo "# $reads whole reads during $(cat "$T/writer.out") updates"
[ "$reads" -gt 20 ] || fail "too few reads to mean anything: $reads"

FIXTURE_CLEANUP=

note "streams longer than the daemon may hold are read whole, from a temporary file, in bounded memory"
umount_fs || fail "clean unmount"
rows=150000
sql "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $rows)
INSERT INTO bugs (id, title, description)
SELECT 'BULK-' || i, 'bulk bug ' || i, 'one of many rows that make bugs.jsonl longer than the cache: ' || i FROM n"
sql "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $rows)
INSERT INTO tool_executions (tool_name, operation, status, result)
SELECT 'bulk', 'tool_call', 'success', 'one of many tool calls that make audit.jsonl long: ' || i FROM n"
mkdir "$T/spill"
# a 1 MiB cache: renderings past 2 MiB leave memory, into TMPDIR
export ORCHFS_CACHE_MB=1 TMPDIR=$T/spill
mount_fs
unset ORCHFS_CACHE_MB
export TMPDIR=/tmp
hwm() { awk '/^VmHWM:/ { print $2 }' "/proc/$DAEMON_PID/status"; }
hwm0=$(hwm)
for f in audit.jsonl bugs.jsonl changes.jsonl; do
	size_ok "$MNT/$f" "$f: stat size"
done
n_audit=$(audit_count)
assert_eq "$n_audit" "$(wc -l < "$MNT/audit.jsonl")" "audit.jsonl: one line per audit row"
assert_eq "$(sql "SELECT max(id) FROM tool_executions")" "$(tail -n 1 "$MNT/audit.jsonl" | jq .id)" \
	"tail -n 1 audit.jsonl: the newest row"
jq -e . "$MNT/bugs.jsonl" >/dev/null || fail "bugs.jsonl: a line that is not JSON"
cmp -s <("$ORCHFS" cat bugs) "$MNT/bugs.jsonl" || fail "bugs.jsonl differs from orchfs cat bugs"
cmp -s <("$ORCHFS" cat audit) "$MNT/audit.jsonl" || fail "audit.jsonl differs from orchfs cat audit"
big=$(stat -c %s "$MNT/audit.jsonl")
[ "$big" -gt $((40 << 20)) ] || fail "audit.jsonl is only $big bytes: too short to tell"
if grep -q asan "/proc/$DAEMON_PID/maps"; then
	note "(AddressSanitizer keeps freed memory: the daemon's peak RSS is not checked)"
else
	grew=$(($(hwm) - hwm0))
	echo "# peak RSS grew by $grew KiB while reading $((big >> 10)) KiB of audit.jsonl (and bugs.jsonl, changes.jsonl)"
	# held in memory, audit.jsonl alone would add its size; spilled, what the
	# limits allow (a 2 MiB buffer as it grows, SQLite's 4 MiB, a row)
	[ "$grew" -lt $((big / 3 >> 10)) ] || fail "peak RSS grew by $grew KiB: the streams were held in memory"
fi
python3 - "$MNT" "$T/spill" "$DAEMON_PID" "$DB" > "$T/spill.out" 2>&1 <<'PY' || fail "reading from the temporary file: $(cat "$T/spill.out")"
import os, sqlite3, subprocess, sys, time
mnt, spill, pid, db = sys.argv[1:]
pg = db.startswith("postgres")
def fd_target(f):
    try:
        return os.readlink("/proc/%s/fd/%s" % (pid, f))
    except FileNotFoundError:  # closed since the listing
        return ""
def spilled():
    fds = os.listdir("/proc/%s/fd" % pid)
    return [l for l in map(fd_target, fds) if l.startswith(spill + "/")]
def no_spill_left(what):
    for _ in range(100):  # RELEASE, which closes it, reaches the daemon after close() returns
        if not spilled():
            return
        time.sleep(0.05)
    raise AssertionError("the temporary file outlived the open file of " + what)
def add_row(sql):
    if pg:
        subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", db, "-c", sql], check=True)
    else:
        c = sqlite3.connect(db, timeout=10)
        c.execute(sql)
        c.commit()
        c.close()
def read_upto(fd, n):
    data = b""
    while len(data) < n:
        b = os.read(fd, min(1 << 16, n - len(data)))
        assert b, "the file ended at %d of %d bytes" % (len(data), n)
        data += b
    return data
def read_rest(fd):
    data = b""
    while True:
        b = os.read(fd, 1 << 16)
        if not b:
            return data
        data += b
# a reader of bugs.jsonl (a collection too large for this cache to follow)
# holds one version, whole, from a temporary file, while rows are added
fd = os.open(mnt + "/bugs.jsonl", os.O_RDONLY)
size = os.fstat(fd).st_size
first = os.read(fd, 1 << 20)
assert spilled(), "no temporary file in the daemon while bugs.jsonl is open"
add_row("INSERT INTO bugs (id, title) VALUES ('LATE-1', 'late')")
data = first + read_rest(fd)
assert len(data) == size, "read %d bytes of a %d-byte snapshot" % (len(data), size)
assert b'"LATE-1"' not in data, "the snapshot of bugs.jsonl changed under its reader"
os.close(fd)
no_spill_left("bugs.jsonl")
# a reader of audit.jsonl holds the state it opened at while rows are added,
# and like a log reads on into the rows added since (tail -f); on SQLite it
# renders the rows it reads (no temporary file), on PostgreSQL it holds one
fd = os.open(mnt + "/audit.jsonl", os.O_RDONLY)
size = os.fstat(fd).st_size
first = os.read(fd, 1 << 20)
assert bool(spilled()) == pg, "temporary files while audit.jsonl is open: %r" % spilled()
add_row("INSERT INTO tool_executions (tool_name, operation, status) VALUES ('late', 'tool_call', 'success')")
grown = os.fstat(fd).st_size  # what tail -f polls
data = first + read_upto(fd, size - len(first))
assert b'"late"' not in data, "the snapshot of audit.jsonl changed under its reader"
more = read_rest(fd)
assert more.count(b"\n") == 1 and b'"tool_name":"late"' in more, "tail of audit.jsonl: %r" % more[:300]
assert grown == size + len(more), "fstat of the open audit.jsonl: %d, then read %d + %d" % (grown, size, len(more))
os.close(fd)
no_spill_left("audit.jsonl")
# a reader at the end of the change feed (tail -f) sees the rows added since
fd = os.open(mnt + "/changes.jsonl", os.O_RDONLY)
n = len(read_rest(fd))
assert n > 2 << 20, "changes.jsonl is only %d bytes" % n
with open(mnt + "/bugs/BUG-001.json", "w") as f:
    f.write('{"priority":4}')
more = os.read(fd, 1 << 16)
assert b'"BUG-001"' in more and b'"update"' in more, "tail of the feed after a write: %r" % more[-300:]
os.close(fd)
PY
[ -z "$(ls -A "$T/spill")" ] || fail "files left in TMPDIR: $(ls -A "$T/spill")"
umount_fs || fail "clean unmount"

note "no temporary file can be made: the open fails and says why, stat still answers"
export ORCHFS_CACHE_MB=1 TMPDIR=$T/missing
mount_fs
unset ORCHFS_CACHE_MB
export TMPDIR=/tmp
[ "$(stat -c %s "$MNT/bugs.jsonl")" -gt $((2 << 20)) ] || fail "stat of bugs.jsonl"
check_eq ENOENT "$(syscall_errno 'open(a[0]).read()' "$MNT/bugs.jsonl")" "open of bugs.jsonl without a TMPDIR"
grep -q "bugs.jsonl: cannot keep its .* in a temporary file in $T/missing" "$T/daemon.err" || fail "no log line says why"
if ! on_pg; then # the audit log needs no temporary file: its reader renders what it reads
	cmp -s <("$ORCHFS" cat audit) "$MNT/audit.jsonl" || fail "audit.jsonl without a TMPDIR differs from orchfs cat audit"
fi
umount_fs || fail "clean unmount"

if ! on_pg; then
note "a reader of the audit log or the feed renders the rows it reads: any offset, tail -f, and a rewrite under it"
mount_fs
python3 - "$MNT" "$DB" "$ORCHFS" > "$T/lazy.out" 2>&1 <<'PY' || fail "reading the audit log and the feed: $(cat "$T/lazy.out")"
import errno, os, random, sqlite3, subprocess, sys
mnt, db, orchfs = sys.argv[1:]
def sql(q):
    c = sqlite3.connect(db, timeout=10)
    c.execute(q)
    c.commit()
    c.close()
def truth(name):
    cmd = [orchfs, "cat", "audit"] if name == "audit.jsonl" else [orchfs, "watch", "--no-follow"]
    return subprocess.run(cmd, check=True, capture_output=True).stdout
rnd = random.Random(8)
for name in ("audit.jsonl", "changes.jsonl"):
    # rows added after the daemon knew the file: their anchors come from following its size
    os.stat(mnt + "/" + name)
    if name == "audit.jsonl":
        sql("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000) "
            "INSERT INTO tool_executions (tool_name, operation, status) SELECT 'added', 'tool_call', 'success' FROM n")
    else:
        sql("UPDATE bugs SET priority = 2 WHERE id IN (SELECT id FROM bugs WHERE id LIKE 'BULK-%' LIMIT 3000)")
    want = truth(name)
    size = os.stat(mnt + "/" + name).st_size
    assert size == len(want) and size > 4 << 20, "%s: %d bytes, orchfs says %d" % (name, size, len(want))
    a = os.open(mnt + "/" + name, os.O_RDONLY)
    b = os.open(mnt + "/" + name, os.O_RDONLY)
    # anywhere, in any order, by two readers at once: the bytes orchfs cat gives
    offs = [0, 1, size - 1, size - 100, size, size + 10] + [rnd.randrange(size) for _ in range(60)] + \
        [rnd.randrange(size - 500000, size) for _ in range(20)]
    for i, off in enumerate(offs):
        n = rnd.choice([1, 100, 4096, 70000, 300000])
        got = os.pread(a if i % 2 else b, n, off)
        assert got == want[off:off + n], "%s: %d bytes at %d differ" % (name, n, off)
    # front to back in 16 KiB reads
    data = b"".join(iter(lambda: os.read(a, 16384), b""))
    assert data == want, "%s: read through, %d bytes against %d" % (name, len(data), len(want))
    # a row before the end changed under its reader (same length): ESTALE, never other bytes;
    # and a reader at the end (tail -f) is told, not given an end
    first = os.pread(b, 1000, 0)
    c = os.open(mnt + "/" + name, os.O_RDONLY)
    assert len(b"".join(iter(lambda: os.read(c, 1 << 16), b""))) == size, "%s: read to the end" % name
    if name == "audit.jsonl":
        sql("UPDATE tool_executions SET status = 'failure' WHERE id = (SELECT min(id) FROM tool_executions)")
    else:
        sql("UPDATE _orchfs_changes SET time = replace(time, '20', '19') WHERE seq = (SELECT min(seq) FROM _orchfs_changes)")
    try:
        got = os.pread(b, 1000, size // 2)
        raise AssertionError("%s: read after a rewrite under its reader: %r" % (name, got[:200]))
    except OSError as e:
        assert e.errno == errno.ESTALE, "%s: %s" % (name, e)
    try:
        got = os.read(c, 1 << 16)
        raise AssertionError("%s: read at the end after a rewrite: %r" % (name, got[:200]))
    except OSError as e:
        assert e.errno == errno.ESTALE, "%s: at the end: %s" % (name, e)
    os.close(a)
    os.close(b)
    os.close(c)
    # a new reader reads the new state
    want = truth(name)
    with open(mnt + "/" + name, "rb") as f:
        assert f.read() == want, "%s: the reopened file differs from orchfs" % name
PY
grep -q "audit.jsonl: rows before the end its reader opened at were changed" "$T/daemon.err" || fail "no log line says why the read failed"

note "tail -f audit.jsonl prints the tool calls recorded after it started, by sqlite3 and through the mount"
tail -n 0 -f "$MNT/audit.jsonl" > "$T/audit-tail.out" &
TAIL=$!
FIXTURE_CLEANUP="kill $TAIL 2>/dev/null"
sleep 0.5
sql "INSERT INTO tool_executions (tool_name, operation, status) VALUES ('from-sqlite3', 'tool_call', 'success')"
echo '{"title":"seen by tail -f"}' > "$B/BUG-777.json"
for _ in $(seq 1 50); do
	[ "$(wc -l < "$T/audit-tail.out")" -ge 2 ] && break
	sleep 0.1
done
kill $TAIL
wait $TAIL 2>/dev/null
FIXTURE_CLEANUP=
assert_eq "from-sqlite3 tool_call|bash create /bugs/BUG-777.json" \
	"$(jq -r '[.tool_name, .operation, .path // empty] | join(" ")' "$T/audit-tail.out" | paste -sd'|')" "tail -f audit.jsonl"
umount_fs || fail "clean unmount"
fi
