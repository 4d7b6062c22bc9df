#!/bin/bash
# editors.sh - saving from vim (defaults, and -u NONE with backup and
# writebackup), nano and emacs, driven for real: each save ends with exactly
# the intended change, one audit row, no scratch file left, relations intact;
# a bad save is refused with the reason in .error, the buffer survives and a
# corrected save succeeds; a stale buffer is refused.
. "$(dirname "$0")/lib.sh"
export ORCHFS_SCRATCH_GRACE=1 ORCHFS_SCRATCH_MB=8
mount_fs
TM="tmux -L orchfs-$$"
cleanup_tmux() { $TM kill-server 2>/dev/null || true; }
FIXTURE_CLEANUP=cleanup_tmux

echo '{"title":"Login fails","priority":3,"labels":["auth"]}' > "$MNT/bugs/new"
echo '{"title":"Second","priority":4}' > "$MNT/bugs/new"
mkdir "$MNT/tasks/TASK-001"
ln -s ../../../bugs/BUG-001.json "$MNT/tasks/TASK-001/bugs/BUG-001"
assert_eq "1" "$(sql "SELECT count(*) FROM task_bugs")" "link made"

# row_except FIELD: the bug row without the field we mean to change, and
# without revision/updated_at, to prove nothing else changed.
row() { sql "SELECT id, title, description, status, priority, severity, labels, related_files, created_at FROM bugs WHERE id='$1'"; }
scratch_left() { ls -A "$MNT/bugs" | grep -v -E '^(BUG-00[0-9]\.json|by-priority|by-status|new|\.error)$' || true; }

wait_no_scratch() { # scratch files go once their tool exited and the grace (1 s) passed
	for _ in $(seq 1 60); do
		[ -z "$(scratch_left)" ] && return 0
		sleep 0.1
	done
}

# Start an editor in tmux on a file and wait until it shows it.
edit() { # edit WAIT-TEXT COMMAND...
	local wait=$1
	shift
	cleanup_tmux
	$TM new-session -d -x 160 -y 45 "cd '$MNT/bugs' && $*"
	for _ in $(seq 1 400); do
		$TM capture-pane -p 2>/dev/null | grep -q -- "$wait" && return 0
		sleep 0.05
	done
	$TM capture-pane -p >&2
	fail "the editor did not start: $*"
}
screen_has() { # screen_has TEXT: wait for TEXT on the screen
	for _ in $(seq 1 400); do
		$TM capture-pane -p | grep -q -- "$1" && return 0
		sleep 0.05
	done
	$TM capture-pane -p >&2
	fail "screen never showed [$1]"
}
wait_gone() { # wait until the editor's session ended
	for _ in $(seq 1 400); do
		$TM has-session 2>/dev/null || return 0
		sleep 0.05
	done
	fail "the editor did not exit"
}

note "vim with its defaults (swap file, backup by rename) in tmux"
before=$(row BUG-001); audits=$(audit_count)
edit '"priority": 3' vim BUG-001.json
$TM send-keys ':%s/"open"/"in_progress"/' Enter ':w' Enter
screen_has 'written'
$TM send-keys ':q' Enter
wait_gone
assert_eq "in_progress" "$(sql "SELECT status FROM bugs WHERE id='BUG-001'")" "vim changed the status"
assert_eq "$(echo "$before" | sed 's/|open|/|in_progress|/')" "$(row BUG-001)" "vim changed only the status"
assert_eq "$((audits + 1))" "$(audit_count)" "one audit row for the vim save"
assert_eq "vim|success" "$(sql "SELECT tool_name, status FROM tool_executions ORDER BY id DESC LIMIT 1")" "audited as vim"
assert_eq "" "$(scratch_left)" "no swap, backup or probe file left after vim"
assert_eq "1" "$(sql "SELECT count(*) FROM task_bugs WHERE bug_id='BUG-001'")" "the relation survived vim's backup-by-rename"

