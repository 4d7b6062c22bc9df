#!/bin/bash
# foreign.sh - each tool's own database file mounted as it is (--schema):
# the file built as the tool builds it (tests/fixtures/foreign), reads
# compared with sqlite3, writes in the tool's own id and time formats, a
# rejected write, the audit in the sidecar, and the tool's schema untouched.
. "$(dirname "$0")/lib.sh"

FIX=$(cd "$(dirname "$0")/../fixtures/foreign" && pwd)
F=$T/foreign
mkdir -p "$F"

build() { # build NAME FILE: the tool's schema, then its data
	sqlite3 -bail "$2" <"$FIX/$1.sql" || fail "loading $1.sql"
	sqlite3 -bail "$2" <"$FIX/${1}_data.sql" || fail "loading ${1}_data.sql"
}
fq() { sqlite3 -bail "$FDB" "$@"; }
side() { sqlite3 -bail "${FDB%.db}.orchfs.db" "$@"; }
schema() { sqlite3 "$1" "SELECT type, name, sql FROM sqlite_schema ORDER BY name"; }

# --- Orca: project.db and user.db ------------------------------------------
FDB=$F/orca/.orca/project.db
mkdir -p "$F/orca/.orca"
build orca_project "$FDB"
build orca_user "$F/orca/user.db"
before=$(schema "$FDB")
ubefore=$(schema "$F/orca/user.db")
jbefore=$(fq "PRAGMA journal_mode")
orca_execs=$(fq "SELECT count(*) FROM tool_executions")
mount_fs --schema orca "$FDB" --user-db "$F/orca/user.db"

check_eq "$(fq "SELECT count(*) FROM bugs")" "$(find "$MNT/bugs" -maxdepth 1 -name '*.json' | wc -l)" "orca: one file per bug"
bug=$(fq "SELECT id FROM bugs WHERE status = 'open' ORDER BY id LIMIT 1")
check_eq "$(fq "SELECT title FROM bugs WHERE id = '$bug'")" "$(jq -r .title "$MNT/bugs/$bug.json")" "orca: title"
check_eq "$(fq "SELECT strftime('%Y-%m-%dT%H:%M:%S.000Z', created_at, 'unixepoch') FROM bugs WHERE id = '$bug'")" \
	"$(jq -r .created_at "$MNT/bugs/$bug.json")" "orca: epoch seconds shown as ISO 8601"
check_eq "$(fq "SELECT count(*) FROM bugs WHERE status = 'open'")" "$(ls "$MNT/bugs/by-status/open" | wc -l)" "orca: by-status view"

# a write: the tool's own formats
check_eq OK "$(echo '{"status":"in_progress","assignee":"orchfs"}' | close_errno "$MNT/bugs/$bug.json")" "orca: write"
check_eq "in_progress|orchfs|integer" "$(fq "SELECT status, assignee, typeof(updated_at) FROM bugs WHERE id = '$bug'")" "orca: written, updated_at still epoch seconds"
check_eq 1 "$(side "SELECT count(*) FROM tool_executions WHERE entity_key = '$bug' AND status = 'success' AND operation = 'write'")" "orca: the audit row is in the sidecar"
check_eq "$orca_execs" "$(fq "SELECT count(*) FROM tool_executions")" "orca: Orca's own tool_executions untouched"
check_eq update "$(jq -r 'select(.key == "'"$bug"'") | .operation' "$MNT/changes.jsonl" | tail -1)" "orca: the change feed"

# a rejected write: EINVAL, nothing changed, audited
snap=$(fq "SELECT * FROM bugs WHERE id = '$bug'")
check_eq EINVAL "$(echo '{"status":"closed-ish"}' | close_errno "$MNT/bugs/$bug.json")" "orca: a value outside the set"
check_eq "$snap" "$(fq "SELECT * FROM bugs WHERE id = '$bug'")" "orca: unchanged after the refusal"
check_contains "$(cat "$MNT/bugs/.error")" "status: must be one of" "orca: .error names the field"
check_eq 1 "$(side "SELECT count(*) FROM tool_executions WHERE entity_key = '$bug' AND status = 'failure'")" "orca: the refusal is audited"

