#!/bin/bash
# permissions.sh - SPEC §6 and issue 6: the audit log, tool permission rules,
# approvals, undo, secrets and hostile names, each checked against sqlite3.
#  1. one audit row per change and per refusal, naming the process (sed,
#     python3, cp), with pid, uid, operation, path, status, before/after,
#     task_id and duration_ms;
#  2. audit/ is read-only (each refusal is itself a row); audit/ID.json is
#     the row, audit.jsonl every row newest last, and the by-tool, by-task
#     and by-status views list the right ids;
#  3. agents record their own tool calls by appending to audit.jsonl;
#  4. `orchfs audit --tool/--task/--since/--follow`;
#  5. denied, restricted (paths, `..`, `//`, `./`, symlinks, renames; argument
#     white and black lists) rules;
#  6. requires_approval: parked, approved, rejected, decided by a file write,
#     never by the tool itself nor by a process of its own (a child, one it
#     left behind, its agent's job), never twice; changes parked from one
#     read approved in any order without undoing each other, a stale one refused;
#  7. `orchfs check` (allow 0, deny 1, requires_approval 3; each audited);
#  8. `orchfs undo` of an update and of a delete (with its link), refused
#     when the entity changed since and for a refused change;
#  9. a planted API key is never in a read, a log, an audit row, an error or
#     `orchfs audit`/export output (unless --with-secrets);
# 10. hostile keys and tool names leave every table intact.
# A check that fails is reported and the test goes on, so one run lists every
# broken case. The planted key is never printed, not even in a failure.
. "$(dirname "$0")/lib.sh"
mount_fs


FW=$(cd "$(dirname "$0")" && pwd)/fswrite.py
B=$MNT/bugs
W=$T/work # files outside the mount
BIN=$T/bin # tools with names of our choosing (the process name is the tool)
mkdir -p "$W" "$BIN"
MYUID=$(id -u)
PY=$(python3 -c 'import os, sys; print(os.path.realpath(sys.executable))')

# mktool NAME TARGET: a program called NAME (its process name) that runs TARGET.
mktool() { ln -sf "$2" "$BIN/$1"; }

# spawn STDIN CMD...: run CMD with stdin from the file STDIN; sets PID (the
# process's id, which the audit must name), RC and OUT (its stdout).
spawn() {
	local in=$1
	shift
	"$@" < "$in" > "$T/spawn.out" 2> "$T/spawn.err" &
	PID=$!
	RC=0
	wait "$PID" || RC=$?
	OUT=$(cat "$T/spawn.out")
}

# write_as TOOL-CMD PATH [MODE] <<< JSON: fswrite.py run as TOOL-CMD (a python).
write_as() {
	local tool=$1
	shift
	cat > "$T/in.json"
	spawn "$T/in.json" "$tool" "$FW" "$@"
}


new_rows() { sql "SELECT $2 FROM tool_executions WHERE id > $1 ORDER BY id"; }
TABLES=$(sql_tables tool_executions)
# shellcheck disable=SC2086
state() { sql_dump $TABLES; }
bug() { sql "SELECT $2 FROM bugs WHERE id = '$1'"; }

# begin NAME: a new case; remember the database and the audit log.
begin() {
	CASE=$1
	note "$CASE"
	S0=$(state)
	A0=$(last_audit)
}
unchanged() {
	[ "$S0" = "$(state)" ] || bad "$CASE: the database changed: $(diff <(echo "$S0") <(state) | head -6)"
}
# one_row 'COLUMNS' EXPECTED: exactly one new audit row since begin, and its columns.
one_row() {
	local rows
	rows=$(new_rows "$A0" "$1")
	check_eq "$2" "$rows" "$CASE: the one new audit row ($1)"
}
# denied_by TOOL PATH: the case changed nothing, the tool got EACCES (checked
# by the caller) and there is one audit row, status denied, by TOOL, for PATH.
denied_by() {
	unchanged
	one_row "tool_name || '|' || status || '|' || path" "$1|denied|$2"
}

note "setup: bugs, a task with one of them linked"
echo '{"title":"Login fails","priority":1,"labels":["auth"]}' > "$B/new" || fail "create BUG-001"
echo '{"title":"Second bug","priority":3}' > "$B/new" || fail "create BUG-002"
echo '{"title":"Third bug","priority":2}' > "$B/new" || fail "create BUG-003"
mkdir "$MNT/tasks/TASK-001" || fail "mkdir TASK-001"
echo '{"title":"First task"}' > "$MNT/tasks/TASK-001/task.json" || fail "patch TASK-001"
ln -s ../../../bugs/BUG-001.json "$MNT/tasks/TASK-001/bugs/BUG-001" || fail "link BUG-001 to TASK-001"
assert_eq "BUG-001 BUG-002 BUG-003" "$(sql "SELECT group_concat(id, ' ') FROM (SELECT id FROM bugs ORDER BY id) AS t")" "setup rows"
assert_eq "TASK-001|BUG-001" "$(sql "SELECT task_id || '|' || bug_id FROM task_bugs")" "setup link"

###########################################################################
# 1. One audit row per change and per refusal, naming the process.
###########################################################################

# changed TOOL OPERATION PATH KEY FIELD OLD NEW [TASK]: one new row, by TOOL
# (pid $PID, our uid), success, with before.FIELD = OLD and after.FIELD = NEW.
changed() {
	local tool=$1 op=$2 path=$3 key=$4 field=$5 old=$6 new=$7 task=${8:-}
	one_row "tool_name || '|' || process || '|' || pid || '|' || uid || '|' || operation || '|' || path || '|' ||
		status || '|' || coalesce(task_id, '') || '|' || entity_key" \
		"$tool|$tool|$PID|$MYUID|$op|$path|success|$task|$key"
	check_eq "$old|$new|1|1|0" "$(new_rows "$A0" "(before_json ->> '$field') || '|' ||
		(after_json ->> '$field') || '|' || CAST(duration_ms IS NOT NULL AS INTEGER) || '|' ||
		CAST(duration_ms >= 0 AS INTEGER) || '|' || CAST(result IS NOT NULL AS INTEGER)")" \
		"$CASE: before.$field, after.$field, duration_ms present, no result"
}
# refused_by TOOL OPERATION PATH: nothing changed, one failure row by TOOL (pid $PID).
refused_by() {
	unchanged
	one_row "tool_name || '|' || process || '|' || pid || '|' || uid || '|' || operation || '|' || path || '|' ||
		status || '|' || CAST(result <> '' AS INTEGER)" "$1|$1|$PID|$MYUID|$2|$3|failure|1"
}

begin "sed -i: one row, tool sed"
spawn /dev/null sed -i 's/"priority": 1,/"priority": 2,/' "$B/BUG-001.json"
check_rc 0 "$RC" "$CASE: sed"
check_eq 2 "$(bug BUG-001 priority)" "$CASE: the row"
changed sed write /bugs/BUG-001.json BUG-001 priority 1 2

begin "sed -i making invalid JSON: refused, one row, tool sed"
spawn /dev/null sed -i 's/"priority": 2,/"priority": two,/' "$B/BUG-001.json"
[ "$RC" -ne 0 ] || bad "$CASE: sed exited 0"
refused_by sed write /bugs/BUG-001.json

begin "python3 writes a bug: one row, tool python3"
echo '{"priority":4}' > "$W/p.json"
spawn "$W/p.json" python3 -c 'import sys; open(sys.argv[1], "w").write(sys.stdin.read())' "$B/BUG-002.json"
check_rc 0 "$RC" "$CASE: python3"
check_eq 4 "$(bug BUG-002 priority)" "$CASE: the row"
changed python3 write /bugs/BUG-002.json BUG-002 priority 3 4

begin "a thread of python3, named by itself, writes a bug: the row names the process and its pid"
# FUSE gives the writing thread's id; a thread has its own name (node's
# libuv workers are "libuv-worker"): the audit row and the rules are the process's
echo '{"priority":5}' > "$W/p.json"
spawn "$W/p.json" python3 -c 'import ctypes, sys, threading
def save():
    ctypes.CDLL(None).prctl(15, b"saver-thread", 0, 0, 0)  # PR_SET_NAME
    open(sys.argv[1], "w").write(sys.stdin.read())
t = threading.Thread(target=save)
t.start()
t.join()' "$B/BUG-002.json"
check_rc 0 "$RC" "$CASE: python3"
changed python3 write /bugs/BUG-002.json BUG-002 priority 4 5

begin "python3 writes a task's file: the row names the task"
echo '{"priority":7}' > "$W/t.json"
spawn "$W/t.json" python3 "$FW" "$MNT/tasks/TASK-001/task.json"
check_eq OK "$OUT" "$CASE: close"
changed python3 write /tasks/TASK-001/task.json TASK-001 priority 0 7 TASK-001

begin "python3 with an unknown field: refused, one row, tool python3"
echo '{"colour":"red"}' > "$W/p.json"
spawn "$W/p.json" python3 "$FW" "$B/BUG-002.json"
check_eq EINVAL "$OUT" "$CASE: close"
refused_by python3 write /bugs/BUG-002.json

begin "cp over a bug: one row, tool cp"
jq '.title = "Copied over"' "$B/BUG-003.json" > "$W/over.json"
spawn /dev/null cp "$W/over.json" "$B/BUG-003.json"
check_rc 0 "$RC" "$CASE: cp"
changed cp write /bugs/BUG-003.json BUG-003 title "Third bug" "Copied over"