note "vim -u NONE with backup and writebackup on, ex mode"
audits=$(audit_count)
vim -u NONE -N -i NONE -es -c 'set backup writebackup' -c '%s/"priority": 3/"priority": 2/' -c 'wq' "$MNT/bugs/BUG-001.json" \
	|| fail "vim -u NONE exited $?"
assert_eq "2" "$(sql "SELECT priority FROM bugs WHERE id='BUG-001'")" "vim -u NONE saved"
assert_eq "$((audits + 1))" "$(audit_count)" "one audit row for vim -u NONE"
assert_eq "BUG-001.json~" "$(scratch_left)" "vim kept its backup, as 'set backup' asks"
wait_no_scratch
assert_eq "" "$(scratch_left)" "vim's backup forgotten once vim exited (grace 1 s)"
assert_eq "1" "$(sql "SELECT count(*) FROM task_bugs WHERE bug_id='BUG-001'")" "relation kept after vim -u NONE"

note "vim: a bad save is refused, the buffer is kept, the corrected save succeeds"
before=$(row BUG-001); audits=$(audit_count); rev=$(sql "SELECT revision FROM bugs WHERE id='BUG-001'")
edit '"priority": 2' vim BUG-001.json
$TM send-keys 'gg' 'x' ':w' Enter
screen_has 'E'
assert_eq "$before" "$(row BUG-001)" "the bad save changed nothing"
assert_eq "$rev" "$(sql "SELECT revision FROM bugs WHERE id='BUG-001'")" "revision unchanged by the bad save"
assert_contains "$(cat "$MNT/bugs/.error")" "BUG-001.json: invalid JSON at line" ".error after the bad vim save"
assert_eq "$((audits + 1))" "$(audit_count)" "one audit row for the refused vim save"
assert_eq "failure|vim" "$(sql "SELECT status, tool_name FROM tool_executions ORDER BY id DESC LIMIT 1")" "refusal audited"
assert_eq "1" "$(sql "SELECT count(*) FROM task_bugs WHERE bug_id='BUG-001'")" "relation kept after the refused save"
$TM send-keys Enter 'u' ':%s/"priority": 2/"priority": 5/' Enter ':w' Enter
screen_has 'written'
$TM send-keys ':q' Enter
wait_gone
assert_eq "5" "$(sql "SELECT priority FROM bugs WHERE id='BUG-001'")" "the corrected vim save landed"
[ -e "$MNT/bugs/.error" ] && fail ".error should be gone after the good save: $(cat "$MNT/bugs/.error")"
assert_eq "" "$(scratch_left)" "nothing left after the failed and the good save"
assert_eq "1" "$(sql "SELECT count(*) FROM task_bugs WHERE bug_id='BUG-001'")" "relation kept"
assert_eq "$(echo "$before" | cut -d'|' -f9)" "$(sql "SELECT created_at FROM bugs WHERE id='BUG-001'")" "the row was never recreated"

note "vim -es (batch): a refused save's reason stays in .error after vim writes back what it read"
before=$(row BUG-001)
vim -u NONE -es -c '%s/"priority": 5/"priority": 9/' -c wq "$MNT/bugs/BUG-001.json" </dev/null >/dev/null 2>&1 &&
	fail "vim -es saved a priority out of range"
assert_eq "$before" "$(row BUG-001)" "the refused batch save changed nothing"
assert_eq "success|unchanged" "$(sql "SELECT status, result FROM tool_executions ORDER BY id DESC LIMIT 1")" \
	"vim wrote back what it read: a save that changes nothing"
assert_contains "$(cat "$MNT/bugs/.error")" "BUG-001.json: priority: must be at most" ".error keeps the refusal's reason"
echo '{"priority":4}' | close_errno "$MNT/bugs/BUG-001.json" >/dev/null
[ -e "$MNT/bugs/.error" ] && fail ".error should be gone after a save that changes the row: $(cat "$MNT/bugs/.error")"
echo '{"priority":5}' | close_errno "$MNT/bugs/BUG-001.json" >/dev/null

