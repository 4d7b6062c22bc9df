#!/bin/bash
# commands.sh - the orchfs commands of SPEC §1: init, project discovery and
# the database overrides, mount in the background and in the foreground,
# umount, signals, stale mounts, --read-only and -o, migrate, health,
# version and help, stats, search and watch - each checked against the real
# files, /proc/mounts and sqlite3. A check that fails is reported and the
# test goes on, so one run lists every broken case.
. "$(dirname "$0")/lib.sh"

SRC=$(cd "$(dirname "$0")/../.." && pwd)
# The project's own file, which discovery finds ($DB on SQLite; on
# PostgreSQL $DB is the server's database and this file is init's).
PDB=$T/project/.orchfs/project.db



mounted_at() { grep -q "^[^ ]* $1 fuse" /proc/mounts; }
mounts_at() { grep -c "^[^ ]* $1 fuse" /proc/mounts; }
source_of() { awk -v m="$1" '$2 == m && $3 ~ /^fuse/ { print $1 }' /proc/mounts; }
options_of() { awk -v m="$1" '$2 == m && $3 ~ /^fuse/ { print $4 }' /proc/mounts; }
mode_of() { stat -c %a "$1" 2>&1; }

# The daemons `orchfs mount` (without -f) leaves running at a mountpoint.
daemon_pids() { pgrep -f -- "orchfs mount .*$1\$"; }

# wait_gone PID: true once the process has exited (gone, or a zombie
# waiting for init to reap it), within 5 seconds.
wait_gone() {
	local st
	for _ in $(seq 1 100); do
		st=$(sed -n 's/^.*) \(.\).*$/\1/p' "/proc/$1/stat" 2>/dev/null)
		[ -z "$st" ] || [ "$st" = Z ] && return 0
		sleep 0.05
	done
	return 1
}

# Background daemons are not the fixture's: on exit, unmount what is still
# mounted at any mountpoint used here and make sure the daemons are gone.
EXTRA_MNTS=$MNT
mkdir -p "$MNT"
WATCH_PID=
cleanup_extra() {
	local m p pids
	[ -n "$WATCH_PID" ] && kill "$WATCH_PID" 2>/dev/null
	for m in $EXTRA_MNTS; do
		pids=$(daemon_pids "$m")
		mounted_at "$m" && umount -l "$m" 2>/dev/null
		for p in $pids; do
			wait_gone "$p" || kill -KILL "$p" 2>/dev/null
		done
	done
}
FIXTURE_CLEANUP=cleanup_extra

# bg_mount MOUNTPOINT [ARGS...]: `orchfs mount ARGS MOUNTPOINT` without -f
# (no mkdir: a stale mountpoint must reach orchfs as it is);
# its stderr is in $T/mount.err; returns its exit status.
bg_mount() {
	local m=$1
	shift
	"$ORCHFS" mount "$@" "$m" 2>"$T/mount.err"
}

# bg_umount MOUNTPOINT WHAT: `orchfs umount`, then the daemon must be gone
# and the mountpoint no longer mounted.
bg_umount() {
	local m=$1 what=$2 pids p rc=0
	pids=$(daemon_pids "$m")
	[ -n "$pids" ] || bad "$what: no daemon found for $m"
	"$ORCHFS" umount "$m" 2>"$T/umount.err" || rc=$?
	check_rc 0 "$rc" "$what: orchfs umount ($(cat "$T/umount.err"))"
	for p in $pids; do
		wait_gone "$p" || bad "$what: the daemon (pid $p) is still running after orchfs umount"
	done
	! mounted_at "$m" || bad "$what: $m is still mounted after orchfs umount"
}

# ---------------------------------------------------------------------------
note "1. init: DIR/.orchfs/project.db 0600 in a 0700 directory, the user database 0600"
mkdir -p "$T/fresh"
rc=0
out=$(umask 000 && ORCHFS_USER_DB=$T/udb/sub/user.db "$ORCHFS" init "$T/fresh" 2>&1) || rc=$?
check_rc 0 "$rc" "orchfs init DIR ($out)"
check_contains "$out" "Initialized empty" "first init says so"
check_eq 700 "$(mode_of "$T/fresh/.orchfs")" "mode of DIR/.orchfs (umask 000)"
check_eq 600 "$(mode_of "$T/fresh/.orchfs/project.db")" "mode of project.db (umask 000)"
check_eq 600 "$(mode_of "$T/udb/sub/user.db")" "mode of the user database at ORCHFS_USER_DB (umask 000)"
check_eq 700 "$(mode_of "$T/udb/sub")" "mode of the directory made for the user database"
check_eq 600 "$(mode_of "$UDB")" "mode of the fixture's user database"
check_eq 600 "$(mode_of "$PDB")" "mode of the fixture's project database"

note "init without ORCHFS_USER_DB puts the user database in \$HOME/.orchfs/"
mkdir -p "$T/fresh2" "$T/home3"
rc=0
out=$(HOME=$T/home3 env -u ORCHFS_USER_DB "$ORCHFS" init "$T/fresh2" 2>&1) || rc=$?
check_rc 0 "$rc" "init with the default user database ($out)"
check_eq 600 "$(mode_of "$T/home3/.orchfs/user.db")" "mode of ~/.orchfs/user.db"
check_eq 700 "$(mode_of "$T/home3/.orchfs")" "mode of ~/.orchfs"

note "init is idempotent and keeps the data"
sqlite3 "$T/fresh/.orchfs/project.db" "INSERT INTO bugs (id, title) VALUES ('BUG-042', 'kept')"
rc=0
out=$(ORCHFS_USER_DB=$T/udb/sub/user.db "$ORCHFS" init "$T/fresh" 2>&1) || rc=$?
check_rc 0 "$rc" "second init ($out)"
check_contains "$out" "Reinitialized existing" "second init says so"
check_eq "kept" "$(sqlite3 "$T/fresh/.orchfs/project.db" "SELECT title FROM bugs WHERE id = 'BUG-042'")" "the data survives a second init"
rc=0
out=$(ORCHFS_USER_DB=$T/udb/sub/user.db "$ORCHFS" init --force "$T/fresh" 2>&1) || rc=$?
check_rc 0 "$rc" "init --force ($out)"
check_eq "kept" "$(sqlite3 "$T/fresh/.orchfs/project.db" "SELECT title FROM bugs WHERE id = 'BUG-042'")" "the data survives init --force"