begin "cp of invalid JSON: refused, one row, tool cp"
printf '{"title": "x",,}\n' > "$W/bad.json"
spawn /dev/null cp "$W/bad.json" "$B/BUG-003.json"
[ "$RC" -ne 0 ] || bad "$CASE: cp exited 0"
refused_by cp write /bugs/BUG-003.json

###########################################################################
# 2. audit/ is read-only; audit/ID.json, audit.jsonl and the views.
###########################################################################

AUD=$(sql "SELECT min(id) FROM tool_executions WHERE tool_name = 'sed' AND status = 'success'")
AUDIT0=$(sql "SELECT * FROM tool_executions ORDER BY id") # (a table's order without ORDER BY is the server's)
# ro_case NAME 'python statement' ARGS...: one syscall, refused with EROFS or
# EPERM, changing nothing, audited as one failure row by python3.
ro_case() {
	local name=$1 e
	shift
	begin "audit/ read-only: $name"
	e=$(syscall_errno "$@")
	case "$e" in EROFS | EPERM) ;; *) bad "$CASE: expected EROFS or EPERM, got $e" ;; esac
	unchanged
	one_row "tool_name || '|' || status || '|' || CAST(path LIKE '/audit%' AS INTEGER)" "python3|failure|1"
}
ro_case "write an audit file" 'os.close(os.open(a[0], os.O_WRONLY))' "$MNT/audit/$AUD.json"
ro_case "truncate(2) an audit file" 'os.truncate(a[0], 0)' "$MNT/audit/$AUD.json"
ro_case "truncate(2) an audit file to 10 bytes" 'os.truncate(a[0], 10)' "$MNT/audit/$AUD.json"
ro_case "create a file" 'os.close(os.open(a[0], os.O_WRONLY | os.O_CREAT | os.O_EXCL))' "$MNT/audit/999999.json"
ro_case "remove an audit file" 'os.unlink(a[0])' "$MNT/audit/$AUD.json"
ro_case "rename an audit file" 'os.rename(a[0], a[1])' "$MNT/audit/$AUD.json" "$MNT/audit/$AUD.bak"
ro_case "rename an audit file out" 'os.rename(a[0], a[1])' "$MNT/audit/$AUD.json" "$B/BUG-099.json"
ro_case "mkdir" 'os.mkdir(a[0])' "$MNT/audit/x"
ro_case "mkdir in a view" 'os.mkdir(a[0])' "$MNT/audit/by-tool/x"
check_eq "" "$(cd "$MNT/audit/by-tool" && ls -a | while read -r n; do stat "$n" >/dev/null 2>&1 || echo "$n"; done)" \
	"$CASE: every name ls -a lists in audit/by-tool/ can be looked up"
ro_case "rmdir a view" 'os.rmdir(a[0])' "$MNT/audit/by-tool"
ro_case "chmod an audit file" 'os.chmod(a[0], 0o666)' "$MNT/audit/$AUD.json"
ro_case "chmod audit/" 'os.chmod(a[0], 0o777)' "$MNT/audit"
ro_case "touch (utime) an audit file" 'os.utime(a[0], None)' "$MNT/audit/$AUD.json"
ro_case "symlink" 'os.symlink("x", a[0])' "$MNT/audit/link"
ro_case "truncate audit.jsonl" 'os.close(os.open(a[0], os.O_WRONLY | os.O_TRUNC))' "$MNT/audit.jsonl"
ro_case "truncate(2) audit.jsonl" 'os.truncate(a[0], 0)' "$MNT/audit.jsonl"
ro_case "chmod audit.jsonl" 'os.chmod(a[0], 0o666)' "$MNT/audit.jsonl"

# The shell tools: each fails, and every row it caused is a refusal naming it.
for t in "touch $MNT/audit/$AUD.json" "touch $MNT/audit/424242.json" "rm -f $MNT/audit/$AUD.json" \
	"mv $MNT/audit/$AUD.json $MNT/audit/x.json" "chmod 600 $MNT/audit/$AUD.json" "mkdir $MNT/audit/d" \
	"rmdir $MNT/audit/by-status"; do
	tool=${t%% *}
	begin "audit/ read-only: $tool (${t#* })"
	rc=0
	$t 2>/dev/null || rc=$?
	[ "$rc" -ne 0 ] || bad "$CASE: $tool exited 0"
	unchanged
	rows=$(new_rows "$A0" "tool_name || '|' || status")
	[ -n "$rows" ] || bad "$CASE: no audit row for the refusal"
	[ -z "$(grep -vx "$tool|failure" <<<"$rows")" ] || bad "$CASE: rows that are not refusals by $tool: [$rows]"
done
[ -e "$MNT/audit/$AUD.json" ] || bad "audit/$AUD.json is gone"
check_eq "" "$(find "$MNT/audit" 2>&1 >/dev/null)" "every name listed under audit/ (the refusals' .error files too) can be looked up"
check_eq "$AUDIT0" "$(sql "SELECT * FROM tool_executions WHERE id <= $(echo "$AUDIT0" | tail -n 1 | cut -d'|' -f1) ORDER BY id")" \
	"the audit rows are as they were before the attempts"