note "vim warns when the row changed behind its buffer, and the stale save is refused"
edit '"priority": 5' vim BUG-001.json
sleep 1.1 # a new second, so the change is visible in st_mtime even at second precision
sql "UPDATE bugs SET title='Changed elsewhere' WHERE id='BUG-001'"
$TM send-keys ':%s/"severity": null/"severity": "high"/' Enter ':w' Enter
screen_has 'changed since reading'
$TM send-keys 'y' Enter
screen_has 'E'
assert_eq "Changed elsewhere|" "$(sql "SELECT title, coalesce(severity,'') FROM bugs WHERE id='BUG-001'")" "the stale vim save did not overwrite the newer row"
assert_contains "$(cat "$MNT/bugs/.error")" "stale edit" ".error names the stale edit"
$TM send-keys Enter ':q!' Enter
wait_gone
assert_eq "1" "$(sql "SELECT count(*) FROM task_bugs WHERE bug_id='BUG-001'")" "relation kept after the stale save"

note "nano (with Debian's locking) in tmux"
before=$(row BUG-002); audits=$(audit_count)
edit 'Second' nano BUG-002.json
$TM send-keys C-w '"title"' Enter
$TM send-keys C-e BSpace BSpace BSpace BSpace BSpace BSpace BSpace BSpace BSpace '"Renamed",'
$TM send-keys C-o
screen_has 'File Name to Write'
$TM send-keys Enter
screen_has 'Wrote'
$TM send-keys C-x
wait_gone
assert_eq "Renamed" "$(sql "SELECT title FROM bugs WHERE id='BUG-002'")" "nano saved"
assert_eq "$(echo "$before" | sed 's/|Second|/|Renamed|/')" "$(row BUG-002)" "nano changed only the title"
assert_eq "$((audits + 1))" "$(audit_count)" "one audit row for nano"
assert_eq "nano" "$(sql "SELECT tool_name FROM tool_executions ORDER BY id DESC LIMIT 1")" "audited as nano"
assert_eq "" "$(scratch_left)" "no nano lock file left"

note "emacs --batch with its default backups and lock files"
before=$(row BUG-002); audits=$(audit_count)
emacs --batch -Q --eval '(setq make-backup-files t create-lockfiles t)' "$MNT/bugs/BUG-002.json" \
	--eval '(progn (goto-char (point-min)) (re-search-forward "\"priority\": 4") (replace-match "\"priority\": 1") (save-buffer))' \
	2>"$T/emacs.err" || { cat "$T/emacs.err"; fail "emacs exited $?"; }
assert_eq "1" "$(sql "SELECT priority FROM bugs WHERE id='BUG-002'")" "emacs saved"
assert_eq "$(echo "$before" | sed 's/|4|/|1|/')" "$(row BUG-002)" "emacs changed only the priority"
assert_eq "$((audits + 1))" "$(audit_count)" "one audit row for emacs"
assert_eq "emacs" "$(sql "SELECT tool_name FROM tool_executions ORDER BY id DESC LIMIT 1")" "audited as emacs"

note "emacs: a bad save is refused and reported"
before=$(row BUG-002)
if emacs --batch -Q "$MNT/bugs/BUG-002.json" --eval '(progn (goto-char (point-min)) (insert "garbage") (save-buffer))' 2>"$T/emacs.err"; then
	fail "emacs reported success for an invalid save"
fi
assert_eq "$before" "$(row BUG-002)" "the bad emacs save changed nothing"
assert_contains "$(cat "$MNT/bugs/.error")" "BUG-002.json: invalid JSON" ".error after emacs"

note "what emacs left (its BUG-002.json~ backup) goes once emacs has exited"
wait_no_scratch
assert_eq "" "$(scratch_left)" "emacs's backup forgotten after its grace period"
assert_eq "1" "$(sql "SELECT count(*) FROM bugs WHERE id='BUG-002'")" "the bug itself is still there"

