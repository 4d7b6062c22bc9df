#!/bin/bash
# trash.sh - soft deletes (deleted_at): rm moves an entity to .trash/, which
# tools walking the tree do not see; mv brings it back; rm there removes it
# for good; undo restores; keys in the trash stay taken, but for the save
# of a tool that removed the file and makes it again.
. "$(dirname "$0")/lib.sh"

mount_fs
B=$MNT/bugs
for i in 1 2 3; do
	echo "{\"title\":\"bug $i quokka\",\"status\":\"open\",\"priority\":$i}" >"$B/new" || fail "create bug $i"
done
mkdir "$MNT/tasks/TASK-001" || fail "mkdir a task"
echo '{"role":"user","type":"user","content":"hello"}' >>"$MNT/tasks/TASK-001/transcript.jsonl" || fail "transcript"
ln -s ../../../bugs/BUG-002.json "$MNT/tasks/TASK-001/bugs/BUG-002" || fail "link"
before=$(cat "$B/BUG-002.json")

note "rm: out of the collection, its views, its stream and grep -r; into .trash/"
rm "$B/BUG-002.json" || fail "rm"
check_eq "delete|success" "$(sql "SELECT operation || '|' || status FROM tool_executions ORDER BY id DESC LIMIT 1")" "audited"
check_eq "1" "$(sql "SELECT count(*) FROM bugs WHERE id = 'BUG-002' AND deleted_at IS NOT NULL")" "the row is kept, marked"
[ -e "$B/BUG-002.json" ] && bad "still there"
check_eq "BUG-001.json BUG-003.json" "$(ls "$B" | grep json | tr '\n' ' ' | sed 's/ $//')" "ls"
check_eq "BUG-001 BUG-003" "$(jq -r .id "$MNT/bugs.jsonl" | tr '\n' ' ' | sed 's/ $//')" "bugs.jsonl"
check_eq "" "$(ls "$B/by-priority/2" 2>/dev/null)" "the by-priority view"
check_eq "" "$(grep -rl quokka "$B" | grep BUG-002)" "grep -r does not find it"
check_eq "" "$(ls -A "$B" | grep trash)" ".trash is not listed"
check_eq "" "$(ls "$MNT/tasks/TASK-001/bugs")" "a task's link to it is not listed"
check_eq "BUG-002.json" "$(ls "$B/.trash")" "ls .trash"
check_eq "$(echo "$before" | jq -S 'del(.revision, .updated_at)')" "$(jq -S 'del(.revision, .updated_at)' "$B/.trash/BUG-002.json")" "the document in .trash/"
check_eq 444 "$(stat -c %a "$B/.trash/BUG-002.json")" ".trash/ files are read-only"
check_eq EROFS "$(echo '{"priority":1}' | close_errno "$B/.trash/BUG-002.json")" "no writes in .trash/"

note "new skips a key in the trash"
echo '{"title":"bug 4"}' >"$B/new" || fail "create bug 4"
check_eq "BUG-004" "$(cat "$B/new")" "new skips a key in .trash/"

note "mv restores it, links and all"
mv "$B/.trash/BUG-002.json" "$B/" || bad "mv restores"
check_eq "$(echo "$before" | jq -S 'del(.revision, .updated_at)')" "$(jq -S 'del(.revision, .updated_at)' "$B/BUG-002.json")" "restored as it was"
check_eq "" "$(sql "SELECT deleted_at FROM bugs WHERE id = 'BUG-002'")" "deleted_at cleared"
check_eq "BUG-002" "$(ls "$MNT/tasks/TASK-001/bugs")" "the link is back"
check_eq "" "$(ls "$B/.trash")" ".trash is empty"
mv "$B/.trash/BUG-003.json" "$B/" 2>/dev/null && bad "mv of what is not in the trash"

note "undo of a delete restores from .trash/"
rm "$B/BUG-003.json" || fail "rm BUG-003"
D=$(last_audit)
"$ORCHFS" undo "$D" >/dev/null || bad "orchfs undo $D"
check_eq "bug 3 quokka" "$(jq -r .title "$B/BUG-003.json")" "undone"
check_eq "" "$(sql "SELECT deleted_at FROM bugs WHERE id = 'BUG-003'")" "undo cleared deleted_at"

