#!/bin/bash
# dbfile.sh - the database file replaced or removed under a running mount.
# - Replaced (a backup restored with mv): the next write goes to the new
#   file, reads follow within the mount's look at the path (10 ms), the old
#   file is checkpointed before it is let go (a name kept for it finds every
#   acknowledged write), one line in the log.
# - Removed: writes and reads fail with ENOENT, .error and the log say
#   "database PATH was removed", the old -wal and -shm go with it; a
#   database put back at the path is served again.
# - A file that is not a database, or one of another schema version, is not
#   served (ENOENT and the reason) until a usable one is there.
# - A write storm across a replacement: every write whose close() returned 0
#   is in the file that was at the path when it returned; readers see no error.
. "$(dirname "$0")/lib.sh"
LOG=$T/daemon.err
settle() { sleep 0.1; } # longer than the mount waits between looks at the path

# read_errno PATH: read it through open/read/close; OK or the errno name
read_errno() {
	python3 -c 'import errno, sys
try:
    open(sys.argv[1], "rb").read()
    print("OK")
except OSError as e:
    print(errno.errorcode[e.errno])' "$1"
}
titles() { sqlite3 -bail "$1" "SELECT group_concat(title, '|') FROM (SELECT title FROM bugs ORDER BY id)"; }
write() { echo "$2" | close_errno "$MNT/$1"; } # write PATH JSON: OK or the errno name

mount_fs

# ---------------------------------------------------------------------------
note "1. a backup restored with mv: the next write goes to it, reads follow"
check_eq OK "$(write bugs/new '{"title":"before the backup"}')" "a create"
sql ".backup '$T/backup.db'"
check_eq OK "$(write bugs/new '{"title":"after the backup"}')" "a create after the backup"
check_eq OK "$(write bugs/BUG-001.json '{"description":"patched after the backup"}')" "a patch after the backup"
ln "$DB" "$T/aside.db" # the old file keeps a name: what it holds can be checked
mv "$T/backup.db" "$DB"
check_eq OK "$(write bugs/new '{"title":"after the restore"}')" "the first write after the restore"
check_eq BUG-002 "$(cat "$MNT/bugs/new")" "the key was allocated in the restored file"
check_eq "before the backup|after the restore" "$(titles "$DB")" "the write went to the restored file"
settle
check_eq "after the restore" "$(jq -r .title "$MNT/bugs/BUG-002.json")" "a read serves the restored file"
check_eq null "$(jq -r .description "$MNT/bugs/BUG-001.json")" "the patch made after the backup is not in it"
check_eq ok "$(sql "PRAGMA integrity_check")" "integrity_check of the restored file"
check_eq "before the backup|after the backup" "$(titles "$T/aside.db")" "the old file holds its writes (checkpointed)"
check_eq "patched after the backup" "$(sqlite3 "$T/aside.db" "SELECT description FROM bugs WHERE id = 'BUG-001'")" \
	"the old file holds the patch"
check_eq ok "$(sqlite3 "$T/aside.db" "PRAGMA integrity_check")" "integrity_check of the old file"
check_eq 1 "$(grep -c "orchfs: database $DB was replaced: serving the file now at that path" "$LOG")" \
	"one line in the log"

# ---------------------------------------------------------------------------
note "2. the database removed: ENOENT, and the reason in .error and the log"
rm "$DB"
check_eq ENOENT "$(write bugs/new '{"title":"into nothing"}')" "a create with the database removed"
check_contains "$(cat "$MNT/bugs/.error")" "new: database $DB was removed" ".error names the file and the reason"
check_eq ENOENT "$(write bugs/BUG-001.json '{"description":"into nothing"}')" "a patch with the database removed (its open)"
settle
check_eq ENOENT "$(read_errno "$MNT/bugs/BUG-001.json")" "a read with the database removed"
ls "$MNT/bugs" >/dev/null 2>"$T/ls.err"
check_contains "$(cat "$T/ls.err")" "No such file or directory" "ls of a collection with the database removed"
check_contains "$(cat "$LOG")" "orchfs: database $DB was removed; reads and writes fail with ENOENT until a database is at that path again" \
	"the log says so"
check_contains "$(cat "$LOG")" "orchfs: /bugs/new: database $DB was removed (No such file or directory" \
	"the log names the refused write"