note "a second and third save from one editor session land too (the buffer's revision is from before its own first save)"
emacs --batch -Q "$MNT/bugs/BUG-002.json" \
	--eval '(progn (goto-char (point-min)) (re-search-forward "\"priority\": 1") (replace-match "\"priority\": 2") (save-buffer)
	(goto-char (point-min)) (re-search-forward "\"Renamed\"") (replace-match "\"Renamed twice\"") (save-buffer))' \
	2>"$T/emacs.err" || { cat "$T/emacs.err"; fail "emacs's second save failed ($?)"; }
assert_eq "2|Renamed twice" "$(sql "SELECT priority, title FROM bugs WHERE id='BUG-002'")" "emacs's two saves landed"
wait_sql() { # wait_sql WANT SQL: until sqlite3 says WANT (at most 20 s)
	for _ in $(seq 1 400); do
		[ "$(sql "$2")" = "$1" ] && return 0
		sleep 0.05
	done
	$TM capture-pane -p >&2
	fail "sqlite3 never said [$1] for $2: [$(sql "$2")]"
}
edit '"priority": 2' vim BUG-002.json
$TM send-keys ':%s/"priority": 2/"priority": 3/' Enter ':w' Enter
wait_sql 3 "SELECT priority FROM bugs WHERE id='BUG-002'"
$TM send-keys ':%s/"priority": 3/"priority": 4/' Enter ':w' Enter
wait_sql 4 "SELECT priority FROM bugs WHERE id='BUG-002'"
$TM send-keys ':%s/"Renamed twice"/"Renamed in vim"/' Enter ':w' Enter
wait_sql "4|Renamed in vim" "SELECT priority, title FROM bugs WHERE id='BUG-002'"
$TM send-keys ':q' Enter
wait_gone
if on_pg; then other=(psql -X -q -v ON_ERROR_STOP=1 -d "$DB" -c); else other=(sqlite3 -bail "$DB"); fi
# save.py: save(path, doc) writes doc whole, as an editor's save; OK or the errno's name
cat > "$T/save.py" <<'PY'
import errno, json
def save(path, doc):
    try:
        with open(path, "w") as f:
            f.write(json.dumps(doc))
        return "OK"
    except OSError as e:
        return errno.errorcode[e.errno]
PY
out=$(PYTHONPATH=$T python3 - "$MNT/bugs/BUG-002.json" "${other[@]}" <<'PY'
import json, subprocess, sys
from save import save
path, other = sys.argv[1], sys.argv[2:]
doc = json.load(open(path))
doc["priority"] = 5
first = save(path, doc)
doc["description"] = "its second save"
second = save(path, doc)
subprocess.run(other + ["UPDATE bugs SET severity = 'low' WHERE id = 'BUG-002'"], check=True)
doc["priority"] = 1
print(first, second, save(path, doc))
PY
)
assert_eq "OK OK ESTALE" "$out" "one process's saves in a row land, but not over another writer's change in between"
# one process, two reads, two saves: the second read's save would undo the
# first's change, which it does not hold: refused as stale, as from two processes
out=$(PYTHONPATH=$T python3 - "$MNT/bugs/BUG-002.json" <<'PY'
import json, sys
from save import save
path = sys.argv[1]
a = json.load(open(path))
b = json.load(open(path))
a["status"] = "fixed"
b["assignee"] = "bob"
print(save(path, a), save(path, b))
PY
)
assert_eq "OK ESTALE" "$out" "one process's two read-modify-write cycles: the second is stale"
assert_eq "fixed|" "$(sql "SELECT status || '|' || coalesce(assignee, '') FROM bugs WHERE id='BUG-002'")" "the first cycle's change is kept"
assert_eq "5|its second save|low" "$(sql "SELECT priority, description, severity FROM bugs WHERE id='BUG-002'")" \
	"the other writer's change is kept"
