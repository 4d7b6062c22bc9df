#!/bin/bash
# errors.sh - every error of SPEC §5 that exists today. Each refused change is
# checked four ways: (a) the errno of open()/write()/fsync()/close() (through
# close_errno) or the exit status and message of the shell tool, (b) the
# one-line "NAME: reason" in the directory's .error file, (c) the database is
# unchanged (a dump of every table but tool_executions), and (d) exactly one
# new audit row, with status failure or denied, that holds the reason; and the
# daemon's log names the file and the reason. A check that fails is reported
# and the test goes on, so one run lists every broken case.
. "$(dirname "$0")/lib.sh"
mount_fs



# tool_fails WHAT MESSAGE CMD...: CMD must exit non-zero and say MESSAGE on stderr.
tool_fails() {
	local what=$1 msg=$2 rc=0
	shift 2
	"$@" 2>"$T/tool.err" >/dev/null || rc=$?
	[ "$rc" -ne 0 ] || bad "$CASE: $what exited 0"
	check_contains "$(cat "$T/tool.err")" "$msg" "$CASE: $what's message"
}

# The state of the database, but for the audit table (which a refusal adds to).
TABLES=$(sql_tables tool_executions)
# shellcheck disable=SC2086
state() { sql_dump $TABLES; }

# begin NAME: a new case; remember the database, the audit log and the daemon log.
begin() {
	CASE=$1
	note "$CASE"
	S0=$(state)
	A0=$(last_audit)
	L0=$(wc -l < "$T/daemon.err")
}

unchanged() { [ "$S0" = "$(state)" ] || bad "$CASE: the database changed: $(diff <(echo "$S0") <(state) | head -5)"; }

