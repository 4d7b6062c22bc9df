# lib.sh - the fixture every integration test sources.
#
# It makes a fresh project in a directory of its own (outside /tmp, so vim
# keeps its backup behaviour), mounts it with the real daemon in the
# foreground, and on exit - pass or fail - unmounts, waits for the daemon,
# and fails the test if the daemon did not exit 0 or wrote a sanitizer or
# valgrind report to its stderr (libfuse's output_checker).
#
# ORCHFS_MOUNT_OPTS adds options to every mount (meson runs live.sh again
# with --cache). ORCHFS_TEST_PG=1 runs the test on PostgreSQL instead: the
# project database is a new database on the loopback server of
# scripts/pg-server.sh ($DB is its URL, dropped when the test passes; the
# script starts the server, or installs and creates it, when it does not
# answer: run as root) and sql() is psql. A test sets FIXTURE_CLEANUP to a command to run first on exit (tmux...).
# Provides: $ORCHFS (the binary), $T (the test's directory), $MNT, $DB,
# $DB_SHOWN, $UDB, sql, $SQL_CMD, on_pg, sql_tables, sql_dump, sql_time, fail, assert_eq, assert_contains, close_errno,
# syscall_errno, audit_count.
set -u
set -o pipefail

: "${ORCHFS:?run through meson test (ORCHFS names the binary)}"
TEST_NAME=$(basename "$0" .sh)
T=$(mktemp -d "${ORCHFS_TEST_DIR:-$PWD}/t-$TEST_NAME.XXXXXX")
MNT=$T/mnt
DB=$T/project/.orchfs/project.db
UDB=$T/home/.orchfs/user.db
export HOME=$T/home ORCHFS_DB=$DB ORCHFS_USER_DB=$UDB
DAEMON_PID=
FAILED=0

fail() {
	echo "FAIL: $*" >&2
	FAILED=1
	exit 1
}

note() { echo "# $*"; }

# sql STATEMENTS: run by sqlite3 (psql on PostgreSQL), output as sqlite3's;
# an error fails the test (sql_try when the test expects one)
sql_try() { sqlite3 -bail "$DB" "$@"; }
sql() { sql_try "$@" || fail "sqlite3 failed on: $(printf '%.300s' "$*")"; }
if [ -n "${ORCHFS_TEST_PG:-}" ]; then
	PG_NAME=t_$(printf %s "$TEST_NAME" | tr -c 'a-z0-9_' _)_$$
	DB=$(sh "$(dirname "$0")/../../scripts/pg-server.sh" newdb "$PG_NAME" 2>"$T/pg-server.err") ||
		{ cat "$T/pg-server.err" >&2; echo "FAIL: no PostgreSQL server (scripts/pg-server.sh)" >&2; exit 1; }
	export ORCHFS_DB=$DB
	# psql, printing as sqlite3 does: no header, columns split by |
	sql_try() { printf '%s\n' "$@" | psql -X -q -A -t -F '|' -v ON_ERROR_STOP=1 -d "$DB"; }
	sql() { sql_try "$@" || fail "psql failed on: $(printf '%.300s' "$*")"; }
	# SQLite's group_concat(X [, SEP]) for the tests' own queries (a test
	# database only; the product never calls it).
	sql "CREATE FUNCTION test_group_concat_step(acc text, v anyelement, sep text) RETURNS text LANGUAGE sql IMMUTABLE
		AS \$\$ SELECT CASE WHEN v IS NULL THEN acc WHEN acc IS NULL THEN v::text ELSE acc || sep || v::text END \$\$;
	CREATE FUNCTION test_group_concat_step(acc text, v anyelement) RETURNS text LANGUAGE sql IMMUTABLE
		AS \$\$ SELECT test_group_concat_step(acc, v, ',') \$\$;
	CREATE AGGREGATE group_concat(anyelement, text) (sfunc = test_group_concat_step, stype = text);
	CREATE AGGREGATE group_concat(anyelement) (sfunc = test_group_concat_step, stype = text);" ||
		{ echo "FAIL: group_concat for psql" >&2; exit 1; }