note "audit/ID.json is the row"
# audit_file_is_row ID: the file's JSON is the row, field by field.
audit_file_is_row() {
	python3 - "$DB" "$MNT/audit/$1.json" "$1" <<'EOF'
import json, sqlite3, subprocess, sys
db, path, rid = sys.argv[1], sys.argv[2], int(sys.argv[3])
if db.startswith("postgres"):
    # the row as JSON: jsonb columns come parsed, the time as SQLite keeps it
    q = ("SELECT row_to_json(t) FROM (SELECT *, to_char(created_at AT TIME ZONE 'UTC', "
         "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') AS created_iso FROM tool_executions WHERE id = %d) AS t" % rid)
    r = json.loads(subprocess.run(["psql", "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", db, "-c", q],
                                  check=True, capture_output=True, text=True).stdout)
    r["created_at"] = r["created_iso"]
    j = lambda v: v
else:
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    r = con.execute("SELECT * FROM tool_executions WHERE id = ?", (rid,)).fetchone()
    j = lambda v: None if v is None else json.loads(v)
want = {"id": r["id"], "tool_name": r["tool_name"], "process": r["process"], "pid": r["pid"], "uid": r["uid"],
        "operation": r["operation"], "path": r["path"], "arguments": j(r["arguments"]), "result": r["result"],
        "status": r["status"], "duration_ms": r["duration_ms"],
        "user_approval": None if r["user_approval"] is None else bool(r["user_approval"]),
        "task_id": r["task_id"], "collection": r["collection"], "entity_key": r["entity_key"],
        "before": j(r["before_json"]), "after": j(r["after_json"]), "created_at": r["created_at"]}
got = json.load(open(path))
diff = sorted(k for k in set(want) | set(got) if want.get(k, "<absent>") != got.get(k, "<absent>"))
print("same" if not diff else "differs in " + ", ".join(diff))
EOF
}
for id in $(sql "SELECT min(id) FROM tool_executions WHERE status = 'success' AND before_json IS NOT NULL
	UNION SELECT min(id) FROM tool_executions WHERE status = 'failure'
	UNION SELECT min(id) FROM tool_executions WHERE task_id IS NOT NULL"); do
	check_eq same "$(audit_file_is_row "$id")" "audit/$id.json against its row"
done
check_eq "$(sql "SELECT id FROM tool_executions ORDER BY id")" "$(ls "$MNT/audit" | sed -n 's/^\([0-9]*\)\.json$/\1/p' | sort -n)" \
	"ls audit/: one file per row"

note "audit.jsonl: every row, newest last"
check_eq "$(sql "SELECT id FROM tool_executions ORDER BY id")" "$(jq -r .id "$MNT/audit.jsonl")" "ids in audit.jsonl"
check_eq "$(sql "SELECT tool_name || '|' || status FROM tool_executions ORDER BY id")" \
	"$(jq -r '"\(.tool_name)|\(.status)"' "$MNT/audit.jsonl")" "tool and status of each line of audit.jsonl"

note "the views list the right ids"
view_ids() { ls "$MNT/audit/$1" 2>/dev/null | sort -n; }
for tool in sed python3 cp bash; do
	check_eq "$(sql "SELECT id FROM tool_executions WHERE tool_name = '$tool' ORDER BY id")" "$(view_ids "by-tool/$tool")" \
		"audit/by-tool/$tool/"
done
check_eq "$(sql "SELECT id FROM tool_executions WHERE task_id = 'TASK-001' ORDER BY id")" "$(view_ids by-task/TASK-001)" \
	"audit/by-task/TASK-001/"
for st in success failure; do
	check_eq "$(sql "SELECT id FROM tool_executions WHERE status = '$st' ORDER BY id")" "$(view_ids "by-status/$st")" \
		"audit/by-status/$st/"
done
id=$(sql "SELECT max(id) FROM tool_executions WHERE tool_name = 'cp'")
check_eq "$(jq -S . "$MNT/audit/$id.json")" "$(jq -S . "$MNT/audit/by-tool/cp/$id" 2>&1)" "audit/by-tool/cp/$id leads to audit/$id.json"

###########################################################################
# 3. Agents record their own tool calls in audit.jsonl.
###########################################################################

begin "an agent appends a tool call with >> (bash)"
echo '{"tool_name":"file_write","arguments":{"path":"src/a.c","content":"int x;"},"result":"ok","duration_ms":12,"status":"success","task_id":"TASK-001"}' >> "$MNT/audit.jsonl" ||
	bad "$CASE: >> failed"
# arguments and duration_ms as each engine keeps them: SQLite's JSON text
# (minified by json()) and REAL; PostgreSQL's jsonb (its own key order and
# spacing) and double precision
if on_pg; then
	args="CAST(arguments AS TEXT)" want='{"path": "src/a.c", "content": "int x;"}|ok|12'
else
	args="json(arguments)" want='{"path":"src/a.c","content":"int x;"}|ok|12.0'
fi
one_row "tool_name || '|' || process || '|' || pid || '|' || uid || '|' || $args || '|' || result || '|' ||
	duration_ms || '|' || status || '|' || task_id || '|' || CAST(created_at IS NOT NULL AS INTEGER)" \
	"file_write|bash|$$|$MYUID|$want|success|TASK-001|1"
check_eq unchanged "$( [ "$S0" = "$(state)" ] && echo unchanged)" "$CASE: no entity changed"

begin "an agent appends two tool calls from python3"
printf '%s\n%s\n' '{"tool_name":"shell","arguments":{"cmd":"make"},"result":"built","duration_ms":40,"status":"failure","task_id":"TASK-001"}' \
	'{"tool_name":"file_read","arguments":{"path":"README"},"status":"success"}' > "$W/calls.jsonl"
spawn "$W/calls.jsonl" python3 "$FW" "$MNT/audit.jsonl" append
check_eq OK "$OUT" "$CASE: close"
# duration_ms is REAL in SQLite (40.0), double precision in PostgreSQL (40)
if on_pg; then ms=40; else ms=40.0; fi
check_eq "shell|python3|$PID|$MYUID|failure|$ms|TASK-001
file_read|python3|$PID|$MYUID|success||" \
	"$(new_rows "$A0" "tool_name || '|' || process || '|' || pid || '|' || uid || '|' || status || '|' ||
		coalesce(CAST(duration_ms AS TEXT), '') || '|' || coalesce(task_id, '')")" "$CASE: two rows"

begin "orchfs stamps pid, uid and process: the line cannot forge them"
echo '{"tool_name":"forger","pid":1,"uid":4242,"process":"vim","status":"success"}' >> "$MNT/audit.jsonl"
one_row "tool_name || '|' || process || '|' || pid || '|' || uid" "forger|bash|$$|$MYUID"

begin "a line with an invalid status: EINVAL, nothing inserted for it"
echo '{"tool_name":"bad_status_tool","status":"done"}' > "$W/l.jsonl"
spawn "$W/l.jsonl" python3 "$FW" "$MNT/audit.jsonl" append
check_eq EINVAL "$OUT" "$CASE: close"
check_eq 0 "$(audit_count "tool_name = 'bad_status_tool'")" "$CASE: no row for the line"
one_row "tool_name || '|' || status" "python3|failure"
unchanged

begin "a good line, then a bad one: EINVAL, nothing inserted (the whole append is refused)"
printf '%s\n%s\n' '{"tool_name":"batch_good","status":"success"}' '{"tool_name":"batch_bad","duration_ms":01}' > "$W/l.jsonl"
spawn "$W/l.jsonl" python3 "$FW" "$MNT/audit.jsonl" append
check_eq EINVAL "$OUT" "$CASE: close"
check_eq 0 "$(audit_count "tool_name IN ('batch_good', 'batch_bad')")" "$CASE: no row for either line"
printf '%s\n%s\n' '{"tool_name":"batch_good2"}' '{"tool_name":"batch_bad2","status":"done"}' > "$W/l.jsonl"
spawn "$W/l.jsonl" python3 "$FW" "$MNT/audit.jsonl" append
check_eq EINVAL "$OUT" "$CASE: close, a status outside the set on the second line"
check_eq 0 "$(audit_count "tool_name IN ('batch_good2', 'batch_bad2')")" "$CASE: no row for either line"

begin "blank lines (CRLF, spaces) in an append hold no row and are no error"
printf '{"tool_name":"crlf_tool"}\r\n\r\n   \n{"tool_name":"crlf_tool"}\r\n' > "$W/l.jsonl"
spawn "$W/l.jsonl" python3 "$FW" "$MNT/audit.jsonl" append
check_eq OK "$OUT" "$CASE: close"
check_eq 2 "$(audit_count "tool_name = 'crlf_tool'")" "$CASE: two rows"

begin "a line without tool_name: EINVAL, nothing inserted for it"
echo '{"arguments":{"x":1},"status":"success","result":"no_tool_marker"}' > "$W/l.jsonl"
spawn "$W/l.jsonl" python3 "$FW" "$MNT/audit.jsonl" append
check_eq EINVAL "$OUT" "$CASE: close"
check_eq 0 "$(audit_count "result = 'no_tool_marker'")" "$CASE: no row for the line"
one_row "tool_name || '|' || status" "python3|failure"
unchanged

check_eq "$(sql "SELECT id FROM tool_executions WHERE tool_name = 'file_write'")" "$(view_ids by-tool/file_write)" \
	"audit/by-tool/file_write/ lists the agent's row"

###########################################################################
# 4. orchfs audit --tool, --task, --since, --follow.
###########################################################################

note "orchfs audit filters"
check_eq "$(sql "SELECT id FROM tool_executions ORDER BY id")" "$("$ORCHFS" audit | jq -r .id)" "orchfs audit: every row"
check_eq "$(sql "SELECT id FROM tool_executions WHERE tool_name = 'sed' ORDER BY id")" \
	"$("$ORCHFS" audit --tool sed | jq -r .id)" "orchfs audit --tool sed"
check_eq "$(sql "SELECT id FROM tool_executions WHERE tool_name = 'file_write' ORDER BY id")" \
	"$("$ORCHFS" audit --tool file_write | jq -r .id)" "orchfs audit --tool file_write"
check_eq "" "$("$ORCHFS" audit --tool no-such-tool)" "orchfs audit --tool no-such-tool"
check_eq "$(sql "SELECT id FROM tool_executions WHERE task_id = 'TASK-001' ORDER BY id")" \
	"$("$ORCHFS" audit --task TASK-001 | jq -r .id)" "orchfs audit --task TASK-001"
sleep 1.1
SINCE=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)
echo '{"severity":"high"}' > "$B/BUG-003.json" || bad "write after --since"
echo '{"tool_name":"after_since","status":"success"}' >> "$MNT/audit.jsonl"
got=$("$ORCHFS" audit --since "$SINCE" | jq -r .id)
check_eq "$(sql "SELECT id FROM tool_executions WHERE created_at >= '$SINCE' ORDER BY id")" "$got" "orchfs audit --since $SINCE"
check_eq 2 "$(printf '%s' "$got" | grep -c '^')" "orchfs audit --since: the two rows after it"
rc=0; "$ORCHFS" audit --since yesterday >/dev/null 2>&1 || rc=$?
[ "$rc" -ne 0 ] || bad "orchfs audit --since yesterday exited 0"

note "orchfs audit --follow prints a row added afterwards (polls up to 20 s: a loaded sanitizer build is slow)"
"$ORCHFS" audit --follow > "$T/follow.out" 2> "$T/follow.err" &
FOLLOW=$!
FIXTURE_CLEANUP="kill $FOLLOW 2>/dev/null"
last=$(last_audit) got=
for _ in $(seq 1 400); do
	# what the follower printed last, read once (it may be writing the file)
	got=$(tail -n 1 "$T/follow.out" | jq .id 2>/dev/null)
	[ "$got" = "$last" ] && break
	sleep 0.05
done
check_eq "$last" "$got" "--follow printed the log so far"
echo '{"severity":"low"}' > "$B/BUG-003.json" || bad "write while following"
new=$(last_audit)
for _ in $(seq 1 400); do
	grep -q "\"id\":$new," "$T/follow.out" && break
	sleep 0.05
done
check_eq 1 "$(jq -r "select(.id == $new) | .path" "$T/follow.out" | grep -c '^/bugs/BUG-003.json$')" \
	"--follow printed the new row once"
kill -TERM "$FOLLOW"
rc=0; wait "$FOLLOW" || rc=$?
FIXTURE_CLEANUP=
check_rc 0 "$rc" "orchfs audit --follow stopped by SIGTERM"

###########################################################################
# 5. Permission rules: denied, restricted (paths, escapes, argument lists).
###########################################################################

begin "permissions/tee.json denied: tee's write is EACCES, the row unchanged"
echo '{"permission_level":"denied"}' > "$MNT/permissions/tee.json" || bad "write permissions/tee.json"
check_eq "denied" "$(sql "SELECT permission_level FROM tool_permissions WHERE tool_name = 'tee'")" "$CASE: the rule's row"
begin "permissions/tee.json denied: tee's write is EACCES, the row unchanged"
rc=0; echo '{"priority":5}' | tee "$B/BUG-002.json" > /dev/null 2> "$T/tee.err" || rc=$?
[ "$rc" -ne 0 ] || bad "$CASE: tee exited 0"
check_contains "$(cat "$T/tee.err")" "Permission denied" "$CASE: tee's message (EACCES)"
denied_by tee /bugs/BUG-002.json
check_contains "$(new_rows "$A0" result)" "denied" "$CASE: the audit row's reason"
check_contains "$(cat "$B/.error" 2>&1)" "BUG-002.json: permission denied" "$CASE: .error"

begin "a denied tool cannot create a bug by name either"
rc=0; echo '{"title":"by tee"}' | tee "$B/BUG-050.json" > /dev/null 2>&1 || rc=$?
[ "$rc" -ne 0 ] || bad "$CASE: tee exited 0 creating BUG-050.json"
denied_by tee /bugs/BUG-050.json

mktool agentd "$PY"
echo '{"permission_level":"denied"}' > "$MNT/permissions/agentd.json" || bad "write permissions/agentd.json"
begin "a denied tool cannot create through bugs/new"
write_as "$BIN/agentd" "$B/new" <<<'{"title":"by agentd"}'
check_eq EACCES "$OUT" "$CASE: close"
denied_by agentd /bugs/new
begin "a denied tool cannot delete"
spawn /dev/null "$BIN/agentd" -c 'import errno, os, sys
try:
    os.unlink(sys.argv[1]); print("OK")
except OSError as e:
    print(errno.errorcode[e.errno])' "$B/BUG-002.json"
check_eq EACCES "$OUT" "$CASE: unlink"
denied_by agentd /bugs/BUG-002.json
begin "a denied tool cannot mkdir a task"
check_eq EACCES "$("$BIN/agentd" -c 'import errno, os, sys
try:
    os.mkdir(sys.argv[1]); print("OK")
except OSError as e:
    print(errno.errorcode[e.errno])' "$MNT/tasks/TASK-009")" "$CASE: mkdir"
denied_by agentd /tasks/TASK-009
# the command line, run by a denied tool, is held by its rules as the mount is
run_as_agentd() { "$BIN/agentd" -c 'import subprocess, sys; sys.exit(subprocess.run(sys.argv[1:]).returncode)' "$@"; }
begin "a denied tool cannot create through orchfs bug create"
rc=0; run_as_agentd "$ORCHFS" bug create "while denied" 2>"$T/cli.err" || rc=$?
check_rc 1 "$rc" "$CASE: exit status"
check_contains "$(cat "$T/cli.err")" "permission denied" "$CASE: the message"
denied_by agentd "orchfs bug create while denied"
begin "a denied tool cannot append through orchfs append"
rc=0; echo '{"content":"x"}' | run_as_agentd "$ORCHFS" append tasks TASK-001 transcript.jsonl 2>"$T/cli.err" || rc=$?
check_rc 1 "$rc" "$CASE: exit status"
denied_by agentd "orchfs append tasks TASK-001 transcript.jsonl"

note "restricted to tasks/"
mktool agentw "$PY"
echo '{"permission_level":"restricted","path_restrictions":["tasks/"]}' > "$MNT/permissions/agentw.json" ||
	bad "write permissions/agentw.json"

begin "restricted: a write inside tasks/ goes through"
write_as "$BIN/agentw" "$MNT/tasks/TASK-001/task.json" <<<'{"title":"Renamed by agentw"}'
check_eq OK "$OUT" "$CASE: close"
check_eq "Renamed by agentw" "$(sql "SELECT title FROM tasks WHERE id = 'TASK-001'")" "$CASE: the row"
one_row "tool_name || '|' || status || '|' || path || '|' || pid" "agentw|success|/tasks/TASK-001/task.json|$PID"

ORIG1=$(bug BUG-001 "title || '|' || revision")
# escape NAME PATH: agentw writing PATH (which leads to bugs/BUG-001.json) is refused.
escape() {
	begin "restricted to tasks/: $1"
	write_as "$BIN/agentw" "$2" <<<'{"title":"escaped"}'
	check_eq EACCES "$OUT" "$CASE: close"
	check_eq "$ORIG1" "$(bug BUG-001 "title || '|' || revision")" "$CASE: the row"
	denied_by agentw /bugs/BUG-001.json
}
escape "a write in bugs/" "$B/BUG-001.json"
escape "tasks/../bugs/" "$MNT/tasks/../bugs/BUG-001.json"
escape "//bugs/" "$MNT//bugs/BUG-001.json"
escape "tasks/./../bugs/./" "$MNT/tasks/./../bugs/./BUG-001.json"
escape "tasks/TASK-001/../../bugs/" "$MNT/tasks/TASK-001/../../bugs/BUG-001.json"
escape "the symlink tasks/TASK-001/bugs/BUG-001 (made by ln)" "$MNT/tasks/TASK-001/bugs/BUG-001"
ln -s ../../bugs/BUG-001.json "$W/out-link" && ln -sf "$B/BUG-001.json" "$W/abs-link"
escape "a symlink outside the mount to bugs/BUG-001.json" "$W/abs-link"

begin "restricted to tasks/: a file made in tasks/ renamed over bugs/BUG-001.json"
spawn /dev/null "$BIN/agentw" -c '
import errno, os, sys
tmp, dst = sys.argv[1], sys.argv[2]
with open(tmp, "w") as f:
    f.write("{\"title\": \"escaped\"}\n")
try:
    os.rename(tmp, dst)
    print("OK")
except OSError as e:
    print(errno.errorcode[e.errno])' "$MNT/tasks/TASK-001/x.tmp" "$B/BUG-001.json"
check_eq EACCES "$OUT" "$CASE: rename"
check_eq "$ORIG1" "$(bug BUG-001 "title || '|' || revision")" "$CASE: the row"
rm -f "$MNT/tasks/TASK-001/x.tmp"
unchanged
check_eq "agentw|denied" "$(new_rows "$A0" "tool_name || '|' || status" | grep -v '|success$' | sort -u)" "$CASE: the refusal's audit row"

begin "restricted to tasks/: deleting bugs/BUG-002.json is refused"
spawn /dev/null "$BIN/agentw" -c 'import errno, os, sys
try:
    os.unlink(sys.argv[1]); print("OK")
except OSError as e:
    print(errno.errorcode[e.errno])' "$B/BUG-002.json"
check_eq EACCES "$OUT" "$CASE: unlink"
denied_by agentw /bugs/BUG-002.json

begin "restricted to tasks/: creating through bugs/new is refused"
write_as "$BIN/agentw" "$B/new" <<<'{"title":"sneaked in"}'
check_eq EACCES "$OUT" "$CASE: close"
denied_by agentw /bugs/new

note "orchfs check normalises paths"
for p in 'tasks/../bugs/x.json' 'tasks//../bugs/x.json' './tasks/./../bugs/x.json' 'tasks/TASK-001/../../bugs/x.json' \
	'/bugs/x.json' 'tasksX/x.json'; do
	out=$("$ORCHFS" check agentw "{\"path\":\"$p\"}" 2>&1)
	rc=$?
	check_rc 1 "$rc" "orchfs check agentw $p"
	check_contains "$out" "deny" "orchfs check agentw $p"
done
for p in 'tasks/TASK-001/task.json' './tasks/x' 'tasks//TASK-001/./task.json'; do
	out=$("$ORCHFS" check agentw "{\"path\":\"$p\"}" 2>&1)
	rc=$?
	check_rc 0 "$rc" "orchfs check agentw $p"
	check_eq allow "$out" "orchfs check agentw $p"
done

note "arg_blacklist: status"
mktool agentb "$PY"
echo '{"permission_level":"restricted","arg_blacklist":["status"]}' > "$MNT/permissions/agentb.json" ||
	bad "write permissions/agentb.json"
begin "arg_blacklist [status]: changing a bug's status is refused"
write_as "$BIN/agentb" "$B/BUG-002.json" <<<'{"status":"fixed"}'
check_eq EACCES "$OUT" "$CASE: close"
check_eq open "$(bug BUG-002 status)" "$CASE: the row"
denied_by agentb /bugs/BUG-002.json
begin "arg_blacklist [status]: changing its priority goes through"
write_as "$BIN/agentb" "$B/BUG-002.json" <<<'{"priority":2}'
check_eq OK "$OUT" "$CASE: close"
check_eq "open|2" "$(bug BUG-002 "status || '|' || priority")" "$CASE: the row"
one_row "tool_name || '|' || status" "agentb|success"

mktool agsed "$(command -v sed)"
echo '{"permission_level":"restricted","arg_blacklist":["status"]}' > "$MNT/permissions/agsed.json" ||
	bad "write permissions/agsed.json"
begin "arg_blacklist [status]: a whole-file editor (sed -i) changing only the priority goes through"
rc=0; "$BIN/agsed" -i 's/"priority": 2,/"priority": 5,/' "$B/BUG-002.json" 2>/dev/null || rc=$?
check_rc 0 "$rc" "$CASE: sed"
check_eq "open|5" "$(bug BUG-002 "status || '|' || priority")" "$CASE: the row"
check_eq "agsed|success" "$(new_rows "$A0" "tool_name || '|' || status")" "$CASE: audit"
begin "arg_blacklist [status]: a whole-file editor (sed -i) changing the status is refused"
before=$(bug BUG-002 "status || '|' || priority || '|' || revision")
rc=0; "$BIN/agsed" -i 's/"status": "open"/"status": "fixed"/' "$B/BUG-002.json" 2>/dev/null || rc=$?
[ "$rc" -ne 0 ] || bad "$CASE: sed exited 0"
check_eq "$before" "$(bug BUG-002 "status || '|' || priority || '|' || revision")" "$CASE: the row"
check_eq "agsed|denied" "$(new_rows "$A0" "tool_name || '|' || status")" "$CASE: audit"
rm -f "$B"/sed?????? # what a refused sed -i leaves behind

note "arg_whitelist: priority"
echo '{"arg_blacklist":null,"arg_whitelist":["priority"]}' > "$MNT/permissions/agentb.json" ||
	bad "rewrite permissions/agentb.json"
check_eq 'restricted|["priority"]|' "$(sql "SELECT permission_level || '|' || CAST(arg_whitelist AS TEXT) || '|' || coalesce(CAST(arg_blacklist AS TEXT), '')
	FROM tool_permissions WHERE tool_name = 'agentb'")" "the agentb rule's row"
begin "arg_whitelist [priority]: setting the priority goes through"
write_as "$BIN/agentb" "$B/BUG-002.json" <<<'{"priority":3}'
check_eq OK "$OUT" "$CASE: close"
check_eq 3 "$(bug BUG-002 priority)" "$CASE: the row"
one_row "tool_name || '|' || status" "agentb|success"
begin "arg_whitelist [priority]: setting the title is refused"
write_as "$BIN/agentb" "$B/BUG-002.json" <<<'{"title":"not allowed"}'
check_eq EACCES "$OUT" "$CASE: close"
denied_by agentb /bugs/BUG-002.json

###########################################################################
# 6. requires_approval.
###########################################################################

mktool agentq "$PY"
echo '{"permission_level":"requires_approval"}' > "$MNT/permissions/agentq.json" || bad "write permissions/agentq.json"
P0=$(bug BUG-003 "priority || '|' || revision")

begin "requires_approval: the write is EACCES, parked, the row unchanged"
write_as "$BIN/agentq" "$B/BUG-003.json" <<<'{"priority":5}'
check_eq EACCES "$OUT" "$CASE: close"
QPID=$PID
check_eq "$P0" "$(bug BUG-003 "priority || '|' || revision")" "$CASE: the row"
N1=$(sql "SELECT max(id) FROM approvals")
check_eq "1|pending" "$(sql "SELECT count(*) || '|' || max(status) FROM approvals WHERE id > 0")" "$CASE: one approval, pending"
one_row "tool_name || '|' || pid || '|' || status || '|' || path" "agentq|$QPID|pending|/bugs/BUG-003.json"
check_contains "$(cat "$B/.error" 2>&1)" "approvals/$N1" "$CASE: .error says where it waits"
ap=$(jq -c '{status, tool_name, pid, operation, path, collection, entity_key, payload, b: .before.priority, a: .after.priority, id: .before.id}' "$MNT/approvals/$N1.json")
check_eq "{\"status\":\"pending\",\"tool_name\":\"agentq\",\"pid\":$QPID,\"operation\":\"write\",\"path\":\"/bugs/BUG-003.json\",\"collection\":\"bugs\",\"entity_key\":\"BUG-003\",\"payload\":{\"priority\":5},\"b\":2,\"a\":5,\"id\":\"BUG-003\"}" \
	"$ap" "$CASE: approvals/$N1.json shows who, what, before and after"
check_eq "$N1" "$(ls "$MNT/approvals/by-status/pending" 2>&1)" "$CASE: approvals/by-status/pending/"
check_eq "create|agentq|$QPID" "$(sql "SELECT operation || '|' || tool || '|' || pid FROM _orchfs_changes WHERE collection = 'approvals' AND entity_key = '$N1'")" \
	"$CASE: the change feed names who parked it"

begin "orchfs approve applies it"
on_pg || rewrites=$(sql "SELECT n FROM _orchfs_rewrites WHERE tbl = 'tool_executions'")
out=$("$ORCHFS" approve "$N1" 2>&1)
check_rc 0 "$?" "$CASE: orchfs approve $N1 ($out)"
# its audit row is written approved, not updated after: the audit log is only appended to
on_pg || check_eq "$rewrites" "$(sql "SELECT n FROM _orchfs_rewrites WHERE tbl = 'tool_executions'")" \
	"$CASE: the audit log's rewrite count"
check_eq 5 "$(bug BUG-003 priority)" "$CASE: the row changed"
check_eq "approved" "$(sql "SELECT status FROM approvals WHERE id = $N1")" "$CASE: the approval's status"
one_row "tool_name || '|' || status || '|' || CAST(user_approval AS INTEGER) || '|' || path || '|' || (after_json ->> 'priority')" \
	"agentq|approved|1|/bugs/BUG-003.json|5"
check_eq "approved" "$(jq -r .status "$MNT/approvals/$N1.json")" "$CASE: approvals/$N1.json"

begin "approving twice is refused (orchfs approve)"
P1=$(bug BUG-003 "priority || '|' || revision")
rc=0; "$ORCHFS" approve "$N1" >/dev/null 2>&1 || rc=$?
check_rc 1 "$rc" "$CASE: second orchfs approve"
unchanged
begin "approving twice is refused (a file write), and the refusal is audited"
check_eq EINVAL "$(echo '{"status":"approved"}' | close_errno "$MNT/approvals/$N1.json")" "$CASE: close"
check_eq "$P1" "$(bug BUG-003 "priority || '|' || revision")" "$CASE: the row"
unchanged
one_row "tool_name || '|' || status || '|' || path" "python3|failure|/approvals/$N1.json"

begin "a second parked change, rejected with a reason"
P2=$(bug BUG-003 "title || '|' || revision")
write_as "$BIN/agentq" "$B/BUG-003.json" <<<'{"title":"Rejected title"}'
check_eq EACCES "$OUT" "$CASE: close"
N2=$(sql "SELECT max(id) FROM approvals")
[ "$N2" != "$N1" ] || bad "$CASE: no new approval"
A1=$(last_audit)
out=$("$ORCHFS" reject --reason "not now, thanks" "$N2" 2>&1)
check_rc 0 "$?" "$CASE: orchfs reject ($out)"
check_eq "$P2" "$(bug BUG-003 "title || '|' || revision")" "$CASE: the row unchanged"
check_eq "rejected|not now, thanks" "$(sql "SELECT status || '|' || reason FROM approvals WHERE id = $N2")" "$CASE: the approval"
check_eq "agentq|rejected|0|1" "$(new_rows "$A1" "tool_name || '|' || status || '|' || coalesce(CAST(CAST(user_approval AS INTEGER) AS TEXT), 'null') || '|' ||
	CAST(replace(result, 'not now, thanks', '') <> result AS INTEGER)")" "$CASE: the audit row says rejected, and why"

begin "a third parked change, approved by a file write from python3"
write_as "$BIN/agentq" "$B/BUG-003.json" <<<'{"severity":"critical"}'
check_eq EACCES "$OUT" "$CASE: close"
N3=$(sql "SELECT max(id) FROM approvals")
A1=$(last_audit)
check_eq OK "$(echo '{"status":"approved"}' | close_errno "$MNT/approvals/$N3.json")" "$CASE: close"
check_eq critical "$(bug BUG-003 severity)" "$CASE: the row changed"
check_eq "approved|python3" "$(sql "SELECT status || '|' || decided_by FROM approvals WHERE id = $N3")" "$CASE: the approval"
check_eq "agentq|approved|1" "$(new_rows "$A1" "tool_name || '|' || status || '|' || CAST(user_approval AS INTEGER)")" "$CASE: the audit row"

begin "a fourth parked change: the parked tool cannot approve it (still requires_approval)"
write_as "$BIN/agentq" "$B/BUG-003.json" <<<'{"assignee":"mallory"}'
check_eq EACCES "$OUT" "$CASE: close"
N4=$(sql "SELECT max(id) FROM approvals")
write_as "$BIN/agentq" "$MNT/approvals/$N4.json" <<<'{"status":"approved"}'
check_eq EACCES "$OUT" "$CASE: the tool's own approval"
check_eq "pending" "$(sql "SELECT status FROM approvals WHERE id = $N4")" "$CASE: still pending"
check_eq "" "$(bug BUG-003 "coalesce(assignee, '')")" "$CASE: the row unchanged"
# Its attempt may itself be parked; approving that must not approve the tool's own change.
for n in $(sql "SELECT id FROM approvals WHERE id > $N4 AND status = 'pending'"); do
	"$ORCHFS" approve "$n" >/dev/null 2>&1
	check_eq "pending" "$(sql "SELECT status FROM approvals WHERE id = $N4")" "$CASE: still pending after approving approvals/$n"
	check_eq "" "$(bug BUG-003 "coalesce(assignee, '')")" "$CASE: the row unchanged after approving approvals/$n"
done

begin "the parked tool cannot approve its own change, even once its rule allows it"
echo '{"permission_level":"allowed"}' > "$MNT/permissions/agentq.json" || bad "$CASE: rewrite the rule"
begin "the parked tool cannot approve its own change, even once its rule allows it"
write_as "$BIN/agentq" "$MNT/approvals/$N4.json" <<<'{"status":"approved"}'
check_eq EACCES "$OUT" "$CASE: close"
check_eq "pending" "$(sql "SELECT status FROM approvals WHERE id = $N4")" "$CASE: still pending"
check_eq "" "$(bug BUG-003 "coalesce(assignee, '')")" "$CASE: the row unchanged"
unchanged
one_row "tool_name || '|' || status || '|' || path" "agentq|denied|/approvals/$N4.json"
"$ORCHFS" reject --reason cleanup "$N4" >/dev/null 2>&1 || bad "reject approvals/$N4"

begin "the parked tool cannot approve its own change through a process it starts (sh, then cat)"
echo '{"permission_level":"requires_approval"}' > "$MNT/permissions/agentq.json" || bad "$CASE: rewrite the rule"
out=$("$BIN/agentq" - "$B/BUG-003.json" "$MNT/approvals" <<'PY'
import errno, os, subprocess, sys
bug, approvals = sys.argv[1:]
fd = os.open(bug, os.O_WRONLY | os.O_TRUNC)
os.write(fd, b'{"assignee":"eve"}\n')
try:
    os.close(fd)
    print("OK")
except OSError as e:
    print(errno.errorcode[e.errno])
n = max(int(f[:-5]) for f in os.listdir(approvals) if f[:-5].isdigit())
r = subprocess.run(["sh", "-c", "echo '{\"status\":\"approved\"}' | cat > \"$1\"", "sh", "%s/%d.json" % (approvals, n)])
print(n, r.returncode)
PY
)
N5=$(sql "SELECT max(id) FROM approvals")
check_eq "EACCES
$N5 1" "$out" "$CASE: parked, then its child's approval refused"
check_eq "pending" "$(sql "SELECT status FROM approvals WHERE id = $N5")" "$CASE: still pending"
check_eq "" "$(bug BUG-003 "coalesce(assignee, '')")" "$CASE: the row unchanged"
check_contains "$(cat "$MNT/approvals/.error")" "was started by agentq" "$CASE: .error says why"
"$ORCHFS" approve "$N5" >/dev/null || bad "$CASE: a person's orchfs approve"
check_eq "eve" "$(bug BUG-003 assignee)" "$CASE: approved by a person"

# A process the tool leaves behind is handed to init when its parent exits:
# its ancestors no longer name the tool, but it is still the tool's own.
# wait_for FILE: until FILE exists (10 s at most).
wait_for() {
	for _ in $(seq 1 100); do
		[ -e "$1" ] && return 0
		sleep 0.1
	done
	bad "$CASE: $1 never came"
}
# park_leaving SCRIPT: agentq parks a change of BUG-003's assignee to mallory,
# then has sh start SCRIPT in the background with $1 the approval's file,
# $2 its id and $3 the file to make when done, and exits at once, sh too.
park_leaving() {
	rm -f "$W/left.done" "$W/left.done.out"
	"$BIN/agentq" - "$B/BUG-003.json" "$MNT/approvals" "$W/left.done" "$1" <<'PY'
import errno, os, subprocess, sys
bug, approvals, done, script = sys.argv[1:]
fd = os.open(bug, os.O_WRONLY | os.O_TRUNC)
os.write(fd, b'{"assignee":"mallory"}\n')
try:
    os.close(fd)
    print("OK")
except OSError as e:
    print(errno.errorcode[e.errno])
n = max(int(f[:-5]) for f in os.listdir(approvals) if f[:-5].isdigit())
subprocess.run(["sh", "-c", "(sleep 1; " + script + ") > /dev/null 2>&1 &", "sh", "%s/%d.json" % (approvals, n),
                str(n), done])
PY
}

begin "the parked tool cannot approve its own change through a process it leaves behind (a file write)"
A1=$(last_audit)
check_eq EACCES "$(park_leaving 'echo "{\"status\":\"approved\"}" > "$1"; touch "$3"')" "$CASE: parked"
N6=$(sql "SELECT max(id) FROM approvals")
wait_for "$W/left.done"
check_eq "pending" "$(sql "SELECT status FROM approvals WHERE id = $N6")" "$CASE: still pending"
check_eq "eve" "$(bug BUG-003 assignee)" "$CASE: the row unchanged"
check_eq "sh|denied" "$(new_rows "$A1" "tool_name || '|' || status" | grep -v '^agentq|pending$')" "$CASE: the refusal's audit row"
check_contains "$(cat "$MNT/approvals/.error")" "was left behind in the session of agentq" "$CASE: .error says why"
out=$("$ORCHFS" approve "$N6" 2>&1)
check_rc 0 "$?" "$CASE: a person's orchfs approve, from the shell that ran the tool ($out)"
check_eq "mallory" "$(bug BUG-003 assignee)" "$CASE: approved by a person"

begin "the parked tool cannot approve its own change through a process it leaves behind (orchfs approve)"
check_eq EACCES "$(park_leaving '"$ORCHFS" approve "$2" > "$3.out" 2>&1; echo $? > "$3"')" "$CASE: parked"
N7=$(sql "SELECT max(id) FROM approvals")
wait_for "$W/left.done"
check_eq 1 "$(cat "$W/left.done")" "$CASE: its orchfs approve's exit status"
check_contains "$(cat "$W/left.done.out")" "which was left behind in the session of agentq" "$CASE: the message"
check_eq "pending" "$(sql "SELECT status FROM approvals WHERE id = $N7")" "$CASE: still pending"
check_eq "mallory" "$(bug BUG-003 assignee)" "$CASE: the row unchanged"
echo '{"status":"rejected","reason":"asked again"}' > "$MNT/approvals/$N7.json" ||
	bad "$CASE: a person's rejection by a file write, from the shell that ran the tool"
check_eq "rejected" "$(sql "SELECT status FROM approvals WHERE id = $N7")" "$CASE: rejected by a person"

begin "an agent cannot approve what its tool asked for (a job of its own, as a shell with job control makes)"
mktool agentp "$PY"
out=$("$BIN/agentp" - "$BIN/agentq" "$FW" "$B/BUG-003.json" "$MNT/approvals" "$ORCHFS" <<'PY'
import os, subprocess, sys
tool, fw, bug, approvals, orchfs = sys.argv[1:]
os.setpgid(0, 0)
r = subprocess.run([tool, fw, bug], input=b'{"assignee":"trent"}\n', capture_output=True)
print(r.stdout.decode().strip())
n = max(int(f[:-5]) for f in os.listdir(approvals) if f[:-5].isdigit())
r = subprocess.run([orchfs, "approve", str(n)], capture_output=True)
print(r.returncode, r.stderr.decode().strip())
r = subprocess.run(["sh", "-c", "echo '{\"status\":\"approved\"}' | cat > \"$1\"", "sh", "%s/%d.json" % (approvals, n)],
                   capture_output=True)
print(r.returncode)
PY
)
N8=$(sql "SELECT max(id) FROM approvals")
check_eq "EACCES" "$(sed -n 1p <<<"$out")" "$CASE: the tool's change parked"
check_contains "$(sed -n 2p <<<"$out")" "1 orchfs: approvals/$N8: orchfs runs in the job" "$CASE: the agent's orchfs approve"
check_eq "1" "$(sed -n 3p <<<"$out")" "$CASE: the agent's cat > approvals/$N8.json"
check_eq "pending" "$(sql "SELECT status FROM approvals WHERE id = $N8")" "$CASE: still pending"
check_eq "mallory" "$(bug BUG-003 assignee)" "$CASE: the row unchanged"
"$ORCHFS" reject "$N8" >/dev/null || bad "$CASE: a person's orchfs reject"

# Two changes parked from one reading of the entity, decided out of order:
# each applies only the fields it changed, so neither undoes the other; one
# that would undo a change made since it was parked is refused.
# park JQ-FILTER: agentq saves what the filter makes of $W/read.json (the
# bug as it was read); NP is the approval it waits in.
park() {
	jq "$1" "$W/read.json" > "$W/park.json" || bad "$CASE: jq $1"
	write_as "$BIN/agentq" "$B/BUG-003.json" < "$W/park.json"
	check_eq EACCES "$OUT" "$CASE: parked ($1)"
	NP=$(sql "SELECT max(id) FROM approvals")
}
for form in "del(.revision, .updated_at) |" ""; do
	begin "two saves parked at one revision, approved in the other order (${form:-the whole file, revision and all})"
	R0=$(bug BUG-003 revision)
	cp "$B/BUG-003.json" "$W/read.json"
	park "$form .priority = 4"
	NA=$NP
	park "$form .title = \"Parked title $R0\""
	NB=$NP
	out=$("$ORCHFS" approve "$NB" 2>&1)
	check_rc 0 "$?" "$CASE: orchfs approve $NB, the second ($out)"
	check_eq "Parked title $R0|$((R0 + 1))" "$(bug BUG-003 "title || '|' || revision")" "$CASE: the second applied"
	out=$("$ORCHFS" approve "$NA" 2>&1)
	check_rc 0 "$?" "$CASE: orchfs approve $NA, the first ($out)"
	check_eq "4|Parked title $R0|$((R0 + 2))" "$(bug BUG-003 "priority || '|' || title || '|' || revision")" \
		"$CASE: the first applied, the second's title kept"
	check_eq "approved|approved" "$(sql "SELECT status FROM approvals WHERE id IN ($NA, $NB) ORDER BY id" | paste -sd '|')" \
		"$CASE: both approved"
	echo '{"priority":5}' > "$B/BUG-003.json" || bad "$CASE: put the priority back"
done

begin "a parked change that would undo a change made since it was parked: approving is refused (ESTALE)"
cp "$B/BUG-003.json" "$W/read.json"
park '.priority = 3'
NA=$NP
park 'del(.revision, .updated_at) | .priority = 1'
NB=$NP
"$ORCHFS" approve "$NA" >/dev/null 2>&1 || bad "$CASE: orchfs approve $NA"
check_eq 3 "$(bug BUG-003 priority)" "$CASE: the first applied"
S0=$(state)
A0=$(last_audit)
out=$("$ORCHFS" approve "$NB" 2>&1)
check_rc 1 "$?" "$CASE: orchfs approve $NB"
check_contains "$out" "stale approval" "$CASE: the message ($out)"
check_contains "$out" "priority" "$CASE: the message names the field"
unchanged
check_eq "pending" "$(sql "SELECT status FROM approvals WHERE id = $NB")" "$CASE: still pending"
one_row "tool_name || '|' || status || '|' || path" "orchfs|failure|orchfs approve $NB"
A0=$(last_audit)
check_eq ESTALE "$(echo '{"status":"approved"}' | close_errno "$MNT/approvals/$NB.json")" "$CASE: approving by a file write"
unchanged
one_row "tool_name || '|' || status || '|' || path" "python3|failure|/approvals/$NB.json"
check_contains "$(cat "$MNT/approvals/.error")" "stale approval" "$CASE: .error says why"
"$ORCHFS" reject --reason stale "$NB" >/dev/null 2>&1 || bad "$CASE: a stale approval can be rejected"

###########################################################################
# 7. orchfs check.
###########################################################################

echo '{"permission_level":"requires_approval"}' > "$MNT/permissions/agentq.json" || bad "rewrite permissions/agentq.json"
# check_case TOOL ARGS WORD RC STATUS
check_case() {
	local out rc
	begin "orchfs check $1 $2"
	out=$("$ORCHFS" check "$1" "$2" 2>&1)
	rc=$?
	check_rc "$4" "$rc" "$CASE"
	case "$out" in "$3" | "$3: "*) ;; *) bad "$CASE: printed [$out], expected $3" ;; esac
	unchanged
	if on_pg; then # jsonb has its own key order and spacing: compare as JSON
		one_row "tool_name || '|' || operation || '|' || status" "$1|check|$5"
		check_eq "$(jq -cS . <<<"$2")" "$(new_rows "$A0" arguments | jq -cS .)" "$CASE: the audit row's arguments"
	else
		one_row "tool_name || '|' || operation || '|' || status || '|' || json(arguments)" \
			"$1|check|$5|$(jq -c . <<<"$2")"
	fi
}
check_case tee '{"path":"bugs/BUG-001.json"}' deny 1 denied
check_case agentq '{"path":"bugs/BUG-001.json","priority":2}' requires_approval 3 pending
check_case someone-else '{"path":"bugs/BUG-001.json"}' allow 0 success
check_case agentw '{"path":"tasks/TASK-001/task.json","title":"x"}' allow 0 success
check_case agentw '{"path":"tasks/../bugs/BUG-001.json"}' deny 1 denied
check_case agentb '{"path":"bugs/BUG-001.json","priority":2}' allow 0 success
check_case agentb '{"path":"bugs/BUG-001.json","status":"fixed"}' deny 1 denied