# a row Orca stored with values outside the mapping's sets (labels as plain
# text, a status the mapping does not list) is still saved whole from an
# editor: the fields sent back as they read are no change, and not checked
fq "UPDATE bugs SET labels = 'ui, backend', status = 'closed' WHERE id = '$bug'"
jq '.assignee = "kim"' "$MNT/bugs/$bug.json" > "$T/whole.json"
check_eq OK "$(close_errno "$MNT/bugs/$bug.json" <"$T/whole.json")" "orca: a whole-file save of a row with values outside the sets"
check_eq "kim|ui, backend|closed" "$(fq "SELECT assignee, labels, status FROM bugs WHERE id = '$bug'")" "orca: only the assignee changed"
check_eq EINVAL "$(echo '{"status":"reopened-ish"}' | close_errno "$MNT/bugs/$bug.json")" "orca: a new value outside the set is still refused"
fq "UPDATE bugs SET labels = '[]', status = 'in_progress' WHERE id = '$bug'"

# a stale edit: the whole file as read, saved after another writer changed the row
cp "$MNT/bugs/$bug.json" "$T/stale.json"
fq "UPDATE bugs SET priority = 1, updated_at = updated_at + 5 WHERE id = '$bug'"
check_eq ESTALE "$(close_errno "$MNT/bugs/$bug.json" <"$T/stale.json")" "orca: stale edit by updated_at"
check_eq 1 "$(fq "SELECT priority FROM bugs WHERE id = '$bug'")" "orca: the newer change is kept"

# an editor's second save of a tool's row (no revision: updated_at, to the
# second, stands in): its own first save moved updated_at, and that is no
# other writer's change; a change by another writer in between still is
cat > "$T/own.py" <<'PY'
import errno, json, os, subprocess, sys, time
path, db, other = sys.argv[1], sys.argv[2], sys.argv[3]
doc = json.load(open(path))    # read once, as an editor does; its buffer keeps updated_at
def save(d):
    fd, err = os.open(path, os.O_WRONLY | os.O_TRUNC), None
    try:
        os.write(fd, (json.dumps(d, indent=2) + "\n").encode())
    except OSError as e:
        err = e
    try:
        os.close(fd)
    except OSError as e:
        err = err or e
    return errno.errorcode[err.errno] if err else "OK"
out = []
time.sleep(1.05 - time.time() % 1)    # just past a second: the next saves fall within it
doc["assignee"] = "first"; out.append(save(doc))
if other == "tool":
    subprocess.run(["sqlite3", db, "UPDATE bugs SET title = 'retitled by the tool', updated_at = updated_at + 1"
                    " WHERE id = '%s'" % os.path.basename(path)[:-5]], check=True)
elif other == "mount":    # another process reads and saves through the mount, in the same second
    subprocess.run([sys.executable, "-c", "import json, sys; p = sys.argv[1]; d = json.load(open(p)); "
                    "d['assignee'] = 'another'; open(p, 'w').write(json.dumps(d))", path], check=True)