note "rm in .trash/ removes for good; the audit keeps the document"
rm "$B/BUG-003.json" && rm "$B/.trash/BUG-003.json" || bad "rm, then rm from .trash/"
check_eq 0 "$(sql "SELECT count(*) FROM bugs WHERE id = 'BUG-003'")" "gone for good"
check_eq "bug 3 quokka" "$(sql "SELECT before_json ->> 'title' FROM tool_executions WHERE operation = 'purge' AND entity_key = 'BUG-003'")" "the purge is audited with the document"
rm "$B/.trash/BUG-003.json" 2>/dev/null && bad "rm of what is not in the trash"

note "undo of a purge makes it again; undo of a restore puts it back in .trash/"
P=$(sql "SELECT max(id) FROM tool_executions WHERE operation = 'purge' AND entity_key = 'BUG-003'")
"$ORCHFS" undo "$P" >/dev/null || bad "orchfs undo of the purge"
check_eq "bug 3 quokka" "$(jq -r .title "$B/BUG-003.json")" "the purged bug is back"
rm "$B/BUG-003.json" && mv "$B/.trash/BUG-003.json" "$B/" || bad "rm, then mv back"
R=$(last_audit)
check_eq restore "$(sql "SELECT operation FROM tool_executions WHERE id = $R")" "the restore's audit row"
"$ORCHFS" undo "$R" >/dev/null || bad "orchfs undo of the restore"
check_eq "BUG-003.json" "$(ls "$B/.trash")" "undo of the restore put it back in .trash/"
mv "$B/.trash/BUG-003.json" "$B/" || bad "restore again"

note "a trashed name is taken: another process's create of it is EEXIST, and changes nothing"
rm "$B/BUG-001.json" || bad "rm BUG-001"
check_eq EEXIST "$(echo '{"title":"a new bug 1"}' | close_errno "$B/BUG-001.json")" "a create of a trashed name"
echo '{"title":"from another disk"}' >"$T/BUG-001.json"
mv "$T/BUG-001.json" "$B/BUG-001.json" 2>/dev/null && bad "mv from another file system onto a trashed name"
check_eq "BUG-001.json" "$(ls "$B/.trash")" "the trashed bug stays in .trash/"
check_eq "bug 1 quokka" "$(jq -r .title "$B/.trash/BUG-001.json")" "as it was"
check_contains "$(cat "$B/.error")" "BUG-001 is in bugs/.trash" ".error says why"
check_eq 0 "$(sql "SELECT count(*) FROM tool_executions WHERE operation = 'create' AND entity_key = 'BUG-001' AND status = 'success' AND id > (SELECT max(id) FROM tool_executions WHERE operation = 'delete' AND entity_key = 'BUG-001')")" "no create succeeded"
mv "$B/.trash/BUG-001.json" "$B/" || bad "restore BUG-001"