###########################################################################
# 8. Undo.
###########################################################################

begin "undo restores an update"
echo '{"title":"Login fails","priority":1,"labels":["auth"]}' > "$B/new" || bad "$CASE: create BUG-004"
ROW4=$(sql "SELECT title, description, status, priority, severity, assignee, labels, related_files FROM bugs WHERE id = 'BUG-004'")
echo '{"title":"Changed","priority":4,"labels":["x","y"],"assignee":"ann"}' | close_errno "$B/BUG-004.json" >/dev/null
U=$(last_audit)
check_eq "write|BUG-004|success" "$(sql "SELECT operation || '|' || entity_key || '|' || status FROM tool_executions WHERE id = $U")" "$CASE: the audited change"
A1=$U
out=$("$ORCHFS" undo "$U" 2>&1)
check_rc 0 "$?" "$CASE: orchfs undo $U ($out)"
check_eq "$ROW4" "$(sql "SELECT title, description, status, priority, severity, assignee, labels, related_files FROM bugs WHERE id = 'BUG-004'")" \
	"$CASE: the row's fields as before"
check_eq "undo|success|bugs|BUG-004" "$(new_rows "$A1" "operation || '|' || status || '|' || collection || '|' || entity_key")" "$CASE: one undo audit row"

begin "undo restores a deleted bug and its task link"
ln -s ../../../bugs/BUG-004.json "$MNT/tasks/TASK-001/bugs/BUG-004" || bad "$CASE: link BUG-004"
ROW4=$(sql "SELECT title, description, status, priority, severity, assignee, labels, related_files FROM bugs WHERE id = 'BUG-004'")
rm "$B/BUG-004.json" || bad "$CASE: rm"
D=$(last_audit)
check_eq "delete|BUG-004|success" "$(sql "SELECT operation || '|' || entity_key || '|' || status FROM tool_executions WHERE id = $D")" "$CASE: the audited delete"
check_eq "0|1" "$(sql "SELECT (SELECT count(*) FROM bugs WHERE id = 'BUG-004' AND deleted_at IS NULL), (SELECT count(*) FROM bugs WHERE id = 'BUG-004' AND deleted_at IS NOT NULL)")" "$CASE: gone to .trash/"
[ -e "$MNT/tasks/TASK-001/bugs/BUG-004" ] && bad "$CASE: the link to a deleted bug is still listed"
out=$("$ORCHFS" undo "$D" 2>&1)
check_rc 0 "$?" "$CASE: orchfs undo $D ($out)"
check_eq "$ROW4" "$(sql "SELECT title, description, status, priority, severity, assignee, labels, related_files FROM bugs WHERE id = 'BUG-004'")" \
	"$CASE: the row is back"
