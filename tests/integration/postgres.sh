#!/bin/bash
# postgres.sh - one state shared through PostgreSQL (issue 11): two daemons
# on one database at two mountpoints (as two hosts would be) see each
# other's writes within a second; writers on both, editing one bug by
# revision, lose no update; the server stopped under a mount gives a clear
# errno and loses nothing, and the mount recovers when it is back; and a
# project goes SQLite -> PostgreSQL -> SQLite with every file the same.
#
# The server is scripts/pg-server.sh's: the shared one (port 5432) for the
# database of this test, and a second cluster of its own (PG_RESTART_PORT,
# 5499) for the stop and restart, so other tests running meanwhile keep theirs.
. "$(dirname "$0")/lib.sh"
PGS="sh $(dirname "$0")/../../scripts/pg-server.sh"
$PGS up >/dev/null 2>"$T/pg-up.err" || { cat "$T/pg-up.err"; fail "no PostgreSQL server"; }
NAME=t_postgres_$$
URL=$($PGS newdb "$NAME" 2>/dev/null) || fail "newdb $NAME"
psql_() { psql -X -q -A -t -F '|' -v ON_ERROR_STOP=1 -d "$URL" -c "$1"; }
FIXTURE_CLEANUP='umount2; [ -n "${RPORT_UP:-}" ] && PGPORT=$RPORT $PGS stop >/dev/null 2>&1; $PGS dropdb $NAME >/dev/null 2>&1'

# two daemons start together on the new database: it is migrated once
mkdir -p "$MNT2"
"$ORCHFS" mount -f --db "$URL" "$MNT2" 2>"$T/daemon2.err" &
PID2=$!
mount_fs --db "$URL"
for _ in $(seq 1 100); do
	grep -q "^orchfs: mounted .* (pid $PID2)" "$T/daemon2.err" 2>/dev/null && break
	sleep 0.05
done
grep -q " $MNT2 fuse" /proc/mounts || { cat "$T/daemon2.err"; fail "the second mount did not come up"; }
assert_contains "$(grep " $MNT " /proc/mounts)" "postgres://orchfs@127.0.0.1:5432/$NAME " \
	"the mount's source names the server and database, without the password"
case "$(cat /proc/mounts "$T/daemon.err")" in *orchfs:orchfs@*) fail "a password in /proc/mounts or the log" ;; esac

note "the schema is migrated on the server"
PV=$("$ORCHFS" version | sed -n 's/^schema versions: project \([0-9]*\),.*/\1/p')
[ "${PV:-0}" -ge 8 ] || fail "orchfs version names no project schema version"
assert_eq "$PV|$PV" "$(psql_ "SELECT max(version) || '|' || count(*) FROM _orchfs_migrations")" "schema version, each step once"
assert_eq "timestamp with time zone|jsonb" \
	"$(psql_ "SELECT (SELECT data_type FROM information_schema.columns WHERE table_name = 'tasks' AND column_name = 'created_at') || '|' || (SELECT data_type FROM information_schema.columns WHERE table_name = 'bugs' AND column_name = 'labels')")" \
	"times are timestamptz and JSON is jsonb"

note "a write on one mount shows on the other within a second"
echo '{"title":"from A","labels":["x"]}' > "$MNT/bugs/new" || fail "create on A"
start=$EPOCHREALTIME
seen=
for _ in $(seq 1 100); do
	[ -f "$MNT2/bugs/BUG-001.json" ] && { seen=1; break; }
	sleep 0.01