note "a tool that saves by removing the file and making it again (mv from another file system) edits the entity"
ln -s ../../../bugs/BUG-003.json "$MNT/tasks/TASK-001/bugs/BUG-003" || fail "link BUG-003"
rev=$(jq .revision "$B/BUG-003.json")
created=$(jq -r .created_at "$B/BUG-003.json")
jq '.title = "bug 3, saved by mv" | .priority = 5' "$B/BUG-003.json" >"$T/BUG-003.json" || fail "jq"
mv "$T/BUG-003.json" "$B/BUG-003.json" || bad "mv from another file system onto the entity"
check_eq "bug 3, saved by mv|5" "$(jq -r '.title + "|" + (.priority | tostring)' "$B/BUG-003.json")" "the edit"
check_eq "$created" "$(jq -r .created_at "$B/BUG-003.json")" "the same entity: created_at kept"
[ "$(jq .revision "$B/BUG-003.json")" -gt "$rev" ] || bad "the revision went on from $rev"
check_eq "BUG-002 BUG-003" "$(ls "$MNT/tasks/TASK-001/bugs" | paste -sd' ')" "its link is kept"
check_eq "" "$(ls "$B/.trash")" "nothing left in .trash/"
check_eq "delete|mv create|mv" "$(sql "SELECT operation || '|' || tool_name FROM (SELECT id, operation, tool_name FROM tool_executions WHERE entity_key = 'BUG-003' AND status = 'success' ORDER BY id DESC LIMIT 2) AS t ORDER BY id" | paste -sd' ')" "audited: mv's delete, then its create"
check_eq 1 "$(sql "SELECT count(*) FROM tool_executions WHERE operation = 'create' AND entity_key = 'BUG-003' AND arguments -> 'restores_trash' = 'true'")" "the create says it restored the trashed bug"
check_eq "bug 3 quokka" "$(sql "SELECT before_json ->> 'title' FROM tool_executions WHERE id = (SELECT max(id) FROM tool_executions WHERE operation = 'create' AND entity_key = 'BUG-003')")" "and what it was"

note "the same save from a stale copy is refused, and the entity can be restored"
jq '.title = "from a stale copy"' "$B/BUG-003.json" >"$T/stale.json" || fail "jq"
echo '{"priority":4}' >"$B/BUG-003.json" || fail "a newer save"
mv "$T/stale.json" "$B/BUG-003.json" 2>/dev/null && bad "mv of a stale copy"
check_contains "$(cat "$B/.error")" "stale edit" ".error says it was stale"
mv "$B/.trash/BUG-003.json" "$B/" || bad "restore BUG-003"
check_eq "bug 3, saved by mv|4" "$(jq -r '.title + "|" + (.priority | tostring)' "$B/BUG-003.json")" "the newer save kept"

note "a save by delete and create is refused if the entity changed in between (restored, edited, deleted again)"
check_eq "EEXIST bug 4, edited by another" "$(python3 - "$B" <<'PY'
import errno, os, subprocess, sys
b = sys.argv[1]
doc = open(b + "/BUG-004.json").read()
os.unlink(b + "/BUG-004.json")                      # this process moves it to .trash/
subprocess.run(["mv", b + "/.trash/BUG-004.json", b + "/"], check=True)
with open(b + "/BUG-004.json", "w") as f:          # another edit, then another delete
    f.write('{"title":"bug 4, edited by another"}')
subprocess.run(["rm", b + "/BUG-004.json"], check=True)
try:
    with open(b + "/BUG-004.json", "w") as f:      # this process's old copy
        f.write(doc)
    print("OK")
except OSError as e:
    print(errno.errorcode[e.errno], end=" ")
print(__import__("json").load(open(b + "/.trash/BUG-004.json"))["title"])
PY
)" "the old copy does not overwrite the newer edit"
mv "$B/.trash/BUG-004.json" "$B/" || bad "restore BUG-004"
echo '{"title":"bug 4"}' >"$B/BUG-004.json" || bad "retitle BUG-004"

note "mv of one entity file onto another leaves the other in .trash/, whole"
mv "$B/BUG-003.json" "$B/BUG-004.json" 2>/dev/null && bad "mv BUG-003 onto BUG-004"
check_eq "bug 3, saved by mv" "$(jq -r .title "$B/BUG-003.json")" "BUG-003 unchanged"
check_eq "bug 4" "$(jq -r .title "$B/.trash/BUG-004.json" 2>/dev/null || jq -r .title "$B/BUG-004.json")" "BUG-004 kept (in .trash/ or in place)"
[ -e "$B/.trash/BUG-004.json" ] && { mv "$B/.trash/BUG-004.json" "$B/" || bad "restore BUG-004"; }

note "nothing can be made in .trash/"
a0=$(last_audit)
check_eq EROFS "$(echo '{"title":"x"}' | close_errno "$B/.trash/BUG-009.json")" "a new file in .trash/"
check_eq "create|failure|/bugs/.trash/BUG-009.json" "$(sql "SELECT operation || '|' || status || '|' || path FROM tool_executions WHERE id > $a0")" \
	"the refused create in .trash/ is audited"