[ -e "$DB-wal" ] && bad "the removed database's -wal is still at the path"
[ -e "$DB-shm" ] && bad "the removed database's -shm is still at the path"
check_eq 1 "$(grep -c "database $DB was removed;" "$LOG")" "the removal is logged once"

# ---------------------------------------------------------------------------
note "3. a database back at the path is served again"
cp "$T/aside.db" "$T/back.db"
mv "$T/back.db" "$DB"
check_eq OK "$(write bugs/new '{"title":"back"}')" "a create once the database is back"
check_eq BUG-003 "$(cat "$MNT/bugs/new")" "the key follows the file that came back"
check_eq "before the backup|after the backup|back" "$(titles "$DB")" "the write went to the file at the path"
check_contains "$(cat "$LOG")" "orchfs: database $DB is back: serving it" "the log says so"
settle
check_eq OK "$(read_errno "$MNT/bugs/BUG-003.json")" "a read once the database is back"

# ---------------------------------------------------------------------------
note "4. a file that cannot be served is not"
echo 'not a database' >"$T/junk"
mv "$T/junk" "$DB"
check_eq ENOENT "$(write bugs/new '{"title":"into junk"}')" "a create with junk at the path"
check_contains "$(cat "$MNT/bugs/.error")" "new: database $DB was replaced by a file that cannot be served: file is not a database" \
	".error says why"
cp "$T/aside.db" "$T/old.db"
sqlite3 -bail "$T/old.db" "DELETE FROM _orchfs_migrations WHERE version = (SELECT max(version) FROM _orchfs_migrations)"
mv "$T/old.db" "$DB"
check_eq ENOENT "$(write bugs/new '{"title":"into an old schema"}')" "a create with an older schema at the path"
check_contains "$(cat "$MNT/bugs/.error")" "cannot be served: schema version" ".error says why"
cp "$T/aside.db" "$T/good.db"
mv "$T/good.db" "$DB"
check_eq OK "$(write bugs/new '{"title":"good again"}')" "a create with a usable file at the path again"
check_eq "before the backup|after the backup|good again" "$(titles "$DB")" "it went to that file"

# ---------------------------------------------------------------------------
note "5. a write storm across a replacement: every acknowledged write is in the file at the path when close() returned"
sql ".backup '$T/storm-backup.db'"
cat >"$T/storm.py" <<'PY'
import errno, os, sys, time
mnt, me, out, stop = sys.argv[1], sys.argv[2], open(sys.argv[3], "w", buffering=1), sys.argv[4]
i = 0
while not os.path.exists(stop):
    i += 1
    tag = "%s-%d" % (me, i)
    try:
        if me.startswith("r"):
            with open(mnt + "/bugs.jsonl", "rb") as f:
                f.read()
        else:
            fd = os.open(mnt + "/bugs/new", os.O_WRONLY | os.O_TRUNC)
            try:
                os.write(fd, b'{"title":"%s"}' % tag.encode())
            finally:
                os.close(fd)
        out.write("ack %s %.6f\n" % (tag, time.monotonic()))
    except OSError as e:
        out.write("err %s %.6f %s\n" % (tag, time.monotonic(), errno.errorcode.get(e.errno, e.errno)))
PY
pids=
for w in a b c r; do
	python3 "$T/storm.py" "$MNT" "$w" "$T/storm.$w" "$T/stop" &
	pids="$pids $!"
