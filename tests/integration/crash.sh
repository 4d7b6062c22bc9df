#!/bin/bash
# crash.sh - the daemon killed with SIGKILL in the middle of a write storm
# (creates through new, patches, rename-over saves, log appends, invalid
# writes) loses nothing it acknowledged: after a restart the database passes
# integrity_check, every write whose close() returned 0 is there, no refused
# write is, scratch files are gone, and `orchfs mount` clears the stale mount
# with a message.
. "$(dirname "$0")/lib.sh"
mount_fs
mkdir "$MNT/tasks/TASK-001"
echo '{"title":"seed"}' > "$MNT/bugs/new"

# Each writer logs what close() acknowledged: "ack KIND VALUE" or "err KIND VALUE ERRNO".
cat > "$T/storm.py" <<'PY'
import errno, os, sys, time
mnt, me, out = sys.argv[1], sys.argv[2], open(sys.argv[3], "w", buffering=1)
def write(path, data, flags=os.O_WRONLY | os.O_TRUNC):
    fd = os.open(path, flags)
    try:
        os.write(fd, data.encode())
    finally:
        os.close(fd)
i = 0
while True:
    i += 1
    tag = "%s-%d" % (me, i)
    kind = ("new", "patch", "rename", "append", "bad")[i % 5]
    try:
        if kind == "new":
            write(mnt + "/bugs/new", '{"title":"%s"}' % tag)
        elif kind == "patch":
            write(mnt + "/bugs/BUG-001.json", '{"description":"%s"}' % tag)
        elif kind == "rename":
            tmp = mnt + "/bugs/.tmp-" + tag
            write(tmp, '{"assignee":"%s"}' % tag, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
            os.rename(tmp, mnt + "/bugs/BUG-001.json")
        elif kind == "append":
            write(mnt + "/tasks/TASK-001/transcript.jsonl", '{"content":"%s"}\n' % tag,
                  os.O_WRONLY | os.O_APPEND)
        else:
            write(mnt + "/bugs/BUG-001.json", '{"priority":99,"description":"%s"}' % tag)
        out.write("ack %s %s\n" % (kind, tag))
    except OSError as e:
        out.write("err %s %s %s\n" % (kind, tag, errno.errorcode.get(e.errno, e.errno)))
        if e.errno in (errno.ENOTCONN, errno.ENOENT, errno.ECONNABORTED):
            break
PY
pids=
for w in a b c; do
	python3 "$T/storm.py" "$MNT" "$w" "$T/storm.$w" &
	pids="$pids $!"
done
FIXTURE_CLEANUP="kill $pids 2>/dev/null"
sleep 1.5
kill -9 "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null
DAEMON_PID=
for p in $pids; do wait "$p" 2>/dev/null; done
FIXTURE_CLEANUP=
cat "$T"/storm.? > "$T/storm"
acks=$(grep -c '^ack' "$T/storm")
echo "# $acks acknowledged writes before the kill"
[ "$acks" -gt 30 ] || fail "too few writes before the kill to mean anything: $acks"
grep -q '^ack bad' "$T/storm" && fail "an invalid write was acknowledged: $(grep '^ack bad' "$T/storm" | head -1)"

note "the database is intact and holds every acknowledged write"
# SQLite's own check of its file; on PostgreSQL the server outlives the daemon
on_pg || assert_eq "ok" "$(sql "PRAGMA integrity_check")" "integrity_check after SIGKILL"
while read -r _ kind tag; do
	case $kind in
	new) [ "$(sql "SELECT count(*) FROM bugs WHERE title = '$tag'")" = 1 ] || fail "acknowledged create $tag is missing" ;;
	append) [ "$(sql "SELECT count(*) FROM transcripts WHERE content = '$tag'")" = 1 ] || fail "acknowledged append $tag is missing" ;;
	patch | rename) [ "$(sql "SELECT count(*) FROM tool_executions WHERE status = 'success' AND CAST(arguments AS TEXT) LIKE '%$tag%'")" -ge 1 ] ||
		fail "acknowledged $kind $tag has no audit row" ;;
	esac
done < <(grep '^ack' "$T/storm")
# The last acknowledged patch of BUG-001's description is the value it has, or a later one.
assert_eq "0" "$(sql "SELECT count(*) FROM bugs WHERE priority = 99")" "no refused write landed"
assert_eq "0" "$(sql "SELECT count(*) FROM tool_executions WHERE status = 'success' AND replace(CAST(arguments AS TEXT), ' ', '') LIKE '%\"priority\":99%'")" "no refused write was recorded as a success"

note "orchfs mount clears the stale mount and the new daemon serves the same rows"
grep -q " $MNT fuse" /proc/mounts || fail "the killed daemon left no stale mount to clear (the test means nothing)"
mount_fs
grep -q "stale mount" "$T/daemon.err" || fail "no message about the stale mount: $(cat "$T/daemon.err")"
assert_eq "$(sql "SELECT count(*) FROM bugs")" "$(ls "$MNT/bugs" | grep -c '\.json$')" "every bug is listed again"
assert_eq "" "$(ls -A "$MNT/bugs" | grep '^\.tmp-' || true)" "no scratch file survived the crash"
echo '{"title":"after the crash"}' > "$MNT/bugs/new"
assert_eq "after the crash" "$(jq -r .title "$MNT/bugs/$(cat "$MNT/bugs/new").json")" "writes work again"
umount_fs || fail "clean unmount after recovery"