time.sleep(1.1)    # the next save's time, a second later
doc["priority"] = 2; out.append(save(doc))
time.sleep(1.1)
doc["assignee"] = "third"; out.append(save(doc))
print(" ".join(out))
PY
old=$(date -d '-1 hour' +%s)
b2=$(fq "SELECT id FROM bugs WHERE id <> '$bug' ORDER BY id LIMIT 1 OFFSET 1")
b3=$(fq "SELECT id FROM bugs WHERE id NOT IN ('$bug', '$b2') ORDER BY id LIMIT 1 OFFSET 1")
fq "UPDATE bugs SET updated_at = $old, priority = 4 WHERE id IN ('$b2', '$b3')"
check_eq "OK OK OK" "$(python3 "$T/own.py" "$MNT/bugs/$b2.json" "$FDB" none)" "orca: one process's three whole saves of one read"
check_eq "third|2" "$(fq "SELECT assignee, priority FROM bugs WHERE id = '$b2'")" "orca: each of its saves applied"
check_eq "OK ESTALE ESTALE" "$(python3 "$T/own.py" "$MNT/bugs/$b3.json" "$FDB" tool)" "orca: its saves after the tool's own change"
check_eq "first|4|retitled by the tool" "$(fq "SELECT assignee, priority, title FROM bugs WHERE id = '$b3'")" "orca: the tool's change kept"
b4=$(fq "SELECT id FROM bugs WHERE id NOT IN ('$bug', '$b2', '$b3') ORDER BY id LIMIT 1 OFFSET 1")
fq "UPDATE bugs SET updated_at = $old, priority = 4 WHERE id = '$b4'"
check_eq "OK ESTALE ESTALE" "$(python3 "$T/own.py" "$MNT/bugs/$b4.json" "$FDB" mount)" "orca: its saves after another process's save in the same second"
check_eq "another|4" "$(fq "SELECT assignee, priority FROM bugs WHERE id = '$b4'")" "orca: the other process's change kept"

# create: a UUID key, epoch times
out=$(echo '{"title":"made through the mount","labels":["fs"]}' | close_errno "$MNT/bugs/new")
check_eq OK "$out" "orca: create through new"
new=$(fq "SELECT id FROM bugs WHERE title = 'made through the mount'")
[[ $new =~ ^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$ ]] || bad "orca: new key is not a UUID v4: [$new]"
check_eq "integer|integer|open|3" "$(fq "SELECT typeof(created_at), typeof(updated_at), status, priority FROM bugs WHERE id = '$new'")" "orca: created with the tool's defaults"

# a link into an ordered relation: sequence and created_at filled as Orca does
wf=$(fq "SELECT id FROM workflows ORDER BY id LIMIT 1")
task=$(fq "SELECT id FROM tasks WHERE id NOT IN (SELECT task_id FROM workflow_tasks WHERE workflow_id = '$wf') ORDER BY id LIMIT 1")
want=$(fq "SELECT coalesce(max(sequence), 0) + 1 FROM workflow_tasks WHERE workflow_id = '$wf'")
ln -s "../../../tasks/$task" "$MNT/workflows/$wf/tasks/$task" || bad "orca: ln -s into workflows/$wf/tasks"
check_eq "$want|integer" "$(fq "SELECT sequence, typeof(created_at) FROM workflow_tasks WHERE workflow_id = '$wf' AND task_id = '$task'")" "orca: link row ordered and stamped"
check_eq "$task" "$(ls -U "$MNT/workflows/$wf/tasks" | tail -1)" "orca: the new link is listed last"

# a permission rule in Orca's own table is enforced on the mount
check_eq OK "$(echo '{"permission_level":"denied","description":"no tee"}' | close_errno "$MNT/permissions/tee.json")" "orca: a rule"
[[ $(fq "SELECT id FROM tool_permissions WHERE tool_name = 'tee'") =~ ^[0-9a-f-]{36}$ ]] || bad "orca: the rule got Orca's UUID id"
echo '{"status":"wontfix"}' | tee "$MNT/bugs/$bug.json" >/dev/null 2>&1 && bad "orca: tee was denied by the rule, yet succeeded"
check_eq "in_progress" "$(fq "SELECT status FROM bugs WHERE id = '$bug'")" "orca: the denied write changed nothing"
check_eq 1 "$(side "SELECT count(*) FROM tool_executions WHERE tool_name = 'tee' AND status = 'denied'")" "orca: the denial is audited"