done
[ -n "$seen" ] || fail "BUG-001 made on A not on B"
ms=$(( (${EPOCHREALTIME/./} - ${start/./}) / 1000 ))
echo "# visible on the other mount after ${ms} ms"
[ "$ms" -lt 1000 ] || fail "BUG-001 took ${ms} ms to show on B"
assert_eq "from A" "$(jq -r .title "$MNT2/bugs/BUG-001.json")" "B reads A's bug"
echo '{"status":"in_progress"}' > "$MNT2/bugs/BUG-001.json" || fail "update on B"
assert_eq "in_progress|2" "$(jq -r '"\(.status)|\(.revision)"' "$MNT/bugs/BUG-001.json")" "A reads B's update at once"
assert_eq "in_progress" "$(psql_ "SELECT status FROM bugs WHERE id = 'BUG-001'")" "the server has it"
assert_eq '["x"]' "$(psql_ "SELECT labels FROM bugs WHERE id = 'BUG-001'")" "labels stored as JSON"

note "the audit names the process, on the server"
assert_contains "$(psql_ "SELECT tool_name || ' ' || operation || ' ' || entity_key FROM tool_executions WHERE status = 'success' ORDER BY id")" \
	"bash create BUG-001" "audit row of the create"
assert_eq "in_progress" "$(psql_ "SELECT after_json ->> 'status' FROM tool_executions WHERE operation = 'write' AND entity_key = 'BUG-001'")" \
	"audit row of the update keeps the document after"

note "the change feed is published: the other daemon's feed has both"
assert_eq "create update" "$(jq -r 'select(.key == "BUG-001") | .operation' "$MNT2/changes.jsonl" | tr '\n' ' ' | sed 's/ $//')" \
	"B's changes.jsonl"

note "a follower of the feed sees a change another writer commits after a later one began: seqs follow the commits"
# (made by psql: the keys the mount's new gives, which the tests below count on, stay as they were)
slow=BUG-900 quick=BUG-901
psql_ "INSERT INTO bugs (id, title) VALUES ('$slow', 'slow one'), ('$quick', 'quick one')" >/dev/null
since=$(psql_ "SELECT max(seq) FROM _orchfs_changes")
"$ORCHFS" watch --db "$URL" --since "$since" > "$T/follow.out" 2>"$T/follow.err" &
FOLLOW=$!
# psql's transaction changes a bug, then waits before committing; a save
# through the mount starts meanwhile and would commit first
psql_ "BEGIN; UPDATE bugs SET priority = 4 WHERE id = '$slow'; SELECT pg_sleep(2); COMMIT;" >/dev/null &
SLOW=$!
sleep 0.5
echo '{"priority":2}' > "$MNT2/bugs/$quick.json" || bad "the save through the mount"
wait $SLOW || bad "psql's slow transaction"
for _ in $(seq 1 50); do
	[ "$(grep -c '"key"' "$T/follow.out")" -ge 2 ] && break
	sleep 0.1
done
kill $FOLLOW 2>/dev/null
wait $FOLLOW 2>/dev/null
assert_eq "$slow $quick" "$(jq -r '.key' "$T/follow.out" | paste -sd' ')" "orchfs watch --since saw both, in commit order"
assert_eq "$slow $quick" "$(psql_ "SELECT entity_key FROM _orchfs_changes WHERE seq > $since ORDER BY seq" | paste -sd' ')" \
	"the feed's seqs follow the commits"

note "writers on both mounts edit one bug by revision: no update lost"
echo '{"title":"counter","description":"0"}' > "$MNT/bugs/new"
cat > "$T/writers.py" <<'PY'
import errno, json, multiprocessing as mp, os, sys, time
paths, seconds = sys.argv[1:3], float(sys.argv[3])
def writer(path, q):
    done, errs = 0, {}
    end = time.time() + seconds
    while time.time() < end:
        with open(path) as f:
            doc = json.loads(f.read())
        patch = json.dumps({"revision": doc["revision"], "description": str(int(doc["description"]) + 1)})
        try:
            fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
            try:
                os.write(fd, patch.encode())
            finally:
                os.close(fd)
            done += 1
        except OSError as e:
            name = errno.errorcode.get(e.errno, str(e.errno))
            errs[name] = errs.get(name, 0) + 1
    q.put((done, errs))