check_eq "TASK-001|BUG-004" "$(sql "SELECT task_id || '|' || bug_id FROM task_bugs WHERE bug_id = 'BUG-004'")" "$CASE: the task_bugs row is back"
check_eq "../../../bugs/BUG-004.json" "$(readlink "$MNT/tasks/TASK-001/bugs/BUG-004" 2>&1)" "$CASE: tasks/TASK-001/bugs/BUG-004"
check_eq "BUG-004" "$(jq -r .id "$MNT/tasks/TASK-001/bugs/BUG-004" 2>&1)" "$CASE: the link leads to the bug"
rows=$(new_rows "$D" "operation || '|' || status")
[ -n "$rows" ] && [ -z "$(grep -vx 'undo|success' <<<"$rows")" ] || bad "$CASE: audit rows after the undo: [$rows]"

begin "undo is refused when the entity changed again since"
echo '{"priority":2}' > "$B/BUG-004.json" || bad "$CASE: first write"
U=$(last_audit)
echo '{"priority":3}' > "$B/BUG-004.json" || bad "$CASE: second write"
S0=$(state)
rc=0; out=$("$ORCHFS" undo "$U" 2>&1) || rc=$?
check_rc 1 "$rc" "$CASE: orchfs undo $U"
check_contains "$out" "changed" "$CASE: the message"
unchanged
check_eq 3 "$(bug BUG-004 priority)" "$CASE: the later change is kept"

