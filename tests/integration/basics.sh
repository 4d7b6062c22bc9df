#!/bin/bash
# basics.sh - init, mount, the tree, and ordinary shell reads and writes,
# each checked against sqlite3 on the database file.
. "$(dirname "$0")/lib.sh"
mount_fs

note "the root shows the collections, their JSON Lines streams and user/"
assert_eq "agents agents.jsonl approvals approvals.jsonl ast-cache ast-cache.jsonl audit audit.jsonl branches branches.jsonl bugs bugs.jsonl changes.jsonl documents documents.jsonl gates gates.jsonl initiatives initiatives.jsonl logs logs.jsonl metadata metadata.jsonl orchestrator-agents orchestrator-agents.jsonl permissions permissions.jsonl phase-templates phase-templates.jsonl prompts prompts.jsonl rules rules.jsonl tasks tasks.jsonl user workflow-runs workflow-runs.jsonl workflows workflows.jsonl worktrees worktrees.jsonl zone-stats zone-stats.jsonl zones zones.jsonl" \
	"$(ls "$MNT" | tr '\n' ' ' | sed 's/ $//')" "ls of the root"
assert_eq "budgets budgets.jsonl changes.jsonl pricing pricing.jsonl prompts prompts.jsonl providers providers.jsonl sessions sessions.jsonl usage usage.jsonl workflow_templates workflow_templates.jsonl" \
	"$(ls "$MNT/user" | tr '\n' ' ' | sed 's/ $//')" "ls of user/"

note "create a bug through bugs/new; the key is allocated and reported"
echo '{"title":"Login fails","priority":1,"labels":["auth"]}' > "$MNT/bugs/new"
assert_eq "BUG-001" "$(cat "$MNT/bugs/new")" "cat bugs/new"
assert_eq "Login fails|1|[\"auth\"]|open" "$(sql "SELECT title, priority, labels, status FROM bugs WHERE id='BUG-001'")" "row in sqlite"
assert_eq "1" "$(audit_count "operation='create' AND entity_key='BUG-001' AND status='success'")" "audit row of the create"

note "cat shows the row as JSON, jq reads it, sizes are exact"
assert_eq "Login fails" "$(jq -r .title "$MNT/bugs/BUG-001.json")" "jq .title"
assert_eq "$(wc -c < "$MNT/bugs/BUG-001.json")" "$(stat -c %s "$MNT/bugs/BUG-001.json")" "st_size = bytes read"

note "a shell > write is a merge patch"
before=$(audit_count)
echo '{"status":"in_progress"}' > "$MNT/bugs/BUG-001.json"
assert_eq "in_progress|Login fails|2" "$(sql "SELECT status, title, revision FROM bugs WHERE id='BUG-001'")" "after patch"
assert_eq "$((before + 1))" "$(audit_count)" "one audit row per change"
assert_eq "bash|write|/bugs/BUG-001.json|success" "$(sql "SELECT tool_name, operation, path, status FROM tool_executions ORDER BY id DESC LIMIT 1")" "audit row names the process"
assert_eq "open" "$(sql "SELECT before_json ->> 'status' FROM tool_executions ORDER BY id DESC LIMIT 1")" "audit keeps the JSON before"
assert_eq "in_progress" "$(sql "SELECT after_json ->> 'status' FROM tool_executions ORDER BY id DESC LIMIT 1")" "audit keeps the JSON after"

note "mkdir makes a directory entity; its file takes writes"
mkdir "$MNT/tasks/TASK-100"
assert_eq "1" "$(sql "SELECT count(*) FROM tasks WHERE id='TASK-100'")" "mkdir created the row"
echo '{"title":"Ship it","status":"running"}' > "$MNT/tasks/TASK-100/task.json"
assert_eq "Ship it|running" "$(sql "SELECT title, status FROM tasks WHERE id='TASK-100'")" "task patched"
ls "$MNT/tasks/TASK-100" > "$T/ls" || fail "ls of a task"
assert_eq "attachments bugs comments.jsonl deps events.jsonl outputs.jsonl phases.jsonl review-comments.jsonl task.json transcript.jsonl" "$(tr '\n' ' ' < "$T/ls" | sed 's/ $//')" "task directory"

note ">> appends transcript rows in one transaction"
printf '%s\n' '{"role":"user","content":"hello"}' '{"role":"assistant","content":"hi there"}' >> "$MNT/tasks/TASK-100/transcript.jsonl"
assert_eq "2" "$(sql "SELECT count(*) FROM transcripts WHERE task_id='TASK-100'")" "rows appended"
assert_eq "hi there" "$(tail -n 1 "$MNT/tasks/TASK-100/transcript.jsonl" | jq -r .content)" "tail of the log"
printf '{"role":"user","content":"from windows"}\r\n\r\n   \n' >> "$MNT/tasks/TASK-100/transcript.jsonl" ||
	fail "an append with CRLF and blank lines"
assert_eq "3" "$(sql "SELECT count(*) FROM transcripts WHERE task_id='TASK-100'")" "a CRLF line appended, blank lines no rows"
if on_pg; then
	fts="SELECT count(*) FROM transcripts_fts WHERE document @@ websearch_to_tsquery('simple', 'hello')"
else
	fts="SELECT count(*) FROM transcripts_fts WHERE transcripts_fts MATCH 'hello'"
fi
assert_eq "1" "$(sql "$fts")" "FTS index follows"