q = mp.Queue()
ps = [mp.Process(target=writer, args=(paths[i % 2], q)) for i in range(6)]
for p in ps: p.start()
res = [q.get() for _ in ps]
for p in ps: p.join()
done = sum(r[0] for r in res)
errs = {}
for r in res:
    for k, v in r[1].items(): errs[k] = errs.get(k, 0) + v
print(done, " ".join("%s=%d" % kv for kv in sorted(errs.items())))
PY
read -r done errs < <(python3 "$T/writers.py" "$MNT/bugs/BUG-002.json" "$MNT2/bugs/BUG-002.json" 3)
echo "# $done acknowledged increments from two mounts; refused: $errs"
[ "$done" -ge 20 ] || fail "too few increments to mean anything ($done)"
assert_eq "$done" "$(psql_ "SELECT description FROM bugs WHERE id = 'BUG-002'")" "counter equals acknowledged increments"
case " $errs " in *ESTALE=*) ;; *) fail "no stale edit was refused: the writers never conflicted ($errs)" ;; esac
for e in $errs; do
	case "$e" in ESTALE=* | EAGAIN=*) ;; *) fail "unexpected error $e" ;; esac
done
umount2 || fail "the second daemon exited non-zero"

note "a writer that cannot get the database's write lock within 5 s gets EAGAIN, and changes nothing"
# another session holds the lock orchfs's writers take (store/db.c: PG_WRITE_LOCK)
psql -X -q -d "$URL" -c "BEGIN" -c "SELECT pg_advisory_xact_lock(7310594420066648934)" -c "SELECT pg_sleep(8)" \
	-c "COMMIT" >/dev/null 2>&1 &
LOCKER=$!
sleep 1
before=$(psql_ "SELECT revision FROM bugs WHERE id = 'BUG-001'")
assert_eq "EAGAIN" "$(echo '{"severity":"low"}' | close_errno "$MNT/bugs/BUG-001.json")" "a save while the lock is held"
assert_eq "$before" "$(psql_ "SELECT revision FROM bugs WHERE id = 'BUG-001'")" "the refused save changed nothing"
assert_contains "$(cat "$MNT/bugs/.error")" "busy" "bugs/.error says why"
assert_eq "in_progress" "$(jq -r .status "$MNT/bugs/BUG-001.json")" "reads go on while a writer waits"
wait $LOCKER
echo '{"severity":"low"}' > "$MNT/bugs/BUG-001.json" || fail "the save once the lock is free"

note "full-text search on the server's text search index"
echo '{"title":"searched"}' > "$MNT/tasks/new" || fail "create a task"
printf '%s\n' '{"role":"user","content":"the quokka escaped"}' '{"role":"user","content":"nothing here"}' \
	>> "$MNT/tasks/TASK-001/transcript.jsonl" || fail "append to the transcript"
assert_eq "TASK-001 the quokka escaped" "$(jq -r '"\(.task_id) \(.content)"' "$MNT/tasks/search/quokka")" \
	"tasks/search/quokka"
assert_eq "" "$(cat "$MNT/tasks/search/walrus")" "a word in no row finds nothing"

umount_fs || fail "the first daemon exited non-zero"

note "the server stopped and restarted under a mount"
RPORT=${PG_RESTART_PORT:-5499}
RURL=$(PGPORT=$RPORT $PGS newdb t_restart 2>"$T/pg-restart.err") || { cat "$T/pg-restart.err"; fail "second cluster"; }
RPORT_UP=1
mount_fs --db "$RURL"
echo '{"title":"before the stop"}' > "$MNT/bugs/new" || fail "create"
PGPORT=$RPORT $PGS stop >/dev/null 2>&1 || fail "stop the server"
out=$(cat "$MNT/bugs/BUG-001.json" 2>&1) && fail "read with the server down succeeded: $out"
assert_contains "$out" "Host is down" "read with the server down"
assert_eq "EHOSTDOWN" "$(echo '{"title":"lost?"}' | close_errno "$MNT/bugs/new")" "create with the server down"
assert_contains "$(cat "$T/daemon.err")" "PostgreSQL server" "the log says why"
PGPORT=$RPORT $PGS start >/dev/null 2>&1 || fail "start the server"
# the first request after the restart is answered: connections are made again as needed
out=$(cat "$MNT/bugs/BUG-001.json" 2>&1) || fail "the mount did not recover when the server came back: $out"
assert_eq "before the stop" "$(jq -r .title "$MNT/bugs/BUG-001.json")" "nothing lost"
echo '{"title":"after the restart"}' > "$MNT/bugs/new" || fail "create after the restart"
assert_eq "BUG-001.json BUG-002.json" "$(ls "$MNT/bugs" | grep BUG | tr '\n' ' ' | sed 's/ $//')" \
	"the refused create left nothing, the next one got the next key"