# user.db: secrets masked, Orca's second keys
key=$(sqlite3 "$F/orca/user.db" "SELECT api_key FROM llm_providers WHERE api_key IS NOT NULL LIMIT 1")
prov=$(sqlite3 "$F/orca/user.db" "SELECT id FROM llm_providers WHERE api_key IS NOT NULL LIMIT 1")
check_eq "****${key: -4}" "$(jq -r .api_key "$MNT/user/providers/$prov.json")" "orca: api_key masked"
grep -rqF -- "$key" "$MNT/user" && bad "orca: the api key appears in the mount"
check_eq OK "$(echo '{"template":"Summarise {{text}}","category":"task"}' | close_errno "$MNT/user/prompts/summarise.json")" "orca: user prompt by name"
[[ $(sqlite3 "$F/orca/user.db" "SELECT id FROM prompts WHERE name = 'summarise'") =~ ^[0-9a-f-]{36}$ ]] || bad "orca: the prompt got a UUID id"
umount_fs || bad "orca: unmount"
check_eq "$before" "$(schema "$FDB")" "orca: project.db schema untouched"
check_eq "$ubefore" "$(schema "$F/orca/user.db")" "orca: user.db schema untouched"
check_eq "$jbefore" "$(fq "PRAGMA journal_mode")" "orca: journal mode untouched"
check_eq ok "$(fq "PRAGMA integrity_check")" "orca: integrity"

# --- AI-Orchestra: visual.db -----------------------------------------------
FDB=$F/orchestra/data/visual.db
mkdir -p "$F/orchestra/data"
build orchestra "$FDB"
fq "PRAGMA journal_mode=WAL" >/dev/null # as the dashboard leaves it
before=$(schema "$FDB")
mount_fs --schema orchestra "$FDB"
for z in zone-development zone-testing zone-review zone-deployment; do
	[ -f "$MNT/zones/$z/zone.json" ] || bad "orchestra: default zone $z"
done
check_eq manual "$(jq -r .trigger "$MNT/zones/zone-deployment/zone.json")" "orchestra: zone-deployment is manual"
check_eq "$(fq "SELECT worktree_id FROM worktree_zones WHERE zone_id = 'zone-testing' ORDER BY 1")" \
	"$(ls "$MNT/zones/zone-testing/worktrees")" "orchestra: a zone's worktrees"
# statistics, computed by SQLite over the tool's rows
for z in zone-testing all; do
	where=$([ "$z" = all ] || echo "WHERE zone_id = '$z'")
	check_eq "$(fq "SELECT count(*) || ' ' || sum(success = 1) || ' ' || sum(success = 0) || ' ' || count(DISTINCT agent_type) FROM zone_executions $where")" \
		"$(jq -r '"\(.total) \(.successes) \(.failures) \(.unique_agents)"' "$MNT/zone-stats/$z.json")" "orchestra: zone-stats/$z"
done
check_eq 444 "$(stat -c %a "$MNT/zone-stats/all.json")" "orchestra: statistics are read-only files"
check_eq EROFS "$(echo '{"total":0}' | close_errno "$MNT/zone-stats/all.json")" "orchestra: statistics are read-only"
wt=$(fq "SELECT worktree_id FROM worktree_zones WHERE zone_id = 'zone-testing' LIMIT 1")
mv "$MNT/zones/zone-testing/worktrees/$wt" "$MNT/zones/zone-review/worktrees/" || bad "orchestra: mv between zones"
check_eq "zone-review|1" "$(fq "SELECT zone_id, assigned_at LIKE '____-__-__T__:__:__.___Z' FROM worktree_zones WHERE worktree_id = '$wt'")" "orchestra: moved, assigned_at in ISO"
n=$(fq "SELECT count(*) FROM zone_executions WHERE zone_id = 'zone-review'")
echo '{"worktree_id":"'"$wt"'","agent_type":"code-reviewer","prompt":"review it","result":{"ok":true},"success":true}' >>"$MNT/zones/zone-review/executions.jsonl" ||
	bad "orchestra: >> executions.jsonl"
