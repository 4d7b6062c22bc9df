#!/bin/bash
# documents.sh - the plain files of the native tree: documents/constitution.md
# (raw text, edited with sed -i and vim), tasks' attachments (stored bytes,
# read-only), zone-stats/ (computed, read-only), the default zones, and
# `orchfs logs prune` on the agents' and system logs.
. "$(dirname "$0")/lib.sh"

mount_fs
D=$MNT/documents

note "the constitution is a plain text file, not JSON"
check_eq "constitution.md" "$(ls "$D")" "documents/"
check_eq "$(sql "SELECT content FROM documents WHERE name = 'constitution'")" "$(cat "$D/constitution.md")" "cat shows the text itself"
if on_pg; then bytes="octet_length(content)"; else bytes="length(CAST(content AS BLOB))"; fi
check_eq "$(sql "SELECT $bytes FROM documents WHERE name = 'constitution'")" \
	"$(stat -c %s "$D/constitution.md")" "st_size is the text's"
rev=$(sql "SELECT revision FROM documents WHERE name = 'constitution'")

sed -i 's/Tests come with the change they cover/Tests come first/' "$D/constitution.md" || bad "sed -i"
check_contains "$(sql "SELECT content FROM documents WHERE name = 'constitution'")" "2. Tests come first." "sed -i saved the text"
check_eq "$((rev + 1))" "$(sql "SELECT revision FROM documents WHERE name = 'constitution'")" "one change"
check_eq "write|success" "$(sql "SELECT operation || '|' || status FROM tool_executions WHERE entity_key = 'constitution' ORDER BY id DESC LIMIT 1")" "audited"
check_eq "" "$(ls -A "$D" | grep -v '^constitution.md$')" "sed leaves no temporary file"

vim -u NONE -i NONE -n -es -c '%s/^3\. .*/3. Keep it simple./' -c 'wq' "$D/constitution.md" || bad "vim -es"
check_contains "$(sql "SELECT content FROM documents WHERE name = 'constitution'")" "3. Keep it simple." "vim saved the text"
check_eq "" "$(ls -A "$D" | grep -v '^constitution.md$')" "vim leaves no swap or backup file"

printf '# Runbook\n\nRestart with `orchfs umount` first.\n' >"$D/runbook.md" || bad "a new document"
check_eq "# Runbook" "$(sql "SELECT content FROM documents WHERE name = 'runbook'" | head -1)" "created by writing a new .md file"
check_eq EINVAL "$(printf 'bad\0byte' | close_errno "$D/runbook.md")" "a NUL byte is not text"
check_eq "# Runbook" "$(head -1 "$D/runbook.md")" "the refused save changed nothing"
check_eq OK "$(syscall_errno 'os.truncate(a[0], 9)' "$D/runbook.md")" "truncate(2) by path to 9 bytes"
check_eq "# Runbook" "$(sql "SELECT content FROM documents WHERE name = 'runbook'")" "truncate(2) cut the text, as open, ftruncate and close would"
: >"$D/runbook.md" || bad "> runbook.md"
check_eq "|0" "$(sql "SELECT content || '|' || length(content) FROM documents WHERE name = 'runbook'")" "> empties a document"
printf 'text' >"$D/runbook.md" && check_eq OK "$(syscall_errno 'os.truncate(a[0], 0)' "$D/runbook.md")" "truncate(2) by path to 0"
check_eq "|0" "$(sql "SELECT content || '|' || length(content) FROM documents WHERE name = 'runbook'")" "truncate(2) to 0 empties a document too"
rm "$D/runbook.md" || bad "rm a document"
check_eq 0 "$(sql "SELECT count(*) FROM documents WHERE name = 'runbook'")" "removed"

note "metadata/: the schema version as a key/value (OmniOrchestrator's method)"
check_eq "$(sql "SELECT max(version) FROM _orchfs_migrations")" "$(jq -r .value "$MNT/metadata/schema_version.json")" "metadata/schema_version.json"
check_eq EROFS "$(echo '{"value":"1"}' | close_errno "$MNT/metadata/schema_version.json")" "metadata is read-only"

note "a key no file can be named, made by another writer, is left out of the listing"
sql "INSERT INTO bugs (id, title) VALUES ('x/y', 'slash'), ('.dot', 'dot'), ('ok-1', 'fine')"
check_eq "ok-1.json" "$(ls "$MNT/bugs" | grep json)" "ls bugs lists the nameable key only"

