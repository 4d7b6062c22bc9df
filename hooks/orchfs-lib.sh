# orchfs-lib.sh - what the orchfs git hooks share: where the state is.
# The mount named by `git config orchfs.mount` is read (one read of a
# collection's JSON Lines stream: one consistent snapshot) and written like
# any directory. When it is absent, the hooks say so and use the orchfs
# command on the database directly (found from the repository like
# `orchfs mount` finds it, or `git config orchfs.db`): never a silent pass.
ORCHFS=${ORCHFS:-orchfs}
command -v jq >/dev/null 2>&1 || { echo "orchfs: the hooks need jq" >&2; return 1; }
orchfs_mnt=$(git config orchfs.mount 2>/dev/null || true)
orchfs_db=$(git config orchfs.db 2>/dev/null || true)
[ -n "$orchfs_db" ] && export ORCHFS_DB="$orchfs_db"
if [ -n "$orchfs_mnt" ] && [ -f "$orchfs_mnt/tasks.jsonl" ]; then
	orchfs_mounted=1
else
	orchfs_mounted=0
	echo "orchfs: the mount${orchfs_mnt:+ $orchfs_mnt} is not there; reading the database directly" >&2
fi

# orchfs_collection NAME: the collection as JSON Lines, from one snapshot
orchfs_collection() {
	if [ "$orchfs_mounted" = 1 ]; then
		cat "$orchfs_mnt/$1.jsonl"
	else
		"$ORCHFS" cat "$1"
	fi
}

# orchfs_append COLLECTION KEY LOG < lines: append rows to an entity's log
orchfs_append() {
	if [ "$orchfs_mounted" = 1 ]; then
		cat >> "$orchfs_mnt/$1/$2/$3"
	else
		"$ORCHFS" append "$1" "$2" "$3"
	fi
}