begin "undo of a delete is refused once the key was made and deleted again since"
echo '{"name":"v1","rule_type":"style","config":{"v":1}}' > "$MNT/rules/rr.json" || bad "$CASE: create v1"
rm "$MNT/rules/rr.json" || bad "$CASE: rm v1"
D1=$(last_audit)
echo '{"name":"v2","rule_type":"style","config":{"v":2}}' > "$MNT/rules/rr.json" || bad "$CASE: create v2"
echo '{"config":{"v":3}}' > "$MNT/rules/rr.json" || bad "$CASE: change v2"
rm "$MNT/rules/rr.json" || bad "$CASE: rm v2"
D2=$(last_audit)
S0=$(state)
rc=0; out=$("$ORCHFS" undo "$D1" 2>&1) || rc=$?
check_rc 1 "$rc" "$CASE: orchfs undo $D1"
check_contains "$out" "rules/rr changed again since" "$CASE: the message"
unchanged
out=$("$ORCHFS" undo "$D2" 2>&1) || bad "$CASE: orchfs undo $D2, the last delete: $out"
check_eq '{"name":"v2","config":{"v":3}}' "$(jq -c '{name, config}' "$MNT/rules/rr.json")" "$CASE: the last version is back"
rm "$MNT/rules/rr.json" || bad "$CASE: rm again"