note "init DIR creates DIR when it does not exist yet (as git init DIR does)"
rc=0
out=$(ORCHFS_USER_DB=$T/udb/sub/user.db "$ORCHFS" init "$T/newproject" 2>&1) || rc=$?
check_rc 0 "$rc" "orchfs init of a new DIR ($out)"
[ -f "$T/newproject/.orchfs/project.db" ] || bad "orchfs init of a new DIR made no $T/newproject/.orchfs/project.db"

note "the databases are in WAL mode, with the schema's foreign keys"
check_eq wal "$(sqlite3 "$PDB" "PRAGMA journal_mode")" "journal_mode of project.db"
check_eq wal "$(usql "PRAGMA journal_mode")" "journal_mode of user.db"
check_eq wal "$(sqlite3 "$T/fresh/.orchfs/project.db" "PRAGMA journal_mode")" "journal_mode of a fresh project.db"
FKS="SELECT m.name || '|' || f.\"from\" || '|' || f.\"table\" || '|' || f.on_delete
	FROM sqlite_master m, pragma_foreign_key_list(m.name) f WHERE m.type = 'table' ORDER BY 1"
expected_fks=$(LC_ALL=C sort <<'EOF'
tasks|workflow_id|workflows|SET NULL
task_dependencies|task_id|tasks|CASCADE
task_dependencies|depends_on|tasks|CASCADE
task_bugs|task_id|tasks|CASCADE
task_bugs|bug_id|bugs|CASCADE
worktrees|task_id|tasks|SET NULL
worktree_zones|worktree_id|worktrees|CASCADE
worktree_zones|zone_id|zones|CASCADE
zone_executions|zone_id|zones|CASCADE
zone_executions|worktree_id|worktrees|CASCADE
workflow_tasks|workflow_id|workflows|CASCADE
workflow_tasks|task_id|tasks|CASCADE
transcripts|task_id|tasks|CASCADE
agents|orchestrator_agent_id|orchestrator_agents|CASCADE
agents|parent_agent_id|agents|SET NULL
prompts|agent_id|agents|CASCADE
agent_logs|agent_id|agents|CASCADE
phases|task_id|tasks|CASCADE
workflow_runs|workflow_id|workflows|RESTRICT
workflow_runs|task_id|tasks|SET NULL
workflow_run_phases|workflow_run_id|workflow_runs|CASCADE
workflow_run_phases|phase_template_id|phase_templates|RESTRICT
phase_outputs|task_id|tasks|CASCADE
phase_outputs|workflow_run_id|workflow_runs|SET NULL
task_comments|task_id|tasks|CASCADE
review_comments|task_id|tasks|CASCADE
gate_decisions|task_id|tasks|CASCADE
event_log|task_id|tasks|CASCADE
event_log|workflow_run_id|workflow_runs|SET NULL
initiative_decisions|initiative_id|initiatives|CASCADE
initiative_dependencies|initiative_id|initiatives|CASCADE
initiative_dependencies|depends_on|initiatives|CASCADE
initiative_tasks|initiative_id|initiatives|CASCADE
initiative_tasks|task_id|tasks|CASCADE
task_attachments|task_id|tasks|CASCADE
EOF
)
if on_pg; then # the same list from PostgreSQL's catalog
	FKS_PG="SELECT c.conrelid::regclass::text || '|' || a.attname || '|' || c.confrelid::regclass::text || '|' ||
		CASE c.confdeltype WHEN 'c' THEN 'CASCADE' WHEN 'n' THEN 'SET NULL' WHEN 'r' THEN 'RESTRICT'
			WHEN 'a' THEN 'NO ACTION' WHEN 'd' THEN 'SET DEFAULT' END
		FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)
		WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace ORDER BY 1"
	check_eq "$expected_fks" "$(sql "$FKS_PG")" "the foreign keys of every table (pg_constraint)"
else
	check_eq "$expected_fks" "$(sql "$FKS")" "PRAGMA foreign_key_list of every table"
fi
check_eq "usage_logs|budget_id|budgets|SET NULL" "$(usql "$FKS")" "the user database's one foreign key"

# The newest schema versions this binary has ("schema versions: project N, user M").
PV=$("$ORCHFS" version | sed -n 's/^schema versions: project \([0-9]*\), user \([0-9]*\)$/\1/p')
UV=$("$ORCHFS" version | sed -n 's/^schema versions: project \([0-9]*\), user \([0-9]*\)$/\2/p')
[ -n "$PV" ] && [ -n "$UV" ] || bad "orchfs version names no schema versions"
note "migrate status: both databases at the newest version ($PV and $UV)"
rc=0
out=$("$ORCHFS" migrate status 2>&1) || rc=$?
check_rc 0 "$rc" "migrate status"
check_eq "project  $DB_SHOWN: version $PV of $PV" "$(grep '^project ' <<<"$out")" "migrate status of the project database"
check_eq "user     $UDB: version $UV of $UV" "$(grep '^user ' <<<"$out")" "migrate status of the user database"

note "migrate verify and rollback (AI-Orchestra's migration has both)"
rc=0
out=$("$ORCHFS" migrate verify 2>&1) || rc=$?
check_rc 0 "$rc" "migrate verify"
check_eq "project  $DB_SHOWN: verified" "$(grep '^project ' <<<"$out")" "migrate verify of the project database"
# verify of a damaged SQLite file (the project's own file on PostgreSQL,
# which enforces every foreign key and has no file to damage)
cp "$PDB" "$T/verify.db"
sqlite3 "$T/verify.db" "PRAGMA foreign_keys = OFF; INSERT INTO task_bugs (task_id, bug_id) VALUES ('TASK-404', 'BUG-404')"
rc=0
out=$("$ORCHFS" migrate verify --db "$T/verify.db" 2>&1) || rc=$?
check_rc 1 "$rc" "migrate verify of a file with a dangling link"
check_contains "$out" "a row of task_bugs points at a missing row of" "verify names the table"
sqlite3 "$T/verify.db" "DELETE FROM task_bugs WHERE task_id = 'TASK-404'; ALTER TABLE bugs DROP COLUMN severity"
out=$("$ORCHFS" migrate verify --db "$T/verify.db" 2>&1)
check_contains "$out" "no such column: severity" "verify finds a column the tree needs"
rm -f "$T/verify.db"
sql "SELECT count(*) FROM zones" >"$T/zones.before"
"$ORCHFS" migrate down 6 >/dev/null 2>&1 || bad "migrate down 6 (to before 0007_documents)"
if on_pg; then
	has_documents="SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename = 'documents'"
else
	has_documents="SELECT count(*) FROM sqlite_schema WHERE name = 'documents'"