fi
on_pg() { [ -n "${ORCHFS_TEST_PG:-}" ]; }
# $DB as orchfs shows it in messages and logs (a URL without its password)
DB_SHOWN=$(printf '%s' "$DB" | sed 's#^\(postgres[a-z]*://[^:/@]*\):[^@]*@#\1@#')

# sql_tables [--all] [EXCEPT...]: the project database's tables, sorted, on
# one line, but for EXCEPT and, without --all, SQLite's own (sqlite_*).
sql_tables() {
	local not="''" own="name NOT LIKE 'sqlite_%'" x
	if [ "${1:-}" = --all ]; then
		own=TRUE
		shift
	fi
	for x in "$@"; do not="$not, '$x'"; done
	if on_pg; then
		sql "SELECT group_concat(tablename, ' ') FROM (SELECT tablename FROM pg_tables
			WHERE schemaname = 'public' AND tablename NOT IN ($not) ORDER BY tablename) AS t"
	else
		sql "SELECT group_concat(name, ' ') FROM (SELECT name FROM sqlite_master
			WHERE type = 'table' AND name NOT IN ($not) AND $own ORDER BY name)"
	fi
}

# sql_dump [TABLE...]: the rows of the project database's TABLEs (all of
# them when none is named), to compare before and after: sqlite3's .dump; on
# PostgreSQL "TABLE|row as text" lines, sorted, in one query.
sql_dump() {
	local t q=
	if on_pg; then
		# shellcheck disable=SC2046
		[ $# -gt 0 ] || set -- $(sql_tables)
		for t in "$@"; do
			q="${q:+$q UNION ALL }SELECT '$t|' || r::text FROM \"$t\" AS r"
		done
		sql "$q ORDER BY 1"
	else
		sqlite3 "$DB" ".dump $*"
	fi
}

# $SQL_CMD STATEMENT...: sql as a command, for the tests' Python (another
# writer on the project database, on either engine).
SQL_CMD=$T/sql
if on_pg; then
	printf '#!/bin/sh\nprintf "%%s\\n" "$@" | exec psql -X -q -A -t -F "|" -v ON_ERROR_STOP=1 -d "%s"\n' "$DB" >"$SQL_CMD"
else
	printf '#!/bin/sh\nexec sqlite3 -bail "%s" "$@"\n' "$DB" >"$SQL_CMD"
fi
chmod +x "$SQL_CMD"
export SQL_CMD

# sql_time EXPR: EXPR (a time column) as SQLite keeps it, ISO 8601 in UTC
# with milliseconds: 2026-11-24T10:00:00.123Z, on either engine.
sql_time() {
	if on_pg; then
		echo "to_char(($1) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
	else
		echo "($1)"
	fi
}
usql() { sqlite3 -bail "$UDB" "$@"; }

assert_eq() { # assert_eq EXPECTED ACTUAL WHAT
	[ "$1" = "$2" ] || fail "$3: expected [$1], got [$2]"
}

assert_contains() { # assert_contains HAYSTACK NEEDLE WHAT
	case "$1" in *"$2"*) ;; *) fail "$3: [$1] does not contain [$2]" ;; esac
}

# close_errno PATH [MODE] < data: write stdin to PATH through open/write/close
# and print the errno name of the first failing call, or OK.
close_errno() {
	python3 "$(dirname "$0")/fswrite.py" "$@"
}

# syscall_errno 'python statement' ARGS...: run it with a = ARGS; print OK or the errno name.
syscall_errno() {
	python3 -c 'import errno, os, sys
a = sys.argv[2:]
try:
    exec(sys.argv[1])
    print("OK")
except OSError as e:
    print(errno.errorcode[e.errno])' "$@"
}

# Soft checks: report a failure and carry on, so one run lists every broken
# case; the test fails at exit (FAILED).
bad() { echo "FAIL: $*" >&2; FAILED=1; }
check_eq() { [ "$1" = "$2" ] || bad "$3: expected [$1], got [$2]"; }
check_contains() { case "$1" in *"$2"*) ;; *) bad "$3: [$1] does not contain [$2]" ;; esac; }
check_rc() { [ "$1" = "$2" ] || bad "$3: exit status $2, expected $1"; }
last_audit() { sql "SELECT coalesce(max(id), 0) FROM tool_executions"; }