begin "undo of a refused change is refused"
R=$(sql "SELECT max(id) FROM tool_executions WHERE status = 'denied' AND collection = 'bugs'")
rc=0; out=$("$ORCHFS" undo "$R" 2>&1) || rc=$?
check_rc 1 "$rc" "$CASE: orchfs undo $R"
unchanged
R=$(sql "SELECT max(id) FROM tool_executions WHERE status = 'failure' AND collection = 'bugs'")
rc=0; out=$("$ORCHFS" undo "$R" 2>&1) || rc=$?
check_rc 1 "$rc" "$CASE: orchfs undo $R"
unchanged

note "the views, once every kind of row exists"
for st in $(sql "SELECT DISTINCT status FROM tool_executions ORDER BY 1"); do
	check_eq "$(sql "SELECT id FROM tool_executions WHERE status = '$st' ORDER BY id")" "$(view_ids "by-status/$st")" \
		"audit/by-status/$st/"
done
# tool names that are plain words (GLOB is SQLite's, ~ PostgreSQL's)
if on_pg; then plain="tool_name ~ '^[a-z][a-z0-9_-]*\$'"; else plain="tool_name GLOB '[a-z]*' AND tool_name NOT GLOB '*[^a-z0-9_-]*'"; fi
TOOLS=$(sql "SELECT DISTINCT tool_name FROM tool_executions WHERE $plain ORDER BY 1")
[ -n "$TOOLS" ] || bad "no plain tool names in the audit log"
for tool in $TOOLS; do
	check_eq "$(sql "SELECT id FROM tool_executions WHERE tool_name = '$tool' ORDER BY id")" "$(view_ids "by-tool/$tool")" \
		"audit/by-tool/$tool/"
done
check_eq "$(sql "SELECT id FROM tool_executions WHERE task_id = 'TASK-001' ORDER BY id")" "$(view_ids by-task/TASK-001)" \
	"audit/by-task/TASK-001/"
check_eq "$(sql "SELECT id FROM tool_executions ORDER BY id")" "$(jq -r .id "$MNT/audit.jsonl")" "ids in audit.jsonl"

