#!/bin/bash
# diskfull.sh - the database on a full disk: a write that cannot be stored
# fails with ENOSPC (passed on, never EIO), the database stays intact and
# holds every acknowledged write, and writes work again once there is room.
# Also: a 100 MB write is refused with EFBIG (the limit is 8 MiB a save).
. "$(dirname "$0")/lib.sh"
DISK=$T/disk
mkdir -p "$DISK"
# 3 MiB: the empty schema takes 600 KB, and its first checkpoint needs room too.
mount -t tmpfs -o size=3m orchfs-test "$DISK" || fail "cannot mount a small tmpfs"
FIXTURE_CLEANUP="umount -l '$DISK' 2>/dev/null"
(cd "$DISK" && ORCHFS_DB= "$ORCHFS" init >/dev/null) || fail "init on the small disk"
export ORCHFS_DB=$DISK/.orchfs/project.db
DB=$ORCHFS_DB
mount_fs
FIXTURE_CLEANUP="umount -l '$DISK' 2>/dev/null"

note "fill the disk through the mount"
big=$(head -c 60000 /dev/zero | tr '\0' 'x')
acked=0 last=OK
for i in $(seq 1 100); do
	last=$(printf '{"title":"b%d","description":"%s"}' "$i" "$big" | close_errno "$MNT/bugs/new")
	[ "$last" = OK ] || break
	acked=$((acked + 1))
done
echo "# $acked bugs stored before the disk was full; then: $last"
assert_eq "ENOSPC" "$last" "a write that does not fit"
assert_contains "$(cat "$MNT/bugs/.error" 2>/dev/null)" "full" ".error says the disk is full"
assert_eq "ok" "$(sql "PRAGMA integrity_check")" "integrity_check on the full disk"
assert_eq "$acked" "$(sql "SELECT count(*) FROM bugs")" "every acknowledged bug is there, no other"

note "room again: writes work"
# room made the way an administrator makes it: the file system grows (deleting
# rows on a disk this full cannot work: even a DELETE appends to the log)
mount -o remount,size=4m "$DISK" || fail "cannot grow the small tmpfs"
assert_eq "OK" "$(echo '{"title":"after"}' | close_errno "$MNT/bugs/new")" "a small write after making room"

note "a 100 MB write is EFBIG"
assert_eq "EFBIG" "$(head -c 100000000 /dev/zero | tr '\0' 'x' | sed 's/^/{"title":"/' | close_errno "$MNT/bugs/BUG-001.json")" "100 MB"
umount_fs || fail "clean unmount"