audit_count() { sql "SELECT count(*) FROM tool_executions ${1:+WHERE $1}"; }

is_mounted() { grep -q " $MNT fuse" /proc/mounts; }

mount_fs() { # mount_fs [extra mount args]
	mkdir -p "$MNT"
	# shellcheck disable=SC2086
	"$ORCHFS" mount -f ${ORCHFS_MOUNT_OPTS:-} "$@" "$MNT" 2>"$T/daemon.err" &
	DAEMON_PID=$!
	# Wait for this daemon's own word: a stale mount from a killed daemon
	# would already be listed in /proc/mounts.
	for _ in $(seq 1 200); do
		is_mounted && grep -q "^orchfs: mounted .* (pid $DAEMON_PID)" "$T/daemon.err" && return 0
		kill -0 "$DAEMON_PID" 2>/dev/null || break
		sleep 0.05
	done
	cat "$T/daemon.err" >&2
	fail "the mount did not come up"
}

umount_fs() { # unmount and check the daemon's exit and stderr
	local rc=0
	[ -n "$DAEMON_PID" ] || return 0
	if is_mounted; then
		"$ORCHFS" umount "$MNT" || { sleep 0.5; "$ORCHFS" umount -l "$MNT"; }
	fi
	wait "$DAEMON_PID" || rc=$?
	DAEMON_PID=
	if [ "$rc" -ne 0 ]; then
		cat "$T/daemon.err" >&2
		echo "FAIL: the daemon exited $rc" >&2
		return 1
	fi
	if grep -E 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:|==[0-9]+== (Invalid|Conditional|[0-9,]+ bytes in)' "$T/daemon.err" >&2; then
		echo "FAIL: sanitizer or valgrind report in the daemon's stderr" >&2
		return 1
	fi
	return 0
}

# A second daemon, for the tests that mount twice: at $MNT2, started by the
# test with its pid in PID2; umount2 unmounts it and gives its exit status.
MNT2=$T/mnt2
PID2=
umount2() {
	[ -n "$PID2" ] || return 0
	grep -q " $MNT2 fuse" /proc/mounts && { "$ORCHFS" umount "$MNT2" || "$ORCHFS" umount -l "$MNT2"; }
	wait "$PID2"
	local rc=$?
	PID2=
	return $rc
}

fixture_exit() {
	local rc=$?
	cd /
	[ -n "${FIXTURE_CLEANUP:-}" ] && eval "$FIXTURE_CLEANUP"
	if [ -n "$DAEMON_PID" ]; then
		umount_fs || rc=1
	fi
	if is_mounted; then
		umount -l "$MNT" 2>/dev/null
	fi
	if [ -n "${PG_NAME:-}" ] && [ "$rc" -eq 0 ] && [ "$FAILED" -eq 0 ]; then
		sh "$(dirname "$0")/../../scripts/pg-server.sh" dropdb "$PG_NAME" 2>/dev/null
	fi
	if [ "$rc" -eq 0 ] && [ "$FAILED" -eq 0 ]; then
		rm -rf "$T"
		echo "ok - $TEST_NAME"
	else
		echo "not ok - $TEST_NAME (files kept in $T)"
		[ -f "$T/daemon.err" ] && tail -n 20 "$T/daemon.err" | sed 's/^/# daemon: /'
		rc=1
	fi
	exit "$rc"
}
trap fixture_exit EXIT
trap 'exit 1' INT TERM

mkdir -p "$T/project" "$HOME"
(cd "$T/project" && "$ORCHFS" init >/dev/null) || fail "orchfs init"
# init makes the project's file; a server's database is brought to the
# schema as the mount would, so tests start from the same state on both
on_pg && { "$ORCHFS" migrate up >/dev/null || fail "orchfs migrate up"; }