fi
check_eq 0 "$(sql "$has_documents")" "down removed 0007's table"
rc=0
out=$("$ORCHFS" migrate rollback 2>&1) || rc=$?
if on_pg; then # each step was one transaction: no copy is made, up brings the step back
	check_rc 1 "$rc" "migrate rollback of a PostgreSQL database ($out)"
	check_contains "$out" "has no copy to roll back to" "rollback says why not"
	"$ORCHFS" migrate up >/dev/null 2>&1 || bad "migrate up after the down"
	check_eq 1 "$(sql "$has_documents")" "up brought back the version before the down"
else
	check_rc 0 "$rc" "migrate rollback ($out)"
	check_contains "$out" "restored from $DB.bak, now at version $PV of $PV" "rollback says what it did"
	check_eq 1 "$(sql "$has_documents")" "rollback brought back the version before the down"
	check_eq "" "$(ls "$DB.bak-wal" "$DB.bak-shm" 2>/dev/null)" "rollback leaves no -wal or -shm beside the backup"
fi
check_eq "$(cat "$T/zones.before")" "$(sql "SELECT count(*) FROM zones")" "and its rows"
mount_fs
for v in rollback "down 1" up; do
	rc=0
	out=$("$ORCHFS" migrate $v 2>&1) || rc=$?
	check_rc 1 "$rc" "migrate $v while mounted"
	check_contains "$out" "is mounted at $MNT: unmount it first" "migrate $v while mounted says why"
done
check_eq "$PV" "$(sql "SELECT max(version) FROM _orchfs_migrations")" "nothing was migrated under the mount"
umount_fs || bad "unmount"
mkdir -p "$T/fresh" && (cd "$T/fresh" && ORCHFS_DB= "$ORCHFS" init >/dev/null) || bad "init a fresh project"
rc=0
out=$("$ORCHFS" migrate rollback --db "$T/fresh/.orchfs/project.db" 2>&1) || rc=$?
check_rc 1 "$rc" "rollback of a database created at the latest version"
check_contains "$out" "no backup" "rollback says there is nothing to roll back to"