umount_fs || fail "the daemon exited non-zero after the restart"
PGPORT=$RPORT $PGS stop >/dev/null 2>&1
RPORT_UP=

note "orchfs migrate down and up on the server: every step undone, then made again"
UD=t_updown_$$
UDURL=$($PGS newdb "$UD" 2>/dev/null) || fail "newdb $UD"
FIXTURE_CLEANUP="$FIXTURE_CLEANUP; \$PGS dropdb $UD >/dev/null 2>&1"
udsql() { psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$UDURL" -c "$1"; }
schema() { pg_dump --schema-only --no-owner "$UDURL" | grep -v '^--' | grep -v '^$' | grep -v '^SET \|^SELECT pg_catalog\|^.restrict \|^.unrestrict '; }
"$ORCHFS" migrate --db "$UDURL" up >/dev/null || fail "migrate up"
schema > "$T/schema.up"
"$ORCHFS" migrate --db "$UDURL" down 0 >/dev/null || fail "migrate down 0"
assert_eq "_orchfs_migrations" "$(udsql "SELECT string_agg(c.relname, ' ') FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind IN ('r', 'v', 'S', 'm', 'f', 'p')")" \
	"after down 0 only the version table is left"
assert_eq "" "$(udsql "SELECT string_agg(proname, ' ') FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'")" \
	"after down 0 no function is left"
"$ORCHFS" migrate --db "$UDURL" up >/dev/null || fail "migrate up again"
schema > "$T/schema.again"
diff -q "$T/schema.up" "$T/schema.again" >/dev/null || { diff "$T/schema.up" "$T/schema.again" | head -20; fail "the schema after up, down 0, up differs"; }
assert_eq "4" "$(udsql "SELECT count(*) FROM zones")" "the seeded zones are back"

note "least privilege: the schema's owner migrates, the agents' role only reads and writes rows"
ADMIN=orchfs_admin_$$ AGENT=orchfs_agent_$$ RNAME=t_roles_$$
su_sql() { runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 "$@"; }
FIXTURE_CLEANUP="$FIXTURE_CLEANUP; su_sql -c 'DROP DATABASE IF EXISTS $RNAME' -c 'DROP ROLE IF EXISTS $ADMIN' -c 'DROP ROLE IF EXISTS $AGENT' >/dev/null 2>&1"
su_sql -c "CREATE ROLE $ADMIN LOGIN PASSWORD 'adminpw'" -c "CREATE ROLE $AGENT LOGIN PASSWORD 'agentpw'" \
	-c "CREATE DATABASE $RNAME OWNER $ADMIN ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0" || fail "roles"
su_sql -d "$RNAME" -c "REVOKE ALL ON SCHEMA public FROM PUBLIC" -c "GRANT ALL ON SCHEMA public TO $ADMIN" \
	-c "GRANT USAGE ON SCHEMA public TO $AGENT" || fail "schema grants"
AURL=postgres://$ADMIN:adminpw@127.0.0.1:5432/$RNAME
GURL=postgres://$AGENT:agentpw@127.0.0.1:5432/$RNAME
out=$("$ORCHFS" migrate --db "$GURL" up 2>&1) && fail "the agents' role created the schema: $out"
"$ORCHFS" migrate --db "$AURL" up >/dev/null || fail "the owner migrates"
psql -X -q -v ON_ERROR_STOP=1 -d "$AURL" \
	-c "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO $AGENT" \
	-c "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO $AGENT" \
	-c "REVOKE INSERT, UPDATE, DELETE ON _orchfs_migrations FROM $AGENT" \
	-c "REVOKE DELETE ON tool_executions FROM $AGENT" || fail "grants"
mount_fs --db "$GURL"
echo '{"title":"by the agents role","labels":["a"]}' > "$MNT/bugs/new" || fail "create as the agents' role"
echo '{"status":"fixed"}' > "$MNT/bugs/BUG-001.json" || fail "update as the agents' role"
echo '{"title":"a task"}' > "$MNT/tasks/new" || fail "create a task"
rmdir "$MNT/tasks/TASK-001" || fail "delete as the agents' role"
assert_eq "fixed" "$(jq -r .status "$MNT/bugs/BUG-001.json")" "the update"
umount_fs || fail "daemon"
out=$(psql -X -q -d "$GURL" -c "DELETE FROM tool_executions" 2>&1) && fail "the agents' role deleted audit rows"
assert_contains "$out" "permission denied" "the audit log is append-only for the agents' role"
out=$(psql -X -q -d "$GURL" -c "DROP TABLE bugs" 2>&1) && fail "the agents' role dropped a table"
assert_contains "$out" "must be owner" "the agents' role cannot change the schema"

note "SQLite -> PostgreSQL -> SQLite: every file the same"
mount_fs
sh "$(dirname "$0")/../../scripts/demo-data.sh" "$MNT" "$DB" "$UDB" >/dev/null || fail "demo data"
umount_fs || fail "daemon"
URL2=$($PGS newdb "${NAME}_copy" 2>/dev/null) || fail "newdb"
FIXTURE_CLEANUP="$FIXTURE_CLEANUP; \$PGS dropdb ${NAME}_copy >/dev/null 2>&1"
out=$("$ORCHFS" migrate --db "$DB" --to "$URL2" 2>&1) || fail "migrate --to PostgreSQL: $out"
assert_contains "$out" "verified" "migrate --to PostgreSQL"
out=$("$ORCHFS" migrate --db "$URL2" --to "$T/back.db" 2>&1) || fail "migrate --to SQLite: $out"
assert_contains "$out" "verified" "migrate back to SQLite"
out=$("$ORCHFS" migrate --db "$URL2" --to "$URL2" 2>&1) && fail "migrate into a database with changes succeeded"
assert_contains "$out" "import needs a new database" "migrate into a used database"
# every file of the tree, from the original and from the copy that went through the server
mount_fs
mkdir -p "$T/mnt3"
"$ORCHFS" mount -f --db "$T/back.db" "$T/mnt3" 2>"$T/daemon3.err" &
PID3=$!
for _ in $(seq 1 100); do grep -q " $T/mnt3 fuse" /proc/mounts && break; sleep 0.05; done
n=0
while IFS= read -r f; do
	a=$(jq -S . "$MNT/$f" 2>/dev/null || cat "$MNT/$f")
	b=$(jq -S . "$T/mnt3/$f" 2>/dev/null || cat "$T/mnt3/$f")
	[ "$a" = "$b" ] || { "$ORCHFS" umount "$T/mnt3"; fail "$f differs after the round trip"; }
	n=$((n + 1))
done < <(cd "$MNT" && find tasks bugs rules zones workflows worktrees agents documents audit -type f \
	! -name '.error' ! -path '*/search/*' | sort)
"$ORCHFS" umount "$T/mnt3"
wait $PID3 || fail "third daemon"
echo "# $n files the same after SQLite -> PostgreSQL -> SQLite"
[ "$n" -ge 30 ] || fail "only $n files compared"