###########################################################################
# 9. Secrets.
###########################################################################

KEY="sk-ant-PLANTED-0123456789abcdef"
# no_key WHAT: stdin does not hold the planted key (only a count is ever printed).
no_key() {
	local n
	n=$(grep -c -F -- "$KEY" || true)
	[ "$n" = 0 ] || bad "the planted API key appears in $1 ($n lines)"
}
P=$MNT/user/providers
begin "plant an API key through the mount"
echo "{\"provider_type\":\"anthropic\",\"model\":\"claude\",\"api_key\":\"$KEY\"}" > "$P/p.json" || bad "$CASE: write"
check_eq 1 "$(usql "SELECT count(*) FROM llm_providers WHERE id = 'p' AND api_key = '$KEY'")" "$CASE: stored"
check_eq "****cdef" "$(jq -r .api_key "$P/p.json")" "$CASE: cat shows it masked"
check_eq 600 "$(stat -c %a "$P/p.json")" "$CASE: mode of p.json"
cat "$P/p.json" | no_key "cat user/providers/p.json"
cat "$MNT/user/providers.jsonl" | no_key "user/providers.jsonl"

begin "writing the masked value back leaves the key as it is"
jq '.model = "claude-2"' "$P/p.json" > "$W/p.json"
cp "$W/p.json" "$P/p.json" || bad "$CASE: cp"
check_eq "claude-2|1" "$(usql "SELECT model || '|' || (api_key = '$KEY') FROM llm_providers WHERE id = 'p'")" "$CASE: the key in sqlite3"

note "refused writes that carry the key"
echo "{\"api_key\":\"$KEY\",\"temperature\":9}" | close_errno "$P/p.json" >/dev/null
echo "{\"api_key\":\"$KEY\",\"colour\":1}" | close_errno "$P/p.json" >/dev/null
echo "{\"api_key\":\"$KEY\" " | close_errno "$P/p.json" >/dev/null
echo "{\"api_key\":\"$KEY\",\"provider_type\":7}" | close_errno "$P/q.json" excl >/dev/null
echo "{\"api_key\":[\"$KEY\"]}" | close_errno "$P/p.json" >/dev/null           # refused: not a string
printf '{"api_key":"sk-decoy-1111","api_key":"%s"}' "$KEY" > "$P/p.json"        # twice: the last is the key
echo "{\"api_key\":\"$KEY\"}" | tee "$P/p.json" >/dev/null 2>&1          # tee is denied
write_as "$BIN/agentq" "$P/p.json" <<<"{\"api_key\":\"$KEY\"}"               # agentq requires approval
check_eq EACCES "$OUT" "a requires_approval tool writing user/providers/p.json"
check_eq 1 "$(usql "SELECT count(*) FROM tool_executions WHERE tool_name = 'agentq' AND path = '/user/providers/p.json'")" \
	"the requires_approval tool's write to user/providers/p.json is audited"
"$ORCHFS" check agentw "{\"path\":\"user/providers/p.json\",\"api_key\":\"$KEY\"}" >/dev/null 2>&1
"$ORCHFS" check agentw "{\"path\":\"user/providers/p.json\",\"api_key\":\"decoy\",\"api_key\":\"$KEY\"}" >/dev/null 2>&1
echo "{\"tool_name\":\"set_key\",\"arguments\":{\"provider\":\"p\"},\"status\":\"success\"}" >> "$MNT/audit.jsonl"
check_eq "claude-2|1" "$(usql "SELECT model || '|' || (api_key = '$KEY') FROM llm_providers WHERE id = 'p'")" "the key after the refused writes"

note "the key is in no read, log, audit row, error or output"
grep -r -F -- "$KEY" "$MNT" 2>/dev/null | no_key "grep -r over the mount"
find "$MNT" -name .error -exec cat {} + 2>/dev/null | no_key "the .error files"
cat "$T/daemon.err" | no_key "the daemon's log"
sql_dump tool_executions | no_key "the project database's tool_executions"
sqlite3 "$UDB" ".dump tool_executions" | no_key "the user database's tool_executions"
sql_dump approvals | no_key "the approvals table"
"$ORCHFS" audit 2>&1 | no_key "orchfs audit"
"$ORCHFS" export 2>&1 | no_key "orchfs export"
n=$("$ORCHFS" export --with-secrets 2>/dev/null | grep -c -F -- "$KEY")
[ "$n" -ge 1 ] || bad "orchfs export --with-secrets does not hold the key"
# (a PostgreSQL project database is no file: its access is the server's roles)
for f in "$DB" "$UDB"; do
	[ -f "$f" ] || { on_pg && [ "$f" = "$DB" ]; } || bad "no file $f"
	[ -f "$f" ] && check_eq 600 "$(stat -c %a "$f")" "mode of $(basename "$f")"
done

begin "writing a new key sets it"
echo '{"api_key":"sk-ant-ROTATED-00000000000009876"}' > "$P/p.json" || bad "$CASE: write"
check_eq "sk-ant-ROTATED-00000000000009876" "$(usql "SELECT api_key FROM llm_providers WHERE id = 'p'")" "$CASE: sqlite3"
check_eq "****9876" "$(jq -r .api_key "$P/p.json")" "$CASE: cat"
usql "SELECT count(*) FROM tool_executions WHERE arguments LIKE '%ROTATED%' OR before_json LIKE '%ROTATED%' OR after_json LIKE '%ROTATED%'" |
	grep -qx 0 || bad "$CASE: the new key is in an audit row"

###########################################################################
# 10. Hostile keys and names.
###########################################################################

note "hostile keys and tool names never reach SQL as text"
HOSTILE="x'); DROP TABLE bugs;--"
tables() { sql_tables --all; }
counts() {
	local t
	for t in $(tables); do
		case "$t" in tool_executions | _orchfs_changes | sqlite_* | *_fts*) continue ;; esac
		echo "$t $(sql "SELECT count(*) FROM \"$t\"")"
	done
}
TABLES_ALL=$(tables)
UTABLES_ALL=$(usql "SELECT group_concat(name, ' ') FROM (SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name)")
COUNTS=$(counts)

check_eq OK "$(echo '{"name":"hostile","config":{"a":1}}' | close_errno "$MNT/rules/$HOSTILE.json")" "a rule named [$HOSTILE]"
check_eq "$HOSTILE" "$(sql "SELECT id FROM project_rules WHERE name = 'hostile'")" "the rule's key, verbatim"
check_eq OK "$(echo '{"title":"hostile bug"}' | close_errno "$B/$HOSTILE.json")" "a bug named [$HOSTILE]"
check_eq "$HOSTILE" "$(sql "SELECT id FROM bugs WHERE title = 'hostile bug'")" "the bug's key, verbatim"
check_eq OK "$(echo '{"permission_level":"denied"}' | close_errno "$MNT/permissions/$HOSTILE.json")" "a rule for the tool [$HOSTILE]"
check_eq "denied" "$(sql "SELECT permission_level FROM tool_permissions WHERE tool_name = 'x''); DROP TABLE bugs;--'")" \
	"the tool rule's key, verbatim"
out=$("$ORCHFS" check "$HOSTILE" '{"path":"bugs/BUG-001.json"}' 2>&1)
check_rc 1 "$?" "orchfs check [$HOSTILE] ($out)"
"$ORCHFS" audit --tool "$HOSTILE" > "$T/h.out" 2>&1 || bad "orchfs audit --tool [$HOSTILE]"
check_eq "$(sql "SELECT id FROM tool_executions WHERE tool_name = 'x''); DROP TABLE bugs;--' ORDER BY id")" \
	"$(jq -r .id "$T/h.out")" "orchfs audit --tool [$HOSTILE]"
HTOOL="a'--;DROP bugs" # a process name (at most 15 characters)
mktool "$HTOOL" "$PY"
check_eq OK "$(echo '{"permission_level":"denied"}' | close_errno "$MNT/permissions/$HTOOL.json")" "a rule for the tool [$HTOOL]"
A1=$(last_audit)
write_as "$BIN/$HTOOL" "$B/BUG-001.json" <<<'{"title":"by a hostile process"}'
check_eq EACCES "$OUT" "a write by the process [$HTOOL]"
check_eq "$HTOOL|denied" "$(new_rows "$A1" "tool_name || '|' || status")" "the hostile process's refusal"
check_eq "$(new_rows "$A1" id)" "$(ls "$MNT/audit/by-tool/$HTOOL" 2>&1)" "audit/by-tool/[$HTOOL]/"
write_as "$BIN/$HTOOL" "$MNT/audit.jsonl" append <<<"{\"tool_name\":\"$HOSTILE\",\"status\":\"success\"}"
check_eq OK "$OUT" "an agent's line naming the tool [$HOSTILE]"

check_eq "$TABLES_ALL" "$(tables)" "every table of the project database still exists"
check_eq "$UTABLES_ALL" "$(usql "SELECT group_concat(name, ' ') FROM (SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name)")" \
	"every table of the user database still exists"
check_eq "$(echo "$COUNTS" | awk '$1 == "bugs" { $2++ } $1 == "project_rules" { $2++ } $1 == "tool_permissions" { $2 += 2 } { print }')" \
	"$(counts)" "every table holds what it held, plus the hostile rows"
# SQLite's own check of its file; PostgreSQL has no such file to check
on_pg || check_eq "ok" "$(sql "PRAGMA integrity_check")" "integrity_check"

umount_fs || fail "clean unmount"
cat "$T/daemon.err" | no_key "the daemon's log after unmount"