check_eq "$((n + 1))" "$(fq "SELECT count(*) FROM zone_executions WHERE zone_id = 'zone-review'")" "orchestra: appended"
check_eq "1|1" "$(fq "SELECT length(id) = 36, executed_at LIKE '____-__-__T__:__:__.___Z' FROM zone_executions WHERE prompt = 'review it'")" "orchestra: the row got an id and a time"
check_eq "$((n + 1))" "$(jq .total "$MNT/zone-stats/zone-review.json")" "orchestra: statistics follow"
check_eq EINVAL "$(echo '{"trigger":"sometimes"}' | close_errno "$MNT/zones/zone-review/zone.json")" "orchestra: a trigger outside the set"
check_eq 1 "$(side "SELECT count(*) FROM tool_executions WHERE status = 'failure' AND collection = 'zones'")" "orchestra: refusal audited in the sidecar"
umount_fs || bad "orchestra: unmount"
check_eq "$before" "$(schema "$FDB")" "orchestra: schema untouched"
check_eq wal "$(fq "PRAGMA journal_mode")" "orchestra: still WAL"

# --- TAC Bootstrap: orchestrator.db ----------------------------------------
FDB=$F/tac/orchestrator.db
mkdir -p "$F/tac"
build tac "$FDB"
before=$(schema "$FDB")
mount_fs --schema tac "$FDB"
parent=$(fq "SELECT parent_agent_id FROM agents WHERE parent_agent_id IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")
check_eq "$(fq "SELECT id FROM agents WHERE parent_agent_id = '$parent' ORDER BY id")" "$(ls "$MNT/agents/$parent/children")" "tac: children from parent_agent_id"
check_eq "$(fq "SELECT count(*) FROM agent_logs WHERE agent_id = '$parent'")" "$(wc -l <"$MNT/agents/$parent/logs.jsonl")" "tac: an agent's logs"
child=$(ls "$MNT/agents/$parent/children" | head -1)
rm "$MNT/agents/$parent/children/$child" 2>/dev/null && bad "tac: children/ is read-only, yet rm worked"
check_eq "$parent" "$(fq "SELECT parent_agent_id FROM agents WHERE id = '$child'")" "tac: the child is still there"
echo '{"log_level":"INFO","log_type":"milestone","message":"half way"}' >>"$MNT/agents/$parent/logs.jsonl" || bad "tac: >> logs.jsonl"
check_eq 1 "$(fq "SELECT count(*) FROM agent_logs WHERE message = 'half way' AND created_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9]'")" "tac: appended in datetime('now') form"
check_eq EINVAL "$(echo '{"log_level":"LOUD","log_type":"milestone","message":"x"}' | close_errno "$MNT/agents/$parent/logs.jsonl" append)" "tac: a level outside the CHECK set"
orch=$(fq "SELECT id FROM orchestrator_agents LIMIT 1")
check_eq OK "$(echo '{"orchestrator_agent_id":"'"$orch"'","session_id":"s-test","parent_agent_id":"'"$parent"'"}' | close_errno "$MNT/agents/new")" "tac: a new agent"
newagent=$(fq "SELECT id FROM agents WHERE session_id = 's-test'")
check_eq "initializing" "$(jq -r .status "$MNT/agents/$newagent/agent.json")" "tac: the tool's default status"
[ -L "$MNT/agents/$parent/children/$newagent" ] || bad "tac: the new agent is among its parent's children"
check_eq OK "$(echo '{"status":"planning"}' | close_errno "$MNT/agents/$newagent/agent.json")" "tac: status change"
check_eq planning "$(fq "SELECT status FROM agents WHERE id = '$newagent'")" "tac: status written"
check_eq "$(fq "SELECT count(*) FROM system_logs")" "$(wc -l <"$MNT/logs.jsonl")" "tac: system logs"
umount_fs || bad "tac: unmount"
check_eq "$before" "$(schema "$FDB")" "tac: schema untouched"
# retention: TAC deletes logs older than N days; so does `orchfs logs prune`
old_sys=$(fq "SELECT count(*) FROM system_logs WHERE created_at < datetime('now', '-30 days')")
[ "$old_sys" -gt 0 ] || bad "tac: the fixture has system logs older than 30 days"
keep=$(fq "SELECT count(*) FROM system_logs") agent_logs=$(fq "SELECT count(*) FROM agent_logs")
out=$("$ORCHFS" logs prune --older-than 30d --dry-run --schema tac --db "$FDB")
check_contains "$out" "would prune logs" "tac: dry run names the log"
check_eq "$keep" "$(fq "SELECT count(*) FROM system_logs")" "tac: a dry run deletes nothing"
"$ORCHFS" logs prune --older-than 30d --schema tac --db "$FDB" >/dev/null || bad "tac: logs prune"
check_eq "$((keep - old_sys))" "$(fq "SELECT count(*) FROM system_logs")" "tac: old system logs pruned"
check_eq 0 "$(fq "SELECT count(*) FROM system_logs WHERE created_at < datetime('now', '-30 days')")" "tac: none older than 30 days left"
check_eq "$agent_logs" "$(fq "SELECT count(*) FROM agent_logs")" "tac: recent agent logs kept"
check_eq "$old_sys" "$(side "SELECT json_extract(arguments, '$.rows') FROM tool_executions WHERE operation = 'prune' AND collection = 'logs'")" "tac: the prune is audited with its count"
"$ORCHFS" logs prune --older-than soon --schema tac --db "$FDB" 2>/dev/null
check_rc 2 $? "tac: a bad age is a usage error"