mv "$B/BUG-004.json" "$B/.trash/" 2>/dev/null && bad "mv into .trash/"
check_eq EROFS "$(python3 -c 'import errno, os, sys
try:
    os.mkdir(sys.argv[1]); print("OK")
except OSError as e:
    print(errno.errorcode[e.errno])' "$B/.trash/x")" "mkdir in .trash/"
check_eq "bug 4" "$(jq -r .title "$B/BUG-004.json")" "mv into .trash/ changed nothing"

note "rm -r and rm -rf of a task: refused, links kept (rm takes task.json first, then each link alone)"
mkdir "$MNT/tasks/TASK-002" || fail "mkdir TASK-002"
ln -s ../../TASK-002 "$MNT/tasks/TASK-001/deps/TASK-002" || fail "a dependency link"
check_eq "BUG-002 BUG-003 TASK-002" "$(ls "$MNT/tasks/TASK-001/bugs" "$MNT/tasks/TASK-001/deps" | grep -v : | grep . | tr '\n' ' ' | sed 's/ $//')" "the links before"
a0=$(sql "SELECT max(id) FROM tool_executions")
for flags in -r -rf; do
	rm $flags "$MNT/tasks/TASK-001" 2>"$T/rm.err" && bad "rm $flags of a task succeeded"
	check_eq "BUG-002 BUG-003 TASK-002" "$(ls "$MNT/tasks/TASK-001/bugs" "$MNT/tasks/TASK-001/deps" | grep -v : | grep . | tr '\n' ' ' | sed 's/ $//')" "rm $flags: the links kept"
	check_contains "$(cat "$T/rm.err")" "cannot remove '$MNT/tasks/TASK-001/deps/TASK-002': Operation not permitted" "rm $flags: the link refused"
done
check_eq 0 "$(sql "SELECT count(*) FROM tool_executions WHERE id > $a0 AND status = 'success'")" "nothing removed, by the audit log"
check_contains "$(cat "$MNT/tasks/TASK-001/deps/.error")" "TASK-002: kept: this process could not remove the entity's own file" "deps/.error says why"
rm "$MNT/tasks/TASK-001/deps/TASK-002" || bad "a link alone is still removed by rm"
check_eq "" "$(ls "$MNT/tasks/TASK-001/deps")" "the link removed alone"
rmdir "$MNT/tasks/TASK-002" && rm "$MNT/tasks/.trash/TASK-002.json" || bad "rmdir TASK-002, then rm from .trash/"

note "a task: rmdir to .trash/ keeps its transcript until it is removed for good"
rmdir "$MNT/tasks/TASK-001" || fail "rmdir TASK-001"
check_eq 1 "$(sql "SELECT count(*) FROM transcripts WHERE task_id = 'TASK-001'")" "the transcript is kept"
check_eq "TASK-001.json" "$(ls "$MNT/tasks/.trash")" "tasks/.trash"
mkdir "$MNT/tasks/TASK-001" 2>/dev/null && bad "mkdir of a trashed task's name"
check_eq 1 "$(sql "SELECT count(*) FROM transcripts WHERE task_id = 'TASK-001'")" "mkdir did not take the trashed task's transcript"
mv "$MNT/tasks/.trash/TASK-001.json" "$MNT/tasks/TASK-001" || bad "mv restores a directory entity"
[ -f "$MNT/tasks/TASK-001/task.json" ] || bad "the task is back"
check_eq "hello" "$(jq -r .content "$MNT/tasks/TASK-001/transcript.jsonl")" "with its transcript"
rmdir "$MNT/tasks/TASK-001" && rm "$MNT/tasks/.trash/TASK-001.json" || bad "rmdir, then rm from .trash/"
check_eq "0|0" "$(sql "SELECT (SELECT count(*) FROM tasks), (SELECT count(*) FROM transcripts)")" "task and transcript gone"
exit 0