note ">> of rows of forty shapes, one at a time: each row holds the fields it gave, a field given twice the last"
# bit b of i gives field b (orchfs keeps 32 shapes' statements per log, then makes one per row)
python3 - "$MNT/tasks/TASK-100/transcript.jsonl" > "$T/shapes.want" <<'PY'
import json, sys
fields = ["run_id", "role", "model", "input_tokens", "output_tokens", "message_uuid"]
for i in range(40):
    row = {"content": "shape %02d" % i}
    for b, f in enumerate(fields):
        if i >> b & 1:
            row[f] = i if f.endswith("tokens") else "%s-%d" % (f, i)
    with open(sys.argv[1], "a") as log:  # one open, one close, one transaction per row
        log.write(json.dumps(row) + "\n")
    print("|".join(str(row.get(f, "-")) for f in ["content"] + fields))
PY
printf '%s\n' '{"content":"given twice","model":"first","content":"shape 99","model":"last"}' >> "$MNT/tasks/TASK-100/transcript.jsonl"
echo "shape 99|-|-|last|-|-|-" >> "$T/shapes.want"
sql "SELECT content, coalesce(run_id, '-'), coalesce(role, '-'), coalesce(model, '-'),
            coalesce(CAST(input_tokens AS TEXT), '-'), coalesce(CAST(output_tokens AS TEXT), '-'),
            coalesce(message_uuid, '-')
     FROM transcripts WHERE task_id = 'TASK-100' AND content LIKE 'shape %' ORDER BY id" > "$T/shapes.got"
assert_eq "$(cat "$T/shapes.want")" "$(cat "$T/shapes.got")" "the rows of forty shapes as sqlite3 reads them"

note "a collection reads as one JSON Lines stream, one open, one snapshot"
assert_eq "TASK-100 running" "$(jq -r '"\(.id) \(.status)"' "$MNT/tasks.jsonl")" "jq over tasks.jsonl"
assert_eq "$(sql "SELECT count(*) FROM bugs")" "$(wc -l < "$MNT/bugs.jsonl")" "one line per bug"
assert_eq "EROFS" "$(echo '{}' | close_errno "$MNT/bugs.jsonl")" "streams are read-only"

note "numbers in a JSON field are stored as written (a double's every digit), and kept when a sibling is patched"
# (every number a double, as both engines can hold them: PostgreSQL writes 1e+20 in full)
canon() { python3 -c 'import json, sys; print(json.dumps(json.loads(sys.stdin.read(), parse_int=float), sort_keys=True, separators=(",", ":")))'; }
echo '{"metadata":{"i":9007199254740991,"f":0.30000000000000004,"g":1.0000000000000002,"n":-12,"e":1e+20}}' > "$MNT/tasks/TASK-100/task.json" ||
	fail "save of exact numbers"
want='{"e":1e+20,"f":0.30000000000000004,"g":1.0000000000000002,"i":9007199254740991.0,"n":-12.0}'
assert_eq "$want" "$(sql "SELECT metadata FROM tasks WHERE id = 'TASK-100'" | canon)" "the numbers as sqlite3 reads them"
echo '{"metadata":{"note":"a sibling"}}' > "$MNT/tasks/TASK-100/task.json" || fail "patch of a sibling"
assert_eq "${want%\}},\"note\":\"a sibling\"}" "$(sql "SELECT metadata FROM tasks WHERE id = 'TASK-100'" | canon)" \
	"the numbers after a sibling was patched"
assert_eq "$want" "$(jq -c '.after.metadata | del(.note)' "$MNT/audit/$(sql "SELECT max(id) FROM tool_executions")".json | canon)" \
	"the numbers in the audit row's after"
assert_eq EINVAL "$(echo '{"metadata":{"x":1e400}}' | close_errno "$MNT/tasks/TASK-100/task.json")" "a number beyond a double"

note "grep -r and find see the tree"
grep -rq "Ship it" "$MNT/tasks" || fail "grep -r finds the task"
assert_eq "$MNT/bugs/BUG-001.json" "$(find "$MNT/bugs" -name 'BUG-*.json')" "find"

note "ls -l sizes equal wc -c for every file"
while IFS= read -r -d '' f; do
	assert_eq "$(wc -c < "$f")" "$(stat -c %s "$f")" "size of $f"
done < <(find "$MNT" -type f -print0)

note "rm deletes (to .trash/), rmdir deletes a directory entity, rm in .trash/ for good"
rm "$MNT/bugs/BUG-001.json"
assert_eq "0" "$(sql "SELECT count(*) FROM bugs WHERE deleted_at IS NULL")" "bug deleted"
[ -e "$MNT/bugs/BUG-001.json" ] && fail "a deleted bug is still listed"
assert_eq "" "$(ls "$MNT/bugs" | grep BUG-001)" "a deleted bug is not listed"
assert_eq "Login fails" "$(jq -r .title "$MNT/bugs/.trash/BUG-001.json")" "the deleted bug in bugs/.trash/"
assert_eq "Login fails" "$(sql "SELECT before_json ->> 'title' FROM tool_executions WHERE operation='delete'")" "deleted bug recoverable from the audit"
rm "$MNT/bugs/.trash/BUG-001.json"
assert_eq "0" "$(sql "SELECT count(*) FROM bugs")" "bug removed for good"
ntr=$(sql "SELECT count(*) FROM transcripts")
[ "$ntr" -gt 0 ] || fail "TASK-100 has a transcript to delete"
rmdir "$MNT/tasks/TASK-100"
assert_eq "1|$ntr" "$(sql "SELECT (SELECT count(*) FROM tasks WHERE deleted_at IS NOT NULL), (SELECT count(*) FROM transcripts)")" "the task in .trash/ keeps its transcript"
rm "$MNT/tasks/.trash/TASK-100.json"
assert_eq "0|0" "$(sql "SELECT (SELECT count(*) FROM tasks), (SELECT count(*) FROM transcripts)")" "task and its transcript deleted"

umount_fs || fail "clean unmount"