# --- orc: .orc/orc.db ------------------------------------------------------
FDB=$F/orc/.orc/orc.db
mkdir -p "$F/orc/.orc"
build orc "$FDB"
before=$(schema "$FDB")
last=$(fq "SELECT current_value FROM sequences WHERE name = 'task'")
mount_fs --schema orc "$FDB"
check_eq "$(fq "SELECT id FROM tasks ORDER BY id")" "$(ls "$MNT/tasks" | grep '^TASK-')" "orc: tasks"
t1=$(fq "SELECT task_id FROM transcripts GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")
check_eq "$(fq "SELECT count(*) FROM transcripts WHERE task_id = '$t1'")" "$(wc -l <"$MNT/tasks/$t1/transcript.jsonl")" "orc: transcript rows"
ts=$(fq "SELECT timestamp FROM transcripts WHERE task_id = '$t1' ORDER BY id LIMIT 1")
check_eq "$(date -u -d "@$((ts / 1000))" +%Y-%m-%dT%H:%M:%S)" "$(head -1 "$MNT/tasks/$t1/transcript.jsonl" | jq -r .timestamp | cut -c1-19)" "orc: millisecond times"
check_eq OK "$(echo '{"title":"made through the mount","weight":"small"}' | close_errno "$MNT/tasks/new")" "orc: create"
want=$(printf 'TASK-%03d' $((last + 1)))
check_eq "$want" "$(fq "SELECT id FROM tasks WHERE title = 'made through the mount'")" "orc: the next key from orc's own sequence"
check_eq "$((last + 1))" "$(fq "SELECT current_value FROM sequences WHERE name = 'task'")" "orc: sequences.task kept in step"
check_eq "1" "$(fq "SELECT created_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]Z' FROM tasks WHERE id = '$want'")" "orc: RFC 3339 times"
echo '{"phase":"implement","session_id":"s1","type":"assistant","content":"orchfs appended this quokka line"}' >>"$MNT/tasks/$want/transcript.jsonl" || bad "orc: >> transcript"
check_eq "1" "$(fq "SELECT count(*) FROM transcripts_fts WHERE transcripts_fts MATCH 'quokka'")" "orc: orc's FTS triggers indexed it"
check_eq "$want" "$(jq -r .task_id "$MNT/tasks/search/quokka" 2>/dev/null | head -1)" "orc: search through the mount"
check_eq EINVAL "$(echo '{"status":"done-ish"}' | close_errno "$MNT/tasks/$want/task.json")" "orc: a status outside the set"
# attachments: the stored files, byte for byte, read-only
att=$(fq "SELECT task_id || '/attachments/' || filename FROM task_attachments WHERE data IS NOT NULL ORDER BY length(data) DESC LIMIT 1")
fq "SELECT writefile('$T/att.bin', data) FROM task_attachments WHERE task_id || '/attachments/' || filename = '$att'" >/dev/null
cmp -s "$T/att.bin" "$MNT/tasks/$att" || bad "orc: tasks/$att is not the stored bytes"
check_eq "$(stat -c %s "$T/att.bin")" "$(stat -c %s "$MNT/tasks/$att")" "orc: an attachment's size"
check_eq EROFS "$(echo x | close_errno "$MNT/tasks/$att")" "orc: attachments are read-only"
umount_fs || bad "orc: unmount"
check_eq "$before" "$(schema "$FDB")" "orc: schema untouched"
check_eq ok "$(fq "PRAGMA integrity_check")" "orc: integrity"