note "the four default zones come with the schema"
check_eq "zone-deployment zone-development zone-review zone-testing" "$(ls "$MNT/zones" | grep '^zone-' | tr '\n' ' ' | sed 's/ $//')" "zones/"
check_eq "manual" "$(jq -r .trigger "$MNT/zones/zone-deployment/zone.json")" "zone-deployment is manual"
check_eq '["qa","test-engineer"]' "$(jq -c .agents "$MNT/zones/zone-testing/zone.json")" "zone-testing's agents"

note "zone-stats/: totals, successes, failures, rate and unique agents, per zone and all"
for r in '{"agent_type":"qa","prompt":"run","success":true}' '{"agent_type":"qa","prompt":"run","success":false}' \
	'{"agent_type":"test-engineer","prompt":"write","success":true}'; do
	echo "$r" >>"$MNT/zones/zone-testing/executions.jsonl" || bad "append an execution"
done
echo '{"agent_type":"devops","prompt":"ship","success":true}' >>"$MNT/zones/zone-deployment/executions.jsonl"
check_eq "3 2 1 66.7 2" "$(jq -r '"\(.total) \(.successes) \(.failures) \(.success_rate) \(.unique_agents)"' "$MNT/zone-stats/zone-testing.json")" "zone-testing"
check_eq "4 3 1 75 3" "$(jq -r '"\(.total) \(.successes) \(.failures) \(.success_rate) \(.unique_agents)"' "$MNT/zone-stats/all.json")" "all zones"
check_eq "0 null" "$(jq -r '"\(.total) \(.success_rate)"' "$MNT/zone-stats/zone-review.json")" "a zone with no executions"
check_eq EROFS "$(echo '{}' | close_errno "$MNT/zone-stats/all.json")" "statistics are read-only"

note "attachments: the stored bytes, read-only"
mkdir "$MNT/tasks/TASK-001" || fail "mkdir a task"
printf '\x89PNG\r\n\x1a\n\x00\x01binary' >"$T/shot.png"
hex=$(od -An -tx1 -v "$T/shot.png" | tr -d ' \n')
if on_pg; then blob="decode('$hex', 'hex')"; else blob="X'$hex'"; fi
sql "INSERT INTO task_attachments (task_id, filename, content_type, data) VALUES ('TASK-001', 'shot.png', 'image/png', $blob)"
check_eq "shot.png" "$(ls "$MNT/tasks/TASK-001/attachments")" "attachments/"
cmp -s "$T/shot.png" "$MNT/tasks/TASK-001/attachments/shot.png" || bad "the attachment is not the stored bytes"
check_eq EROFS "$(echo x | close_errno "$MNT/tasks/TASK-001/attachments/shot.png")" "attachments are read-only"
check_eq EROFS "$(echo x | close_errno "$MNT/tasks/TASK-001/attachments/new.txt")" "nor can one be added"

note "orchfs logs prune: the agents' and the system logs"
# now, in the time forms each engine may hold: SQLite's text as orchfs writes
# it and as datetime() does; PostgreSQL's timestamptz, given as a value and as
# a literal in psql's form
if on_pg; then
	now1="now()" now2="'$(date -u '+%Y-%m-%d %H:%M:%S+00')'"
else
	now1="strftime('%Y-%m-%dT%H:%M:%fZ','now')" now2="datetime('now')"
fi
sql "INSERT INTO orchestrator_agents (id, name, agent_type) VALUES ('oa', 'planner', 'planner');
	INSERT INTO agents (id, orchestrator_agent_id) VALUES ('a1', 'oa');
	INSERT INTO agent_logs (agent_id, log_type, message, timestamp) VALUES
		('a1', 'milestone', 'old', '2020-01-01T00:00:00.000Z'), ('a1', 'milestone', 'new', $now1);
	INSERT INTO system_logs (component, message, timestamp) VALUES
		('db', 'old', '2020-01-01T00:00:00.000Z'), ('db', 'new', $now1),
		('db', 'new', $now2)"
out=$("$ORCHFS" logs prune --older-than 30d --dry-run)
check_contains "$out" "would prune agents/ID/logs.jsonl" "dry run"
check_eq "2|3" "$(sql "SELECT (SELECT count(*) FROM agent_logs), (SELECT count(*) FROM system_logs)")" "a dry run deletes nothing"
"$ORCHFS" logs prune --older-than 30d >/dev/null || bad "logs prune"
check_eq "new|new,new" "$(sql "SELECT (SELECT group_concat(message) FROM agent_logs), (SELECT group_concat(message) FROM system_logs)")" "the old rows went, new ones in any time form stay"
check_eq "new" "$(jq -r .message "$MNT/agents/a1/logs.jsonl")" "logs.jsonl"
check_eq 2 "$(sql "SELECT count(*) FROM tool_executions WHERE operation = 'prune' AND status = 'success' AND arguments -> 'rows' = '1'")" "each prune audited with its count"
exit 0