# ---------------------------------------------------------------------------
note "10. version and help"
rc=0
out=$("$ORCHFS" version 2>&1) || rc=$?
check_rc 0 "$rc" "orchfs version"
version=$(sed -n "s/^ *version *: *'\([^']*\)'.*/\1/p" "$SRC/meson.build" | head -n 1)
check_contains "$out" "orchfs $version" "orchfs version names orchfs's version"
check_contains "$out" "sqlite $(pkg-config --modversion sqlite3)" "orchfs version names SQLite's"
check_contains "$out" "libfuse $(pkg-config --modversion fuse3)" "orchfs version names libfuse's"
check_contains "$out" "cjson $(pkg-config --modversion libcjson)" "orchfs version names cJSON's"
# `orchfs help version`: "... and the versions of SQLite, libfuse, cJSON and the schemas."
ls "$SRC"/migrations/project/*.up.sql | grep -c . > "$T/nup"
grep -Eiq "schema.*project $(cat "$T/nup")\b" <<<"$out" || bad "orchfs version does not name the schema versions (as orchfs help version says): [$out]"
check_eq "$out" "$("$ORCHFS" --version 2>&1)" "orchfs --version is orchfs version"
for args in "help" "--help"; do
	rc=0
	out=$("$ORCHFS" $args 2>&1) || rc=$?
	check_rc 0 "$rc" "orchfs $args"
	for c in init mount umount migrate health version stats search watch help; do
		grep -Eq "^  $c " <<<"$out" || bad "orchfs $args does not list $c: [$out]"
	done
done
for c in init mount umount migrate health version stats search watch; do
	rc=0
	out=$("$ORCHFS" help "$c" 2>&1) || rc=$?
	check_rc 0 "$rc" "orchfs help $c"
	check_contains "$out" "usage: orchfs $c" "orchfs help $c"
done
rc=0
out=$("$ORCHFS" help mount 2>&1) || rc=$?
for w in --read-only --db --user-db -o -f; do
	check_contains "$out" "$w" "orchfs help mount names $w"
done
rc=0
out=$("$ORCHFS" frobnicate 2>&1) || rc=$?
check_rc 2 "$rc" "an unknown command"
check_contains "$out" "frobnicate" "the message about an unknown command names it"
check_contains "$out" "not a command" "the message about an unknown command"
rc=0
out=$("$ORCHFS" help frobnicate 2>&1) || rc=$?
check_rc 2 "$rc" "orchfs help of an unknown command"
check_contains "$out" "frobnicate" "orchfs help of an unknown command says which"

# ---------------------------------------------------------------------------
note "2. discovery: from a subdirectory, mount finds the project's .orchfs/"
mkdir -p "$T/project/src/deep"
rc=0
(cd "$T/project/src/deep" && env -u ORCHFS_DB "$ORCHFS" mount "$MNT" 2>"$T/mount.err") || rc=$?
check_rc 0 "$rc" "mount from src/deep ($(cat "$T/mount.err"))"
mounted_at "$MNT" || fail "the mount from a subdirectory did not come up"
check_eq "$(realpath "$PDB")" "$(source_of "$MNT")" "the database found from src/deep"
echo '{"title":"found from src/deep"}' > "$MNT/bugs/new" || bad "write through the discovered mount"
check_eq 1 "$(sqlite3 "$PDB" "SELECT count(*) FROM bugs WHERE title = 'found from src/deep'")" "the write went to the project's database"
bg_umount "$MNT" "mount from src/deep"

note "discovery picks the nearest .orchfs/ (a project inside a project)"
mkdir -p "$T/project/nested/inner"
(cd "$T/project/nested" && "$ORCHFS" init >/dev/null) || fail "init of the nested project"
NDB=$T/project/nested/.orchfs/project.db
rc=0
(cd "$T/project/nested/inner" && env -u ORCHFS_DB "$ORCHFS" mount "$MNT" 2>"$T/mount.err") || rc=$?
check_rc 0 "$rc" "mount from nested/inner ($(cat "$T/mount.err"))"
check_eq "$(realpath "$NDB")" "$(source_of "$MNT")" "the database found from nested/inner"
if mounted_at "$MNT"; then
	echo '{"title":"nested"}' > "$MNT/bugs/new" || bad "write through the nested mount"
	check_eq "1|0" "$(sqlite3 "$NDB" "SELECT count(*) FROM bugs WHERE title = 'nested'")|$(sqlite3 "$PDB" "SELECT count(*) FROM bugs WHERE title = 'nested'")" \
		"the write went to the nested project only"
	bg_umount "$MNT" "mount from nested/inner"
fi

note "outside any project, mount fails and says why"
for dir in "$T/outside" "$T/home/code"; do
	mkdir -p "$dir"
	rc=0
	(cd "$dir" && env -u ORCHFS_DB "$ORCHFS" mount "$MNT" 2>"$T/mount.err") || rc=$?
	check_rc 1 "$rc" "mount from $dir (not a project)"
	check_contains "$(cat "$T/mount.err")" "not in an orchfs project" "the message of a mount from $dir"
	if mounted_at "$MNT"; then
		bad "mount from $dir (not a project) mounted $(source_of "$MNT")"
		bg_umount "$MNT" "the mount that should not have happened"
	fi
done
[ ! -e "$T/outside/.orchfs" ] || bad "a failed mount created $T/outside/.orchfs"
[ ! -e "$T/home/.orchfs/project.db" ] || bad "a mount from under \$HOME (not a project) created \$HOME/.orchfs/project.db"

note "ORCHFS_DB overrides discovery; --db overrides ORCHFS_DB"
mkdir -p "$T/other" "$T/third"
"$ORCHFS" init "$T/other" >/dev/null || fail "init other"
"$ORCHFS" init "$T/third" >/dev/null || fail "init third"
DB2=$T/other/.orchfs/project.db
DB3=$T/third/.orchfs/project.db
count_in() { sqlite3 "$1" "SELECT count(*) FROM bugs WHERE title = '$2'"; }
rc=0
(cd "$T/project/src/deep" && ORCHFS_DB=$DB2 "$ORCHFS" mount "$MNT" 2>"$T/mount.err") || rc=$?
check_rc 0 "$rc" "mount with ORCHFS_DB ($(cat "$T/mount.err"))"
check_eq "$DB2" "$(source_of "$MNT")" "the database named by ORCHFS_DB"
if mounted_at "$MNT"; then
	echo '{"title":"env"}' > "$MNT/bugs/new" || bad "write through the ORCHFS_DB mount"
	check_eq "0 1 0" "$(count_in "$PDB" env) $(count_in "$DB2" env) $(count_in "$DB3" env)" "ORCHFS_DB: the database that got the write"
	bg_umount "$MNT" "mount with ORCHFS_DB"
fi
rc=0
(cd "$T/project/src/deep" && ORCHFS_DB=$DB2 "$ORCHFS" mount --db "$DB3" "$MNT" 2>"$T/mount.err") || rc=$?
check_rc 0 "$rc" "mount with --db and ORCHFS_DB ($(cat "$T/mount.err"))"
check_eq "$DB3" "$(source_of "$MNT")" "the database named by --db"
if mounted_at "$MNT"; then
	echo '{"title":"flag"}' > "$MNT/bugs/new" || bad "write through the --db mount"
	check_eq "0 0 1" "$(count_in "$PDB" flag) $(count_in "$DB2" flag) $(count_in "$DB3" flag)" "--db: the database that got the write"
	bg_umount "$MNT" "mount with --db"
fi

note "ORCHFS_USER_DB and --user-db choose the user database; the default is ~/.orchfs/user.db"
UDB2=$T/udb2/user.db
UDB3=$T/udb3/user.db
prompt_in() { [ -f "$1" ] && sqlite3 "$1" "SELECT count(*) FROM prompts WHERE id = '$2'" || echo none; }
user_mount_case() { # user_mount_case KEY WHAT ENV... -- ARGS...
	local key=$1 what=$2 rc=0
	shift 2
	local envs=()
	while [ "$1" != -- ]; do envs+=("$1"); shift; done
	shift
	env "${envs[@]}" "$ORCHFS" mount "$@" "$MNT" 2>"$T/mount.err" || rc=$?
	check_rc 0 "$rc" "$what ($(cat "$T/mount.err"))"
	mounted_at "$MNT" || return 1
	echo '{"template":"hello"}' > "$MNT/user/prompts/$key.json" || bad "$what: write of user/prompts/$key.json"
	bg_umount "$MNT" "$what"
}
user_mount_case p1 "mount with ORCHFS_USER_DB" ORCHFS_USER_DB="$UDB2" --
check_eq "0 1 none" "$(prompt_in "$UDB" p1) $(prompt_in "$UDB2" p1) $(prompt_in "$UDB3" p1)" "ORCHFS_USER_DB: the database that got user/prompts/p1.json"
user_mount_case p2 "mount with --user-db and ORCHFS_USER_DB" ORCHFS_USER_DB="$UDB2" -- --user-db "$UDB3"
check_eq "0 0 1" "$(prompt_in "$UDB" p2) $(prompt_in "$UDB2" p2) $(prompt_in "$UDB3" p2)" "--user-db: the database that got user/prompts/p2.json"
check_eq 600 "$(mode_of "$UDB3")" "mode of a user database made by mount"
user_mount_case p3 "mount with the default user database" -u ORCHFS_USER_DB HOME="$T/home4" --
check_eq "0 0 0 1" "$(prompt_in "$UDB" p3) $(prompt_in "$UDB2" p3) $(prompt_in "$UDB3" p3) $(prompt_in "$T/home4/.orchfs/user.db" p3)" \
	"default: the database that got user/prompts/p3.json"

# ---------------------------------------------------------------------------
note "3. daemon mode: mount returns once the mount is up, logs to .orchfs/orchfs.log"
# beside the database; a server's database has none: beside the user database
if on_pg; then LOG=$(dirname "$UDB")/orchfs.log; else LOG=$T/project/.orchfs/orchfs.log; fi
loglines=0
[ -f "$LOG" ] && loglines=$(wc -l <"$LOG")
rc=0
bg_mount "$MNT" || rc=$?
mounted_now=no
mounted_at "$MNT" && mounted_now=yes
check_rc 0 "$rc" "orchfs mount without -f ($(cat "$T/mount.err"))"
check_eq yes "$mounted_now" "the mount is in /proc/mounts as soon as orchfs mount returns"
mounted_at "$MNT" || fail "the background mount did not come up"
newlog=$(tail -n +"$((loglines + 1))" "$LOG" 2>/dev/null)
check_contains "$newlog" "mounted $DB_SHOWN at $MNT (pid " "the daemon's log line"
pid=$(sed -n "s|^.*mounted .* at $MNT (pid \([0-9]*\)).*$|\1|p" <<<"$newlog" | tail -n 1)
[ -n "$pid" ] || fail "no pid in the daemon's log: [$newlog]"
check_eq orchfs "$(cat "/proc/$pid/comm" 2>/dev/null)" "the process named in the log"
check_eq "$pid" "$(daemon_pids "$MNT")" "pgrep finds the daemon named in the log"
check_eq 1 "$(ls "$MNT/bugs" >/dev/null && echo 1)" "ls through the background mount"

note "a second mount on a mounted mountpoint fails and leaves the first one working"
rc=0
bg_mount "$MNT" || rc=$?
check_rc 1 "$rc" "a second orchfs mount on $MNT"
check_contains "$(cat "$T/mount.err")" "already" "the message of a second mount"
check_eq 1 "$(mounts_at "$MNT")" "mounts at $MNT after the second attempt"
kill -0 "$pid" 2>/dev/null || bad "the first daemon died after the second mount attempt"
echo '{"title":"still works"}' > "$MNT/bugs/new" || bad "write through the first mount after the second attempt"
check_eq 1 "$(sql "SELECT count(*) FROM bugs WHERE title = 'still works'")" "the first mount still writes"
rc=0
"$ORCHFS" mount -f "$MNT" 2>"$T/mount.err" || rc=$?
check_rc 1 "$rc" "a second orchfs mount -f on $MNT"
check_contains "$(cat "$T/mount.err")" "already" "the message of a second mount -f"
check_eq 1 "$(mounts_at "$MNT")" "mounts at $MNT after the second -f attempt"

note "orchfs umount: unmounted, the daemon exits, its log says so"
rc=0
"$ORCHFS" umount "$MNT" 2>"$T/umount.err" || rc=$?
check_rc 0 "$rc" "orchfs umount ($(cat "$T/umount.err"))"
wait_gone "$pid" || bad "the daemon (pid $pid) did not exit after orchfs umount"
! mounted_at "$MNT" || bad "$MNT is still mounted after orchfs umount"
check_contains "$(tail -n +"$((loglines + 1))" "$LOG")" "unmounting $MNT" "the daemon's log after umount"

# refused_mount MOUNTPOINT MESSAGE WHAT [ARGS]: orchfs mount, in the
# background and with -f, fails with exit status 1 and MESSAGE, and mounts nothing
refused_mount() {
	local m=$1 msg=$2 what=$3 fg rc
	shift 3
	for fg in "" -f; do
		rc=0
		bg_mount "$m" $fg "$@" || rc=$?
		check_rc 1 "$rc" "orchfs mount $fg $what"
		check_contains "$(cat "$T/mount.err")" "$msg" "the message of mount $fg $what"
		if mounted_at "$m"; then
			bad "orchfs mount $fg $what mounted"
			bg_umount "$m" "the mount $what"
		fi
	done
}

note "a mount point that is a regular file: Not a directory, exit status 1, nothing mounted"
: > "$T/afile"
refused_mount "$T/afile" "cannot mount on $T/afile: Not a directory" "on a regular file"

note "a mount point that holds the databases (orchfs mount . in the project, or in \$HOME): refused, nothing mounted"
# The daemon opens and looks at its files by their paths as it runs: under
# its own mount each look would wait on itself, and the mount hang.
refused_mount "$T/home" "cannot mount on $(realpath "$T/home"): it holds $(realpath "$UDB"), which the daemon reads as it runs" "on the directory holding the user database"
mkdir -p "$T/q/data" "$T/q/m"
(cd "$T/q/data" && ORCHFS_DB= "$ORCHFS" init >/dev/null) || fail "init q/data"
ln -s ../data/.orchfs "$T/q/m/link"
refused_mount "$T/q/m" "it holds $T/q/m/link/project.db" "on a directory the database's path goes through (a symbolic link in it)" \
	--db "$T/q/m/link/project.db"
if [ -z "${PG_NAME:-}" ]; then
	refused_mount "$T/project" "cannot mount on $(realpath "$T/project"): it holds $(realpath "$DB")" "on the project directory"
	refused_mount "$T/project/.orchfs" "it holds $(realpath "$DB")" "on the .orchfs directory"
fi

note "orchfs umount of a directory that is not mounted: says so, exit status 1"
rc=0
"$ORCHFS" umount "$T" 2>"$T/umount.err" || rc=$?
check_rc 1 "$rc" "orchfs umount of a plain directory"
check_contains "$(cat "$T/umount.err")" "cannot unmount $T: not a mount point" "its message"

note "a database path that is a directory: a message and exit status 1"
mkdir -p "$T/dirdb"
refused_mount "$MNT" "$T/dirdb" "--db DIRECTORY" --db "$T/dirdb"

# ---------------------------------------------------------------------------
note "4. signals: SIGTERM and SIGINT unmount a foreground daemon, which exits 0"
# bash starts background jobs of a script with SIGINT ignored, and libfuse
# keeps an ignored SIGINT ignored; a person's `orchfs mount -f` in a terminal
# has it at the default, so start the daemon that way.
cat > "$T/orchfs-sigint-default" <<EOF
#!/usr/bin/env python3
import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execv("$ORCHFS", ["$ORCHFS"] + sys.argv[1:])
EOF
chmod +x "$T/orchfs-sigint-default"
for sig in TERM INT; do
	ORCHFS=$T/orchfs-sigint-default mount_fs
	pid=$DAEMON_PID
	ls "$MNT/bugs" >/dev/null || bad "ls before SIG$sig"
	kill -s "$sig" "$pid"
	rc=0
	for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
	if kill -0 "$pid" 2>/dev/null; then
		bad "the foreground daemon is still running 5 s after SIG$sig"
		continue # the fixture unmounts it
	fi
	wait "$pid" || rc=$?
	DAEMON_PID=
	check_rc 0 "$rc" "the daemon's exit after SIG$sig"
	! mounted_at "$MNT" || bad "$MNT is still mounted after SIG$sig"
	check_contains "$(cat "$T/daemon.err")" "unmounting $MNT" "the daemon's stderr after SIG$sig"
	if grep -qE 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:' "$T/daemon.err"; then
		bad "sanitizer report after SIG$sig"
		cat "$T/daemon.err" >&2 # the whole report, with its stacks
	fi
done

# ---------------------------------------------------------------------------
note "5. a stale mount (SIGKILLed daemon) is detected and cleared by the next mount"
mount_fs
kill -KILL "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null
DAEMON_PID=
check_contains "$(ls "$MNT" 2>&1)" "Transport endpoint is not connected" "ls of the dead mount"
rc=0
bg_mount "$MNT" || rc=$?
check_rc 0 "$rc" "orchfs mount on a stale mount ($(cat "$T/mount.err"))"
check_contains "$(cat "$T/mount.err")" "stale" "the message of a mount over a stale one"
check_contains "$(cat "$T/mount.err")" "cleared" "the message of a mount over a stale one"
check_eq "by-priority by-status new" "$(ls "$MNT/bugs" 2>&1 | grep -v '^BUG-' | tr '\n' ' ' | sed 's/ $//')" "ls bugs/ on the new mount"
check_eq 1 "$(mounts_at "$MNT")" "mounts at $MNT after clearing the stale one"
mounted_at "$MNT" && bg_umount "$MNT" "the mount over a stale one"

# ---------------------------------------------------------------------------
note "12. search and watch (state made through the mount and with sqlite3)"
mount_fs
mkdir "$MNT/tasks/TASK-001" || bad "mkdir TASK-001"
printf '%s\n' '{"role":"user","content":"the zebra crossing"}' '{"role":"assistant","content":"no giraffe here"}' \
	'{"role":"user","content":"a zebra again"}' >> "$MNT/tasks/TASK-001/transcript.jsonl" || bad "append to the transcript"
echo '{"title":"Login fails"}' > "$MNT/bugs/new" || bad "create a bug through bugs/new"
mkey=$(cat "$MNT/bugs/new")
echo '{"template":"hi"}' > "$MNT/user/prompts/greet.json" || bad "create a prompt"
echo 'not json' | close_errno "$MNT/bugs/$mkey.json" >"$T/errno"
check_eq EINVAL "$(cat "$T/errno")" "an invalid write (for a failure in the audit)"
sql "INSERT INTO bugs (id, title) VALUES ('BUG-900', 'written by sqlite3')"
sql "INSERT INTO project_rules (id, name, config) VALUES ('style-1', 'Style', '{}');
	INSERT INTO zones (id) VALUES ('zone-a'), ('zone-b');
	INSERT INTO worktrees (id) VALUES ('wt-1');
	INSERT INTO workflows (id) VALUES ('wf-1');
	INSERT INTO tool_permissions (tool_name) VALUES ('rm')"
usql "INSERT INTO llm_providers (id) VALUES ('openai-main'); INSERT INTO workflow_templates (id) VALUES ('tpl-1')"
umount_fs || fail "unmount after making the state"

rc=0
"$ORCHFS" search zebra >"$T/search.out" 2>"$T/search.err" || rc=$?
check_rc 0 "$rc" "orchfs search zebra ($(cat "$T/search.err"))"
if on_pg; then
	fts="SELECT count(*) FROM transcripts_fts WHERE document @@ websearch_to_tsquery('simple', 'zebra')"
else
	fts="SELECT count(*) FROM transcripts_fts WHERE transcripts_fts MATCH 'zebra'"
fi
check_eq "$(sql "$fts")" "$(wc -l <"$T/search.out")" "rows printed by orchfs search zebra"
check_eq "TASK-001 the zebra crossing
TASK-001 a zebra again" "$(jq -r '"\(.task_id) \(.content)"' "$T/search.out" 2>&1)" "orchfs search zebra, oldest first"
check_eq "$(sql "SELECT group_concat(id, ' ') FROM (SELECT id FROM transcripts WHERE content LIKE '%zebra%' ORDER BY id) AS t")" \
	"$(jq -r .id "$T/search.out" 2>&1 | tr '\n' ' ' | sed 's/ $//')" "the ids orchfs search prints"
check_eq "$(wc -l <"$T/search.out")" "$(grep -c '^{"task_id":' "$T/search.out")" "each line starts with its task_id"
rc=0
out=$("$ORCHFS" search okapi 2>&1) || rc=$?
check_rc 1 "$rc" "orchfs search with no match"
check_eq "" "$out" "orchfs search with no match prints nothing"

rc=0
"$ORCHFS" watch --no-follow >"$T/watch.out" 2>"$T/watch.err" || rc=$?
check_rc 0 "$rc" "orchfs watch --no-follow ($(cat "$T/watch.err"))"
check_eq "$(sql "SELECT count(*) FROM _orchfs_changes")" "$(wc -l <"$T/watch.out")" "lines of orchfs watch --no-follow"
check_eq "$(sql "SELECT group_concat(seq, ' ') FROM (SELECT seq FROM _orchfs_changes ORDER BY seq) AS t")" \
	"$(jq -r .seq "$T/watch.out" 2>&1 | tr '\n' ' ' | sed 's/ $//')" "the seqs orchfs watch prints, in order"
check_eq "bugs create null null" "$(jq -r 'select(.key == "BUG-900") | "\(.collection) \(.operation) \(.tool) \(.pid)"' "$T/watch.out" 2>&1)" \
	"the change made with sqlite3"
check_eq "bugs create bash $$" "$(jq -r --arg k "$mkey" 'select(.key == $k and .operation == "create") | "\(.collection) \(.operation) \(.tool) \(.pid)"' "$T/watch.out" 2>&1)" \
	"the change made through the mount by this shell"
check_eq "tasks create mkdir" "$(jq -r 'select(.key == "TASK-001" and .operation == "create") | "\(.collection) \(.operation) \(.tool)"' "$T/watch.out" 2>&1)" \
	"the mkdir through the mount"
check_eq "3" "$(jq -r 'select(.key == "TASK-001" and .operation == "append" and .tool == "bash") | .seq' "$T/watch.out" 2>&1 | wc -l)" \
	"the three appended transcript rows"
for f in seq time collection key operation tool pid; do
	check_eq 0 "$(jq -r "select(has(\"$f\") | not) | 1" "$T/watch.out" 2>&1 | wc -l)" "every watch line has $f"
done
last=$(sql "SELECT max(seq) FROM _orchfs_changes")
check_eq "" "$("$ORCHFS" watch --since "$last" --no-follow 2>&1)" "orchfs watch --since the last seq"
check_eq "$((last - 1))" "$("$ORCHFS" watch --since "$((last - 2))" --no-follow 2>&1 | jq -r .seq | head -n 1)" "orchfs watch --since SEQ starts after SEQ"

note "orchfs watch follows the feed until SIGTERM"
"$ORCHFS" watch --since "$last" >"$T/follow.out" 2>"$T/follow.err" &
WATCH_PID=$!
sleep 0.3
sql "INSERT INTO bugs (id, title) VALUES ('BUG-901', 'followed')"
for _ in $(seq 1 400); do grep -q BUG-901 "$T/follow.out" && break; sleep 0.05; done
check_eq "BUG-901 create" "$(jq -r '"\(.key) \(.operation)"' "$T/follow.out" 2>&1)" "orchfs watch prints a new change"
kill -TERM "$WATCH_PID"
rc=0
wait "$WATCH_PID" || rc=$?
WATCH_PID=
check_rc 0 "$rc" "orchfs watch after SIGTERM ($(cat "$T/follow.err"))"

# ---------------------------------------------------------------------------
note "11. stats counts every collection as sqlite3 does"
rc=0
"$ORCHFS" stats >"$T/stats.out" 2>"$T/stats.err" || rc=$?
check_rc 0 "$rc" "orchfs stats ($(cat "$T/stats.err"))"
stat_of() { awk -v c="$1" '$1 == c { print $2 }' "$T/stats.out"; }
for pair in tasks:tasks bugs:bugs rules:project_rules zones:zones worktrees:worktrees workflows:workflows \
	permissions:tool_permissions audit:tool_executions; do
	check_eq "$(sql "SELECT count(*) FROM ${pair#*:}")" "$(stat_of "${pair%%:*}")" "orchfs stats: ${pair%%:*}"
done
for pair in providers:llm_providers prompts:prompts workflow_templates:workflow_templates; do
	check_eq "$(usql "SELECT count(*) FROM ${pair#*:}")" "$(stat_of "user/${pair%%:*}")" "orchfs stats: user/${pair%%:*}"
done
[ "$(sql "SELECT count(*) FROM bugs")" -ge 3 ] || bad "stats is compared on too few bugs"
# `orchfs help stats`: "... and the audit totals by status."
for st in success failure; do
	n=$(sql "SELECT count(*) FROM tool_executions WHERE status = '$st'")
	[ "$n" -gt 0 ] || bad "no audit row with status $st to count"
	grep -Eq "\b$st\b[^0-9]*\b$n\b" "$T/stats.out" ||
		bad "orchfs stats shows no audit total for status $st ($n, as orchfs help stats says): [$(tr '\n' ';' <"$T/stats.out")]"
done

# ---------------------------------------------------------------------------
note "6. --read-only and -o ro: reads work, every write is EROFS, the databases do not change"
dump_all() { sql_dump; sqlite3 "$UDB" .dump; }
dump_all >"$T/before.sql"
for mode in --read-only "-o ro"; do
	mount_fs $mode
	check_contains ",$(options_of "$MNT")," ",ro," "the kernel mount options with $mode"
	check_eq "Login fails" "$(jq -r .title "$MNT/bugs/$mkey.json" 2>&1)" "$mode: read a bug"
	check_eq "a zebra again" "$(tail -n 1 "$MNT/tasks/TASK-001/transcript.jsonl" | jq -r .content 2>&1)" "$mode: read the transcript"
	check_eq "hi" "$(jq -r .template "$MNT/user/prompts/greet.json" 2>&1)" "$mode: read a prompt"
	check_contains "$(ls "$MNT/tasks" 2>&1)" "TASK-001" "$mode: ls tasks"
	check_eq "$(sql "SELECT count(*) FROM bugs")" "$(wc -l <"$MNT/bugs.jsonl")" "$mode: bugs.jsonl"
	w() { # w ERRNO WHAT: the write must have failed with EROFS
		check_eq EROFS "$1" "$mode: $2"
	}
	w "$(echo '{"status":"closed"}' | close_errno "$MNT/bugs/$mkey.json")" "patch a bug"
	w "$(echo '{"status":"closed"}' | close_errno "$MNT/bugs/$mkey.json" fsync)" "patch a bug with fsync"
	w "$(echo '{"title":"new"}' | close_errno "$MNT/bugs/new")" "create through bugs/new"
	w "$(echo '{"title":"new"}' | close_errno "$MNT/bugs/BUG-050.json" excl)" "create a bug file"
	w "$(echo '{"title":"t"}' | close_errno "$MNT/tasks/TASK-001/task.json")" "patch a task"
	w "$(echo '{"role":"user","content":"more"}' | close_errno "$MNT/tasks/TASK-001/transcript.jsonl" append)" "append to a transcript"
	w "$(echo '{"name":"n","config":{}}' | close_errno "$MNT/rules/r-9.json" excl)" "create a rule"
	w "$(echo '{"template":"changed"}' | close_errno "$MNT/user/prompts/greet.json")" "patch a prompt"
	w "$(echo '{"template":"x"}' | close_errno "$MNT/user/prompts/new-one.json" excl)" "create a prompt"
	w "$(syscall_errno 'os.mkdir(a[0])' "$MNT/tasks/TASK-050")" "mkdir a task"
	w "$(syscall_errno 'os.unlink(a[0])' "$MNT/bugs/$mkey.json")" "rm a bug"
	w "$(syscall_errno 'os.rmdir(a[0])' "$MNT/tasks/TASK-001")" "rmdir a task"
	w "$(syscall_errno 'os.rename(a[0], a[1])' "$MNT/bugs/$mkey.json" "$MNT/bugs/BUG-051.json")" "mv a bug"
	w "$(syscall_errno 'os.symlink(a[0], a[1])' "../../../bugs/$mkey.json" "$MNT/tasks/TASK-001/bugs/$mkey")" "ln -s a relation"
	w "$(syscall_errno 'os.truncate(a[0], 0)' "$MNT/bugs/$mkey.json")" "truncate a bug"
	w "$(syscall_errno 'os.utime(a[0])' "$MNT/bugs/$mkey.json")" "touch a bug"
	w "$(syscall_errno 'os.chmod(a[0], 0o600)' "$MNT/bugs/$mkey.json")" "chmod a bug"
	umount_fs || bad "unmount of the $mode mount"
	dump_all >"$T/after.sql"
	cmp -s "$T/before.sql" "$T/after.sql" || bad "$mode: the databases changed: $(diff "$T/before.sql" "$T/after.sql" | head -n 5)"
done

# ---------------------------------------------------------------------------
note "7. -o passes FUSE options: -o debug prints the FUSE requests, -o default_permissions,allow_other shows in /proc/mounts"
mount_fs -o debug
ls "$MNT/bugs" >/dev/null || bad "ls with -o debug"
umount_fs || bad "unmount of the -o debug mount"
grep -Eq 'opcode: LOOKUP' "$T/daemon.err" || bad "-o debug: no FUSE requests on the daemon's stderr: $(head -n 5 "$T/daemon.err")"
grep -Eq 'opcode: READDIR' "$T/daemon.err" || bad "-o debug: the readdir of bugs/ is not on the daemon's stderr"
rc=0
bg_mount "$MNT" -o default_permissions,allow_other || rc=$?
check_rc 0 "$rc" "orchfs mount -o default_permissions,allow_other ($(cat "$T/mount.err"))"
opts=",$(options_of "$MNT"),"
check_contains "$opts" ",default_permissions," "-o default_permissions in /proc/mounts"
check_contains "$opts" ",allow_other," "-o allow_other in /proc/mounts"
check_contains "$opts" ",rw," "a mount without ro is read-write"
mounted_at "$MNT" && bg_umount "$MNT" "the -o default_permissions,allow_other mount"
rc=0
bg_mount "$MNT" -o badoption_xyz || rc=$?
check_rc 1 "$rc" "orchfs mount -o with an unknown option"
[ -s "$T/mount.err" ] || bad "no message for an unknown -o option"
mounted_at "$MNT" && { bad "mounted with an unknown -o option"; bg_umount "$MNT" "the bad -o mount"; }

# ---------------------------------------------------------------------------
note "8. migrate down 1 / up: the change feed goes and comes back; a .bak copy is made first"
rm -f "$DB.bak"
if on_pg; then
	feed_objects="SELECT (SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename = '_orchfs_changes')
		+ (SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal AND tgname LIKE '%_feed_%')"
else
	feed_objects="SELECT count(*) FROM sqlite_master WHERE name = '_orchfs_changes' OR (type = 'trigger' AND name LIKE '%_feed_%')"
fi
nfeed=$(sql "$feed_objects")
[ "$nfeed" -gt 1 ] || bad "the change feed has no table or triggers before the migration"
bugs_before=$(sql "SELECT count(*) FROM bugs")
rc=0
out=$("$ORCHFS" migrate down 1 2>&1) || rc=$?
check_rc 0 "$rc" "migrate down 1 ($out)"
out=$("$ORCHFS" migrate status 2>&1)
check_eq "project  $DB_SHOWN: version 1 of $PV (run \`orchfs migrate up\`)" "$(grep '^project ' <<<"$out")" "migrate status after down 1"
check_eq "user     $UDB: version $UV of $UV" "$(grep '^user ' <<<"$out")" "migrate down 1 leaves the user database"
check_eq 0 "$(sql "$feed_objects")" "the change feed's table and triggers after down 1"
check_eq "$bugs_before" "$(sql "SELECT count(*) FROM bugs")" "the bugs survive down 1"
# (a PostgreSQL database gets no .bak: each step is one transaction)
on_pg || [ -f "$DB.bak" ] || bad "no $DB.bak after migrate down 1"
if ! on_pg && [ -f "$DB.bak" ]; then
	check_eq 600 "$(mode_of "$DB.bak")" "mode of the .bak copy"
	check_eq ok "$(sqlite3 "$DB.bak" "PRAGMA integrity_check" 2>&1)" "the .bak copy is a sound database"
	check_eq "$nfeed|$bugs_before|$PV" "$(sqlite3 "$DB.bak" "SELECT ($feed_objects), (SELECT count(*) FROM bugs), (SELECT max(version) FROM _orchfs_migrations)" 2>&1)" \
		"the .bak copy is the database before down 1"
fi
dump_before=$(sql_dump)
rc=0
above=$((PV + 1)) # a version past the latest
out=$("$ORCHFS" migrate down $above 2>&1) || rc=$?
[ "$rc" -ne 0 ] || bad "migrate down $above exited 0"
check_contains "$out" "$above" "the message of migrate down $above names the version"
check_eq "$dump_before" "$(sql_dump)" "migrate down $above changes nothing"
check_contains "$("$ORCHFS" migrate status 2>&1)" "version 1 of $PV" "migrate status after down $above"
rc=0
out=$("$ORCHFS" migrate up 2>&1) || rc=$?
check_rc 0 "$rc" "migrate up ($out)"
out=$("$ORCHFS" migrate status 2>&1)
check_eq "project  $DB_SHOWN: version $PV of $PV" "$(grep '^project ' <<<"$out")" "migrate status after up"
check_eq "$nfeed" "$(sql "$feed_objects")" "the change feed's table and triggers after up"
check_eq "$bugs_before" "$(sql "SELECT count(*) FROM bugs")" "the bugs survive up"
on_pg || check_eq 0 "$(sqlite3 "$DB.bak" "$feed_objects" 2>&1)" "the .bak copy is the database before up"
sql "INSERT INTO bugs (id, title) VALUES ('BUG-902', 'after up')"
check_eq "bugs create" "$("$ORCHFS" watch --no-follow 2>&1 | jq -r 'select(.key == "BUG-902") | "\(.collection) \(.operation)"')" "the feed works again after up"
dump_before=$(sql_dump)
rc=0
out=$("$ORCHFS" migrate down $above 2>&1) || rc=$?
[ "$rc" -ne 0 ] || bad "migrate down $above at the latest version exited 0"
check_eq "$dump_before" "$(sql_dump)" "migrate down $above at the latest version changes nothing"

# ---------------------------------------------------------------------------
note "9. health: healthy, then a corrupted copy is not"
rc=0
out=$("$ORCHFS" health 2>&1) || rc=$?
check_rc 0 "$rc" "orchfs health ($out)"
check_eq healthy "$(tail -n 1 <<<"$out")" "the verdict of orchfs health"
# a corrupted SQLite file (on PostgreSQL, a copy of the project's own file)
sqlite3 "$PDB" ".backup '$T/copy.db'"
sqlite3 "$T/copy.db" "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300)
	INSERT INTO bugs (id, title, description) SELECT 'BUG-' || (5000 + i), 'filler ' || i, hex(randomblob(300)) FROM n"
rc=0
out=$("$ORCHFS" health --db "$T/copy.db" 2>&1) || rc=$?
check_rc 0 "$rc" "orchfs health of the copy before corrupting it ($out)"
size=$(stat -c %s "$T/copy.db")
# four pages among the filler rows at the end (the schema's pages come first)
dd if=/dev/urandom of="$T/copy.db" bs=4096 seek=$((size / 4096 - 8)) count=4 conv=notrunc status=none
rc=0
out=$("$ORCHFS" health --db "$T/copy.db" 2>&1) || rc=$?
check_rc 1 "$rc" "orchfs health of a corrupted database ($out)"
check_eq unhealthy "$(tail -n 1 <<<"$out")" "the verdict on a corrupted database"
rc=0
out=$("$ORCHFS" health 2>&1) || rc=$?
check_rc 0 "$rc" "orchfs health of the project is unaffected ($out)"

note "the background daemons' logs hold no sanitizer report"
while IFS= read -r -d '' log; do
	! grep -E 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:' "$log" >&2 || bad "sanitizer report in $log"
done < <(find "$T" -name orchfs.log -print0)

[ "$FAILED" -eq 0 ] || exit 1