# a tool that renames a column while mounted (its own migration): reads fail
# with EIO and say why; they never show the column's name as its value
mount_fs --schema orc "$FDB"
k=$(fq "SELECT id FROM tasks ORDER BY id LIMIT 1")
check_eq "$(fq "SELECT weight FROM tasks WHERE id = '$k'")" "$(jq -r .weight "$MNT/tasks/$k/task.json")" "orc: weight before the rename"
fq "ALTER TABLE tasks RENAME COLUMN weight TO size"
out=$(cat "$MNT/tasks/$k/task.json" 2>&1) && bad "orc: a read after a column was renamed succeeded: $out"
check_contains "$out" "Input/output error" "orc: a read after a column was renamed"
out=$(jq -r .weight "$MNT/tasks.jsonl" 2>&1) && bad "orc: tasks.jsonl after a column was renamed: $(head -c 200 <<<"$out")"
check_contains "$(cat "$T/daemon.err")" "no such column: weight" "orc: the daemon's log says why"
umount_fs || bad "orc: unmount after the rename"
fq "ALTER TABLE tasks RENAME COLUMN size TO weight"

# the sidecar removed while mounted: changes are refused (none goes unaudited
# into a file nobody can see); a remount makes a new one
mount_fs --schema orc "$FDB"
k=$(fq "SELECT id FROM tasks ORDER BY id LIMIT 1")
w0=$(fq "SELECT weight FROM tasks WHERE id = '$k'")
rm "${FDB%.db}.orchfs.db" "${FDB%.db}.orchfs.db-wal" "${FDB%.db}.orchfs.db-shm" 2>/dev/null
check_eq ENOENT "$(echo '{"weight":"large"}' | close_errno "$MNT/tasks/$k/task.json")" "orc: a save with the sidecar removed"
check_eq "$w0" "$(fq "SELECT weight FROM tasks WHERE id = '$k'")" "orc: the refused save changed nothing"
check_contains "$(cat "$MNT/tasks/$k/.error")" "was removed while mounted: changes are refused" "orc: .error says why"
check_eq "$k" "$(jq -r .id "$MNT/tasks/$k/task.json")" "orc: the tool's tables are still read"
check_contains "$(cat "$T/daemon.err")" "was removed while mounted: the tool's tables are still read, changes are refused" \
	"orc: the daemon's log says so"
umount_fs || bad "orc: unmount with the sidecar removed"
mount_fs --schema orc "$FDB"
check_eq OK "$(echo '{"weight":"large"}' | close_errno "$MNT/tasks/$k/task.json")" "orc: a save after the remount"
check_eq 1 "$(side "SELECT count(*) FROM tool_executions WHERE entity_key = '$k' AND status = 'success'")" \
	"orc: audited in the new sidecar"
umount_fs || bad "orc: unmount after the new sidecar"

# a file that is not what the mapping says is refused at mount time, clearly
out=$("$ORCHFS" mount -f --schema tac "$FDB" "$MNT" 2>&1)
check_rc 1 $? "mounting an orc.db as tac"
check_contains "$out" "does not match its mapping" "a mismatched schema"
is_mounted && bad "a mismatched schema was mounted"
exit 0