done
FIXTURE_CLEANUP="touch '$T/stop'; kill $pids 2>/dev/null"
acked() { cat "$T"/storm.[abc] 2>/dev/null | grep -c '^ack'; }
# enough writes on each side to mean something, however loaded the machine
for _ in $(seq 1 200); do [ "$(acked)" -gt 30 ] && break; sleep 0.05; done
ln "$DB" "$T/storm-old.db"
t0=$(python3 -c 'import time; print("%.6f" % time.monotonic())')
mv "$T/storm-backup.db" "$DB"
t1=$(python3 -c 'import time; print("%.6f" % time.monotonic())')
n1=$(acked)
for _ in $(seq 1 200); do [ "$(acked)" -gt $((n1 + 30)) ] && break; sleep 0.05; done
touch "$T/stop"
for p in $pids; do wait "$p"; done
FIXTURE_CLEANUP=
cat "$T"/storm.[abc] >"$T/storm"
grep '^err' "$T/storm.r" | head -3 | sed 's/^/# /'
check_eq 0 "$(grep -c '^err' "$T/storm.r")" "reads during the replacement failed"
grep '^err' "$T/storm" | sed 's/^/# /' | head -5
check_eq "" "$(grep '^err' "$T/storm" | awk '$4 != "ESTALE" && $4 != "EAGAIN"')" "only ESTALE or EAGAIN for writes caught by the replacement"
sqlite3 -bail "$T/storm-old.db" "SELECT title FROM bugs" >"$T/in-old"
sql "SELECT title FROM bugs" >"$T/in-new"
# Each acknowledged write is where the path pointed when its close() returned.
python3 - "$T/storm" "$T/in-old" "$T/in-new" "$t0" "$t1" >"$T/verdict" <<'PY'
import sys
storm, old, new, t0, t1 = sys.argv[1], set(open(sys.argv[2]).read().split()), \
    set(open(sys.argv[3]).read().split()), float(sys.argv[4]), float(sys.argv[5])
n = {"before": 0, "after": 0}
for line in open(storm):
    f = line.split()
    tag, t = f[1], float(f[2])
    if f[0] == "err":
        if tag in new:
            print("bad %s was refused but is in the file at the path" % tag)
    elif t > t1:
        n["after"] += 1
        if tag not in new:
            print("bad %s, acknowledged after the replacement, is not in the file at the path" % tag)
    elif t < t0:
        n["before"] += 1
        if tag not in old or tag in new:
            print("bad %s, acknowledged before the replacement, is not in the old file alone" % tag)
    elif tag not in old and tag not in new:
        print("bad %s, acknowledged during the replacement, is in neither file" % tag)
print("before %d" % n["before"])
print("after %d" % n["after"])
PY
grep '^bad' "$T/verdict" | head -5 | sed 's/^bad /FAIL: /' >&2
grep -q '^bad' "$T/verdict" && bad "acknowledged writes not where the path pointed ($(grep -c '^bad' "$T/verdict"))"
before=$(sed -n 's/^before //p' "$T/verdict")
after=$(sed -n 's/^after //p' "$T/verdict")
note "$before writes acknowledged before the replacement, $after after, $(grep -c '^err' "$T/storm") refused"
[ "$before" -gt 10 ] && [ "$after" -gt 10 ] || bad "too few writes on one side of the replacement to mean anything"
check_eq ok "$(sql "PRAGMA integrity_check")" "integrity_check of the new file after the storm"
check_eq ok "$(sqlite3 "$T/storm-old.db" "PRAGMA integrity_check")" "integrity_check of the old file after the storm"

# ---------------------------------------------------------------------------
note "6. a backup restored with mv while no request reaches the mount: let go at once, with its log"
# The old file's -wal stayed at the path until a request came, and the next
# process to open the restored file (sqlite3 here, an orchestrator in life)
# paired it with that log: the restore was undone, or the file corrupted.
check_eq OK "$(write bugs/new '{"title":"as backed up"}')" "a create"
key=$(cat "$MNT/bugs/new")
sql ".backup '$T/backup6.db'"
check_eq OK "$(write "bugs/$key.json" '{"title":"changed after the backup"}')" "a save after the backup"
check_eq "changed after the backup" "$(jq -r .title "$MNT/bugs/$key.json")" "read"
check_eq "changed after the backup" "$(jq -r .title "$MNT/bugs/$key.json")" "read again (kept by the cache)"
mv "$T/backup6.db" "$DB"
sleep 0.5 # nothing asks the mount: the watcher alone sees the path change
check_eq "as backed up" "$(sqlite3 -bail "$DB" "SELECT title FROM bugs WHERE id = '$key'")" \
	"sqlite3 opening the restored file reads the backup"
check_eq ok "$(sqlite3 -bail "$DB" "PRAGMA integrity_check")" "integrity_check of the restored file"
check_eq "as backed up" "$(jq -r .title "$MNT/bugs/$key.json")" "the mount reads the backup"
check_eq OK "$(write "bugs/$key.json" '{"title":"saved to the restored file"}')" "a save after the restore"
check_eq "saved to the restored file" "$(sqlite3 -bail "$DB" "SELECT title FROM bugs WHERE id = '$key'")" "it is in the restored file"

umount_fs || fail "clean unmount"