wait_no_scratch # emacs's and vim's backups

note "vim killed with its buffer unsaved: its swap file stays for vim -r (other scratch files go after 1 s)"
edit '"Renamed in vim"' vim BUG-002.json
$TM send-keys ':%s/"Renamed in vim"/"never saved, but recovered"/' Enter ':preserve' Enter
screen_has 'preserved'
vimpid=$(pgrep -n -x vim)
kill -9 "$vimpid"
wait_gone
sleep 2.2 # past the grace of other scratch files (1 s), and a listing sweeps
swp=$(ls -A "$MNT/bugs" | grep -x '\.BUG-002\.json\.sw[a-p]')
[ -n "$swp" ] || bad "vim's swap file went with its vim: [$(ls -A "$MNT/bugs" | tr '\n' ' ')]"
grep -aq "never saved, but recovered" "$MNT/bugs/$swp" 2>/dev/null || bad "the swap file does not hold the unsaved text"
vim -u NONE -N -i NONE -es -r "$MNT/bugs/BUG-002.json" -c "w! $T/recovered.json" -c 'q!' </dev/null >/dev/null 2>&1
check_contains "$(cat "$T/recovered.json" 2>&1)" "never saved, but recovered" "vim -r recovers the buffer"
rm -f "$MNT/bugs/$swp"
assert_eq "Renamed in vim" "$(sql "SELECT title FROM bugs WHERE id='BUG-002'")" "nothing of the unsaved buffer reached the row"

note "scratch files together hold at most ORCHFS_SCRATCH_MB (8 here): past it, ENOSPC"
head -c 6M /dev/zero > "$MNT/bugs/.big-a.tmp" || bad "6 MiB of scratch"
if head -c 4M /dev/zero > "$MNT/bugs/.big-b.tmp" 2>"$T/enospc.err"; then bad "12 MiB of scratch files were taken"; fi
check_contains "$(cat "$T/enospc.err")" "No space left on device" "the write past the limit"
rm -f "$MNT/bugs/.big-a.tmp"
head -c 4M /dev/zero > "$MNT/bugs/.big-b.tmp" || bad "4 MiB of scratch once the other went"
rm -f "$MNT/bugs/.big-b.tmp"

note "a VS Code-style save: temp file in the same directory, fsync, rename over"
audits=$(audit_count)
python3 - "$MNT/bugs" <<'PY' || fail "vscode-style save"
import json, os, sys
d = sys.argv[1]
doc = json.load(open(os.path.join(d, "BUG-002.json")))
doc["assignee"] = "sam"
tmp = os.path.join(d, "BUG-002.json.vsctmp")
with open(tmp, "w") as f:
    f.write(json.dumps(doc, indent=2) + "\n")
    f.flush()
    os.fsync(f.fileno())
os.rename(tmp, os.path.join(d, "BUG-002.json"))
PY
assert_eq "sam" "$(sql "SELECT assignee FROM bugs WHERE id='BUG-002'")" "vscode-style save"
assert_eq "$((audits + 1))" "$(audit_count)" "one audit row for the vscode-style save"
assert_eq "" "$(scratch_left)" "no .vsctmp left"

note "an in-place save (O_TRUNC, write, close), and its failing variant"
assert_eq "OK" "$(jq '.severity="low"' "$MNT/bugs/BUG-002.json" | close_errno "$MNT/bugs/BUG-002.json")" "in-place save"
assert_eq "low" "$(sql "SELECT severity FROM bugs WHERE id='BUG-002'")" "in-place save landed"
assert_eq "EINVAL" "$(jq '.color="red"' "$MNT/bugs/BUG-002.json" | close_errno "$MNT/bugs/BUG-002.json")" "unknown field refused"
assert_contains "$(cat "$MNT/bugs/.error")" 'unknown field "color"' ".error names the field"

cleanup_tmux
umount_fs || fail "clean unmount"