# refused FILE REASON-ERE: (b), (c), (d) and the daemon's log for a refusal of
# FILE (relative to the mount). REASON-ERE is matched against the reason
# (the .error line after "NAME: ", and the audit row's result).
refused() {
	local file=$1 ere=$2 dir name lines n reason= rows
	dir=$(dirname "$MNT/$file")
	name=$(basename "$file")
	unchanged
	# (b) one line "NAME: reason" in .error
	lines=$(awk -v p="$name: " 'index($0, p) == 1 { print substr($0, length(p) + 1) }' "$dir/.error" 2>/dev/null)
	n=$(printf '%s' "$lines" | grep -c '^')
	if [ "$n" != 1 ]; then
		bad "$CASE: $(dirname "$file")/.error should hold one line for $name, holds: [$(cat "$dir/.error" 2>&1)]"
	elif ! grep -Eq -- "$ere" <<<"$lines"; then
		bad "$CASE: .error reason [$lines] does not match /$ere/"
	fi
	# (d) exactly one audit row, a refusal, with the reason
	rows=$(sql "SELECT status || '|' || path || '|' || coalesce(result, '') FROM tool_executions WHERE id > $A0")
	n=$(printf '%s' "$rows" | grep -c '^')
	if [ "$n" != 1 ]; then
		bad "$CASE: expected one new audit row, got $n: [$rows]"
	else
		case "$rows" in failure\|* | denied\|*) ;; *) bad "$CASE: audit row is not a refusal: [$rows]" ;; esac
		reason=${rows#*|}
		check_eq "/$file" "${reason%%|*}" "$CASE: audit row's path"
		reason=${reason#*|}
		grep -Eq -- "$ere" <<<"$reason" || bad "$CASE: audit row's reason [$reason] does not match /$ere/"
	fi
	# the daemon's log names the file and the reason (the text .error or the audit row gave)
	[ -n "$lines" ] && reason=$lines
	if [ -n "$reason" ]; then
		tail -n +$((L0 + 1)) "$T/daemon.err" | grep -F -- "/$file: " | grep -Fq -- "$reason" ||
			bad "$CASE: no daemon log line names /$file and [$reason]: [$(tail -n +$((L0 + 1)) "$T/daemon.err")]"
	else
		ere=${ere#^}
		tail -n +$((L0 + 1)) "$T/daemon.err" | grep -F -- "/$file: " | grep -Eq -- "${ere%\$}" ||
			bad "$CASE: no daemon log line names /$file and /$ere/: [$(tail -n +$((L0 + 1)) "$T/daemon.err")]"
	fi
}

B=$MNT/bugs

note "setup: two bugs, a task, through the mount"
echo '{"title":"Login fails","priority":1,"labels":["auth"]}' > "$B/new" || fail "create BUG-001"
echo '{"title":"Second bug","priority":3}' > "$B/new" || fail "create BUG-002"
mkdir "$MNT/tasks/TASK-001" || fail "mkdir TASK-001"
echo '{"title":"First task","status":"running"}' > "$MNT/tasks/TASK-001/task.json" || fail "patch TASK-001"
assert_eq "BUG-001 BUG-002" "$(sql "SELECT group_concat(id, ' ') FROM (SELECT id FROM bugs ORDER BY id) AS t")" "setup rows"
ORIG=$(cat "$B/BUG-001.json")

# --- invalid content: EINVAL from close() ---

begin "malformed JSON: EINVAL, the reason names line and column"
check_eq EINVAL "$(printf '{"title": "x",\n  "priority": }\n' | close_errno "$B/BUG-001.json")" "$CASE: close"
refused bugs/BUG-001.json 'line 2.*column [0-9]+'

begin "a JSON array instead of an object: EINVAL"
check_eq EINVAL "$(echo '[{"title":"x"}]' | close_errno "$B/BUG-001.json")" "$CASE: close"
refused bugs/BUG-001.json 'object'

begin "an unknown field: EINVAL, the reason names it"
check_eq EINVAL "$(echo '{"title":"x","colour":"red"}' | close_errno "$B/BUG-001.json")" "$CASE: close"
refused bugs/BUG-001.json 'unknown field.*colour'

begin "a wrong type (a string for the integer priority): EINVAL"
check_eq EINVAL "$(echo '{"priority":"high"}' | close_errno "$B/BUG-001.json")" "$CASE: close"
refused bugs/BUG-001.json '^priority: .*integer'

begin "a value outside the enum: EINVAL, the reason lists the set"
check_eq EINVAL "$(echo '{"status":"bogus"}' | close_errno "$B/BUG-001.json")" "$CASE: close"
refused bugs/BUG-001.json '^status: must be one of open, in_progress, fixed, wontfix, duplicate \(got "bogus"\)$'
assert_contains "$(cat "$B/.error")" 'BUG-001.json: status: must be one of open, in_progress, fixed, wontfix, duplicate (got "bogus")' "the .error line, verbatim"

begin "an integer out of range (bug priority 9): EINVAL"
check_eq EINVAL "$(echo '{"priority":9}' | close_errno "$B/BUG-001.json")" "$CASE: close"
refused bugs/BUG-001.json '^priority: .*9'

begin "changing the read-only id: EINVAL"
check_eq EINVAL "$(echo '{"id":"BUG-777","title":"x"}' | close_errno "$B/BUG-001.json")" "$CASE: close"
refused bugs/BUG-001.json '^id: .*read-only'

begin "changing the read-only created_at: EINVAL"
check_eq EINVAL "$(jq '.created_at = "2001-01-01T00:00:00.000Z"' <<<"$ORIG" | close_errno "$B/BUG-001.json")" "$CASE: close"
refused bugs/BUG-001.json '^created_at: .*read-only'

begin "a create without a required field (bugs need a title): EINVAL, no row, no file"
check_eq EINVAL "$(echo '{"priority":2}' | close_errno "$B/BUG-050.json")" "$CASE: close"
refused bugs/BUG-050.json '^title: .*required'
ls "$B" | grep -qx 'BUG-050.json' && bad "$CASE: BUG-050.json is listed after a refused create"

begin "a file of only whitespace: EINVAL"
check_eq EINVAL "$(python3 -c '
import errno, os
fd = os.open("'"$B"'/BUG-001.json", os.O_WRONLY | os.O_TRUNC)
os.write(fd, b"   \n")
os.write(fd, b"\t \n")
try:
    os.close(fd); print("OK")
except OSError as e:
    print(errno.errorcode[e.errno])')" "$CASE: close"
refused bugs/BUG-001.json 'empty'

begin "invalid UTF-8: EINVAL"
check_eq EINVAL "$(printf '{"title":"caf\xe9 \xff"}\n' | close_errno "$B/BUG-001.json")" "$CASE: close"
refused bugs/BUG-001.json 'UTF-8'

begin "a NUL byte: EINVAL"
check_eq EINVAL "$(printf '{"title":"a\0b"}\n' | close_errno "$B/BUG-001.json")" "$CASE: close"
refused bugs/BUG-001.json 'NUL'

begin "\\u0000 in a string (a NUL character, which would cut the value short): EINVAL"
check_eq EINVAL "$(echo '{"title":"nul\u0000inside"}' | close_errno "$B/BUG-001.json")" "$CASE: close"
refused bugs/BUG-001.json 'NUL character \(U\+0000\) in a string'
check_eq EINVAL "$(echo '{"labels":["a\u0000b"]}' | close_errno "$B/BUG-001.json")" "$CASE: close, in an array"

# JSON that only a lenient parser reads (cJSON's own takes each): EINVAL at the byte, nothing saved
begin "a number with a leading zero: EINVAL, the reason says where"
check_eq EINVAL "$(echo '{"priority":02}' | close_errno "$B/BUG-001.json")" "$CASE: close"
refused bugs/BUG-001.json '^invalid JSON at line 1, column 13: a number with a leading zero$'

begin "a number ending in its decimal point (3.): EINVAL"
check_eq EINVAL "$(echo '{"priority":3.}' | close_errno "$B/BUG-001.json")" "$CASE: close"
refused bugs/BUG-001.json '^invalid JSON at line 1, column 15: a number without digits after its decimal point$'

begin "a raw TAB in a string: EINVAL, line and column"
check_eq EINVAL "$(printf '{\n "title": "a\tb"\n}\n' | close_errno "$B/BUG-001.json")" "$CASE: close"
refused bugs/BUG-001.json '^invalid JSON at line 2, column 13: a raw control character'

begin "a trailing comma: EINVAL"
check_eq EINVAL "$(echo '{"labels":["a","b",]}' | close_errno "$B/BUG-001.json")" "$CASE: close"
refused bugs/BUG-001.json '^invalid JSON at line 1, column 20: a comma before \]$'

begin "half a surrogate pair (\\ud83d alone): EINVAL; a whole pair is saved"
check_eq EINVAL "$(echo '{"title":"half \ud83d"}' | close_errno "$B/BUG-001.json")" "$CASE: close"
refused bugs/BUG-001.json 'high surrogate without its low one'
echo '{"title":"caf\u00e9 \ud83d\ude00","priority":3}' > "$B/BUG-002.json" || bad "$CASE: a valid pair refused"
check_eq "café 😀|3" "$(sql "SELECT title || '|' || priority FROM bugs WHERE id = 'BUG-002'")" "$CASE: sqlite3 after a valid save"

begin "a byte order mark before the JSON (Notepad's, vim's 'bomb'): skipped, the save applied"
check_eq OK "$(printf '\xef\xbb\xbf{"priority":2}\n' | close_errno "$B/BUG-002.json")" "$CASE: close"
check_eq 2 "$(sql "SELECT priority FROM bugs WHERE id = 'BUG-002'")" "$CASE: sqlite3"

begin "an escaped backslash before u0000 is text: saved as written"
echo '{"description":"a \\u0000 b"}' > "$B/BUG-002.json" || bad "$CASE: close"
check_eq 'a \u0000 b' "$(sql "SELECT description FROM bugs WHERE id = 'BUG-002'")" "$CASE: sqlite3"

begin "hostile field names never reach SQL: EINVAL unknown field"
check_eq EINVAL "$(echo '{"title\" = 1; DROP TABLE bugs;--":"x"}' | close_errno "$B/BUG-001.json")" "$CASE: close"
refused bugs/BUG-001.json 'unknown field'

begin "fsync() reports the refusal too (EINVAL), one audit row for fsync and close"
check_eq EINVAL "$(echo '{"status":"bogus"}' | close_errno "$B/BUG-001.json" fsync)" "$CASE: fsync"
refused bugs/BUG-001.json '^status: must be one of'

# --- a stale save: ESTALE ---

begin "a save based on an old revision: ESTALE"
OLD=$(cat "$B/BUG-001.json")
sql "UPDATE bugs SET title = 'Changed elsewhere' WHERE id = 'BUG-001'"
assert_eq "2" "$(sql "SELECT revision FROM bugs WHERE id = 'BUG-001'")" "the direct change bumped the revision"
S0=$(state)
check_eq ESTALE "$(jq '.priority = 4' <<<"$OLD" | close_errno "$B/BUG-001.json")" "$CASE: close"
refused bugs/BUG-001.json 'stale'
check_eq "Changed elsewhere|1" "$(sql "SELECT title, priority FROM bugs WHERE id = 'BUG-001'")" "$CASE: the newer change is kept"

begin "a save by rename based on an old revision: ESTALE, refused and audited once (Linux retries a call that failed with ESTALE)"
jq '.priority = 5' <<<"$OLD" > "$B/.stale.tmp"
check_eq ESTALE "$(syscall_errno 'os.rename(a[0], a[1])' "$B/.stale.tmp" "$B/BUG-001.json")" "$CASE: rename"
refused bugs/BUG-001.json 'stale'
check_eq 1 "$(tail -n +$((L0 + 1)) "$T/daemon.err" | grep -c '/bugs/BUG-001.json: stale edit')" "$CASE: one log line"
check_eq ESTALE "$(syscall_errno 'os.rename(a[0], a[1])' "$B/.stale.tmp" "$B/BUG-001.json")" "$CASE: mv again, a new call"
check_eq 2 "$(tail -n +$((L0 + 1)) "$T/daemon.err" | grep -c '/bugs/BUG-001.json: stale edit')" "$CASE: a new call is refused on its own"
rm -f "$B/.stale.tmp"

# --- a corrected save succeeds and clears .error ---

note "a corrected save succeeds and clears that file's line from .error"
echo '{"priority":"x"}' | close_errno "$B/BUG-002.json" >/dev/null
check_contains "$(cat "$B/.error")" "BUG-002.json: priority" "BUG-002's line"
A0=$(last_audit)
check_eq OK "$(jq '.priority = 2' "$B/BUG-001.json" | close_errno "$B/BUG-001.json")" "corrected save of BUG-001"
check_eq "Changed elsewhere|2|3" "$(sql "SELECT title, priority, revision FROM bugs WHERE id = 'BUG-001'")" "BUG-001 after the corrected save"
check_eq "success" "$(sql "SELECT group_concat(status) FROM tool_executions WHERE id > $A0")" "one success row for the corrected save"
grep -q '^BUG-001.json: ' "$B/.error" && bad "BUG-001's line is still in .error: [$(cat "$B/.error")]"
grep -q '^BUG-002.json: ' "$B/.error" || bad "BUG-002's line went with BUG-001's: [$(cat "$B/.error" 2>&1)]"
check_eq OK "$(echo '{"priority":4}' | close_errno "$B/BUG-002.json")" "corrected save of BUG-002"
check_eq OK "$(echo '{"title":"Now with a title","priority":2}' | close_errno "$B/BUG-050.json")" "corrected create of BUG-050"
check_eq "Now with a title|2" "$(sql "SELECT title, priority FROM bugs WHERE id = 'BUG-050'")" "BUG-050 created"
check_eq ENOENT "$(syscall_errno 'open(a[0]).read()' "$B/.error")" "cat .error once no errors remain"
ls -a "$B" | grep -qx '.error' && bad ".error still listed with no errors left"

note "the editor's buffer is never lost: on the same descriptor, a failed fsync then a corrected write and close succeed"
A0=$(last_audit)
check_eq "EINVAL OK" "$(python3 -c '
import errno, os
fd = os.open("'"$B"'/BUG-002.json", os.O_WRONLY | os.O_TRUNC)
os.write(fd, b"{\"status\": \"bogus\"}\n")
out = []
try:
    os.fsync(fd); out.append("OK")
except OSError as e:
    out.append(errno.errorcode[e.errno])
os.ftruncate(fd, 0)
os.pwrite(fd, b"{\"status\": \"fixed\"}\n", 0)
try:
    os.close(fd); out.append("OK")
except OSError as e:
    out.append(errno.errorcode[e.errno])
print(" ".join(out))')" "fsync then close on one descriptor"
check_eq "fixed" "$(sql "SELECT status FROM bugs WHERE id = 'BUG-002'")" "the corrected buffer was saved"
check_eq "failure,success" "$(sql "SELECT group_concat(status) FROM (SELECT status FROM tool_executions WHERE id > $A0 ORDER BY id) AS t")" "one refusal and one success in the audit"
check_eq ENOENT "$(syscall_errno 'open(a[0]).read()' "$B/.error")" ".error cleared by the corrected save"

note "truncate(2) by path is what open, ftruncate and close are: to 0 a save of nothing, else the cut bytes saved"
row0=$(sql "SELECT revision FROM bugs WHERE id = 'BUG-002'") A0=$(last_audit)
check_eq OK "$(syscall_errno 'os.truncate(a[0], 0)' "$B/BUG-002.json")" "truncate(2) to 0"
check_eq "$row0|$A0" "$(sql "SELECT revision FROM bugs WHERE id = 'BUG-002'")|$(last_audit)" "truncate(2) to 0 changed nothing"
check_eq EINVAL "$(syscall_errno 'os.truncate(a[0], 5)' "$B/BUG-002.json")" "truncate(2) to 5 bytes: not JSON"
check_eq "$row0" "$(sql "SELECT revision FROM bugs WHERE id = 'BUG-002'")" "the refused truncate changed nothing"
check_contains "$(cat "$B/.error")" "BUG-002.json" ".error names the file"
echo '{"priority":4}' >"$B/BUG-002.json" || bad "a good save clears it"

# --- EFBIG ---

begin "a 9 MB write: EFBIG (at most STORE_MAX_DOCUMENT, 8 MiB)"
check_eq EFBIG "$(python3 -c 'import sys; sys.stdout.write("{\"title\": \"" + "a" * (9 << 20) + "\"}\n")' | close_errno "$B/BUG-001.json")" "$CASE: write/close"
refused bugs/BUG-001.json 'too large'

begin "truncate -s 1G of an entity: EFBIG, refused and audited"
check_eq EFBIG "$(syscall_errno 'os.truncate(a[0], 1 << 30)' "$B/BUG-001.json")" "$CASE: truncate"
refused bugs/BUG-001.json 'too large'

begin "ftruncate to 1 GiB of an open entity: EFBIG, and close() says so too; refused and audited once"
check_eq "EFBIG EFBIG" "$(python3 -c '
import errno, os, sys
fd = os.open(sys.argv[1], os.O_WRONLY)
out = []
for call in (lambda: os.ftruncate(fd, 1 << 30), lambda: os.close(fd)):
    try:
        call()
        out.append("OK")
    except OSError as e:
        out.append(errno.errorcode[e.errno])
print(*out)' "$B/BUG-001.json")" "$CASE: ftruncate, close"
refused bugs/BUG-001.json 'too large'

begin "a 9 MB file renamed onto an entity: EFBIG too (a save by rename has the same limit)"
python3 -c 'import sys; sys.stdout.write("{\"title\": \"" + "a" * (9 << 20) + "\"}\n")' > "$B/.big.tmp"
check_eq EFBIG "$(syscall_errno 'os.rename(a[0], a[1])' "$B/.big.tmp" "$B/BUG-001.json")" "$CASE: rename"
refused bugs/BUG-001.json 'too large'
rm -f "$B/.big.tmp"

# --- EEXIST ---

begin "O_EXCL create of an existing bug: EEXIST"
# The kernel answers this from a LOOKUP: the daemon never sees the create,
# so there is no .error line or audit row to check (a and c only).
check_eq EEXIST "$(echo '{"title":"dup"}' | close_errno "$B/BUG-001.json" excl)" "$CASE: open"
unchanged

begin "mkdir of an existing task: EEXIST"
# Kernel-decided as well (LOOKUP then EEXIST): a and c only.
tool_fails mkdir "File exists" mkdir "$MNT/tasks/TASK-001"
unchanged

begin "a create that finds its key taken by another writer at close: EEXIST"
check_eq "OK EEXIST" "$(python3 -c '
import errno, os, subprocess
fd = os.open("'"$B"'/BUG-060.json", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
subprocess.run([os.environ["SQL_CMD"], "INSERT INTO bugs (id, title) VALUES (\x27BUG-060\x27, \x27direct\x27)"], check=True)
print("OK", end=" ")
os.write(fd, b"{\"title\": \"through the mount\"}\n")
try:
    os.close(fd); print("OK")
except OSError as e:
    print(errno.errorcode[e.errno])')" "$CASE: close"
check_eq "direct" "$(sql "SELECT title FROM bugs WHERE id = 'BUG-060'")" "$CASE: the other writer's row is kept"
S0=$(state) # after the other writer's insert
refused bugs/BUG-060.json 'exists'

# --- ENOENT ---

begin "a write to tasks/TASK-999/task.json: ENOENT"
# Kernel-decided (LOOKUP of TASK-999 fails): a and c only.
check_eq ENOENT "$(echo '{"title":"x"}' | close_errno "$MNT/tasks/TASK-999/task.json")" "$CASE: open"
unchanged
[ -e "$MNT/tasks/TASK-999" ] && bad "$CASE: TASK-999 appeared"

begin "a save whose row was deleted by another writer after open: ENOENT"
check_eq ENOENT "$(python3 -c '
import errno, os, subprocess
fd = os.open("'"$B"'/BUG-060.json", os.O_WRONLY | os.O_TRUNC)
subprocess.run([os.environ["SQL_CMD"], "DELETE FROM bugs WHERE id = \x27BUG-060\x27"], check=True)
os.write(fd, b"{\"title\": \"gone\"}\n")
try:
    os.close(fd); print("OK")
except OSError as e:
    print(errno.errorcode[e.errno])')" "$CASE: close"
S0=$(state) # after the other writer's delete
check_eq 0 "$(sql "SELECT count(*) FROM bugs WHERE id = 'BUG-060'")" "$CASE: not recreated"
refused bugs/BUG-060.json 'BUG-060'

begin "a name with a newline: EINVAL, and .error keeps one line per file"
check_eq EINVAL "$(echo '{"name":"r"}' | close_errno "$MNT/rules/a
b.json")" "$CASE: close"
check_eq 1 "$(grep -c '' "$MNT/rules/.error")" "$CASE: one line in rules/.error"
check_contains "$(cat "$MNT/rules/.error")" 'a\nb.json: invalid key' "$CASE: the name's newline is written \\n"
unchanged

# --- EPERM, ENOTEMPTY ---

begin "rm tasks/TASK-001/task.json: EPERM"
tool_fails rm "Operation not permitted" rm "$MNT/tasks/TASK-001/task.json"
refused tasks/TASK-001/task.json 'rmdir'

begin "> onto a task's transcript (a log is appended to, not rewritten): EPERM, audited"
tool_fails cp "Operation not permitted" cp /dev/null "$MNT/tasks/TASK-001/transcript.jsonl"
refused tasks/TASK-001/transcript.jsonl 'only appended to \(>>\)'

begin "mv tasks/TASK-001 tasks/TASK-040: EPERM (a key does not change)"
tool_fails mv "Operation not permitted" mv "$MNT/tasks/TASK-001" "$MNT/tasks/TASK-040"
refused tasks/TASK-001 "key cannot be changed"

begin "mv of a task's task.json into another task: EPERM"
mkdir "$MNT/tasks/TASK-002" || fail "$CASE: mkdir TASK-002"
S0=$(state) A0=$(last_audit)
check_eq EPERM "$(syscall_errno 'os.rename(a[0], a[1])' "$MNT/tasks/TASK-001/task.json" "$MNT/tasks/TASK-002/task.json")" "$CASE: rename(2)"
refused tasks/TASK-001/task.json "renamed only to a scratch name"
rmdir "$MNT/tasks/TASK-002" && rm "$MNT/tasks/.trash/TASK-002.json" || fail "$CASE: remove TASK-002"

begin "rmdir of a task that holds an editor's file: ENOTEMPTY"
echo swap > "$MNT/tasks/TASK-001/.task.json.swp" || fail "$CASE: scratch file"
S0=$(state)
tool_fails rmdir "Directory not empty" rmdir "$MNT/tasks/TASK-001"
refused tasks/TASK-001 '.'
rm "$MNT/tasks/TASK-001/.task.json.swp" || fail "$CASE: rm the scratch file"

# --- EROFS under audit/ ---

AUD=$(sql "SELECT min(id) FROM tool_executions")
begin "writing an audit file: EROFS"
check_eq EROFS "$(echo '{"status":"success"}' | close_errno "$MNT/audit/$AUD.json")" "$CASE: open"
refused "audit/$AUD.json" 'read-only'

begin "creating a file under audit/: EROFS"
check_eq EROFS "$(echo '{"tool_name":"x","operation":"y","status":"success"}' | close_errno "$MNT/audit/999999.json" excl)" "$CASE: open"
refused audit/999999.json 'read-only|cannot'

begin "rm of an audit file: EROFS"
tool_fails rm "Read-only file system" rm -f "$MNT/audit/$AUD.json"
refused "audit/$AUD.json" 'read-only'

begin "mkdir under audit/: EROFS"
check_eq EROFS "$(syscall_errno 'os.mkdir(a[0])' "$MNT/audit/x")" "$CASE: mkdir"
refused audit/x 'read-only|cannot'

begin "rename of an audit file: EROFS"
check_eq EROFS "$(syscall_errno 'os.rename(a[0], a[1])' "$MNT/audit/$AUD.json" "$MNT/audit/$AUD.bak")" "$CASE: rename"
refused "audit/$AUD.json" 'read-only'

begin "symlink under audit/: EROFS"
check_eq EROFS "$(syscall_errno 'os.symlink("x", a[0])' "$MNT/audit/link")" "$CASE: symlink"
refused audit/link 'read-only|cannot'

# --- EAGAIN ---

begin "a database locked by another writer past the busy timeout: EAGAIN"
# (SQLite: BEGIN IMMEDIATE takes the file's write lock; PostgreSQL: a
# writer's lock on the table, which leaves reads alone, as SQLite's does)
check_eq EAGAIN "$(python3 -c '
import sqlite3, subprocess, sys
db = "'"$DB"'"
if db.startswith("postgres"):
    p = subprocess.Popen(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", db], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True, bufsize=1)
    p.stdin.write("BEGIN; LOCK TABLE bugs IN EXCLUSIVE MODE;\n\\echo locked\n")
    p.stdin.flush()
    assert p.stdout.readline().strip() == "locked"
    def unlock():
        p.stdin.write("ROLLBACK;\n")
        p.stdin.close()
        p.wait()
else:
    db = sqlite3.connect(db, isolation_level=None)
    db.execute("BEGIN IMMEDIATE")
    def unlock():
        db.execute("ROLLBACK")
r = subprocess.run([sys.executable, "'"$(dirname "$0")/fswrite.py"'", "'"$B/BUG-001.json"'"],
                   input=b"{\"priority\": 5}\n", capture_output=True)
unlock()
print(r.stdout.decode().strip())')" "$CASE: close"
# a refusal for a busy database is written by a thread of the daemon's as
# soon as the lock is free (the writer does not wait for the lock twice)
for _ in $(seq 1 100); do
	[ "$(sql "SELECT count(*) FROM tool_executions WHERE id > $A0")" = 0 ] || break
	sleep 0.05
done
refused bugs/BUG-001.json 'busy|locked'

# --- names that cannot be keys ---

begin "a .json name with a newline: EINVAL, no row, no scratch file"
NL='a
b.json'
check_eq EINVAL "$(echo '{"title":"x"}' | close_errno "$B/$NL")" "$CASE: create"
check_eq 0 "$(sql "SELECT count(*) FROM bugs WHERE id LIKE 'a%b'")" "$CASE: no row"
[ -e "$B/$NL" ] && bad "$CASE: the name exists"
LONG=$(printf 'k%.0s' $(seq 1 230)).json
check_eq EINVAL "$(echo '{"title":"x"}' | close_errno "$B/$LONG")" "a 230-byte key: create"
check_eq ENAMETOOLONG "$(echo '{"title":"x"}' | close_errno "$B/$(printf 'k%.0s' $(seq 1 300)).json")" "a 300-byte name"
check_eq EINVAL "$(python3 -c 'import os,sys
try: os.mkdir(sys.argv[1]); print("OK")
except OSError as e: print(__import__("errno").errorcode[e.errno])' "$MNT/tasks/bad
name")" "mkdir of a task with a newline"
check_eq OK "$(echo '{"title":"unicode"}' | close_errno "$B/ünïcödé key.json")" "a Unicode key with a space is fine"
check_eq "unicode" "$(sql "SELECT title FROM bugs WHERE id = 'ünïcödé key'")" "its row"

# --- hostile names ---

note "hostile names never reach SQL"
TABLES_ALL=$(sql_tables --all)
NBUGS=$(sql "SELECT count(*) FROM bugs")
HOSTILE="x'); DROP TABLE bugs;--"
check_eq OK "$(echo '{"name":"hostile","config":{"a":1}}' | close_errno "$MNT/rules/$HOSTILE.json")" "create rules/$HOSTILE.json"
check_eq "hostile" "$(sql "SELECT name FROM project_rules WHERE id = 'x''); DROP TABLE bugs;--'")" "the rule's row, key verbatim"
check_eq "$HOSTILE" "$(jq -r .id "$MNT/rules/$HOSTILE.json")" "cat of the hostile rule"
HOSTILE2='T"; DROP TABLE tasks;--'
mkdir "$MNT/tasks/$HOSTILE2" || bad "mkdir tasks/$HOSTILE2"
check_eq 1 "$(sql "SELECT count(*) FROM tasks WHERE id = 'T\"; DROP TABLE tasks;--'")" "the task's row, key verbatim"
check_eq "$TABLES_ALL" "$(sql_tables --all)" "every table still exists"
check_eq "$NBUGS" "$(sql "SELECT count(*) FROM bugs")" "bugs untouched"
rm "$MNT/rules/$HOSTILE.json" || bad "rm of the hostile rule"
rmdir "$MNT/tasks/$HOSTILE2" || bad "rmdir of the hostile task"
rm "$MNT/tasks/.trash/$HOSTILE2.json" || bad "rm of the hostile task from tasks/.trash/"
check_eq "0|0" "$(sql "SELECT (SELECT count(*) FROM project_rules), (SELECT count(*) FROM tasks WHERE id <> 'TASK-001')")" "hostile rows removed"

# --- a read-only mount ---

umount_fs || fail "clean unmount"
mount_fs --read-only
note "--read-only: every change is EROFS and nothing changes, not even the audit log"
# A --read-only mount is read-only in the kernel (MS_RDONLY): the kernel
# refuses with EROFS before the daemon sees a request, so there is no .error
# line or audit row to check; the whole database, audit included, stays put.
ALL0=$(sql_dump)
CASE="read-only mount"
check_eq "BUG-001" "$(jq -r .id "$B/BUG-001.json")" "reads still work"
check_eq EROFS "$(echo '{"priority":5}' | close_errno "$B/BUG-001.json")" "write an entity"
check_eq EROFS "$(echo '{"priority":5}' | close_errno "$B/BUG-001.json" fsync)" "write and fsync an entity"
check_eq EROFS "$(echo '{"title":"new"}' | close_errno "$B/BUG-070.json" excl)" "create a new entity file"
check_eq EROFS "$(echo '{"title":"new"}' | close_errno "$B/new")" "create through bugs/new"
check_eq EROFS "$(echo '{"type":"message","content":"x"}' | close_errno "$MNT/tasks/TASK-001/transcript.jsonl" append)" "append to a transcript"
check_eq EROFS "$(echo '{"name":"r","config":{}}' | close_errno "$MNT/rules/r1.json")" "create a rule"
tool_fails mkdir "Read-only file system" mkdir "$MNT/tasks/TASK-002"
tool_fails rm "Read-only file system" rm -f "$B/BUG-002.json"
tool_fails rmdir "Read-only file system" rmdir "$MNT/tasks/TASK-001"
tool_fails mv "Read-only file system" mv "$B/BUG-002.json" "$B/BUG-003.json"
tool_fails ln "Read-only file system" ln -s ../../../bugs/BUG-001.json "$MNT/tasks/TASK-001/bugs/BUG-001"
tool_fails sed "Read-only file system" sed -i 's/Second/Third/' "$B/BUG-002.json"
tool_fails rm "Read-only file system" rm -f "$MNT/audit/$AUD.json"
check_eq "$ALL0" "$(sql_dump)" "the read-only mount changed nothing"

umount_fs || fail "clean unmount"
