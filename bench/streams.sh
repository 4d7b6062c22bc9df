#!/usr/bin/env bash
# streams.sh - what reading a long audit log costs through the mount, by
# hand, with two builds side by side (docs/PERFORMANCE.md, "Reading the
# audit log and the feed"):
#
#   sh bench/streams.sh [--rows N] [ORCHFS...]
#
# Makes a project whose audit log holds N tool calls (a million unless
# said; inserted with sqlite3), then for each orchfs binary given (the
# build's, build/mount/orchfs, if none) mounts a copy of it and times, once
# each and in this order: the first `ls -l` of the root (which counts the
# streams), `tail -n 1 audit.jsonl` twice, a save then `tail -n 1` again,
# `cat audit.jsonl` twice; checks that the size stat reports is what cat
# reads; and prints the daemon's peak RSS. A binary of an older schema gets
# a copy migrated down to its version first. Needs root (it mounts).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
ROWS=1000000
if [ "${1:-}" = --rows ]; then
	ROWS=$2
	shift 2
fi
[ $# -gt 0 ] || set -- "$ROOT/build/mount/orchfs"
bins=()
for bin in "$@"; do
	bins+=("$(realpath "$bin")")
done
W=$(mktemp -d "${TMPDIR:-/var/tmp}/orchfs-streams.XXXXXX")
M=$W/mnt
cleanup() {
	grep -q " $M fuse" /proc/mounts && { umount "$M" 2>/dev/null || umount -l "$M"; }
	rm -rf "$W"
}
trap cleanup EXIT
mkdir -p "$W/base" "$M"
(cd "$W/base" && "${bins[0]}" init . >/dev/null)
sqlite3 "$W/base/.orchfs/project.db" "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $ROWS)
INSERT INTO tool_executions (tool_name, operation, status, result, arguments)
SELECT 'bulk', 'tool_call', 'success', 'one of many tool calls: ' || i, json_object('command', 'make test', 'n', i) FROM n"
ms() { # ms CMD...: its wall time in milliseconds, its output dropped
	local s=$EPOCHREALTIME
	"$@" >/dev/null
	awk -v a="$s" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", (b - a) * 1000 }'
}
for bin in "${bins[@]}"; do
	rm -rf "$W/p"
	cp -r "$W/base" "$W/p"
	cd "$W/p"
	latest=$("$bin" version | sed -n 's/^schema versions: project \([0-9]*\).*/\1/p')
	# a database newer than the binary goes down to its version (older: the mount brings it up)
	[ -z "$latest" ] || "$ROOT/build/mount/orchfs" migrate down "$latest" >/dev/null 2>&1 || true
	"$bin" mount "$M" >/dev/null
	pid=$(pgrep -f "orchfs mount $M" | head -n 1)
	echo "$bin (schema $latest), $ROWS audit rows:"
	echo "  first ls -l of the root       $(ms ls -l "$M") ms"
	echo "  tail -n 1 audit.jsonl         $(ms tail -n 1 "$M/audit.jsonl") ms, again $(ms tail -n 1 "$M/audit.jsonl") ms"
	echo '{"title":"a save"}' > "$M/bugs/BUG-900.json"
	echo "  tail -n 1 after a save        $(ms tail -n 1 "$M/audit.jsonl") ms"
	echo "  cat audit.jsonl               $(ms cat "$M/audit.jsonl") ms, again $(ms cat "$M/audit.jsonl") ms"
	size=$(stat -c %s "$M/audit.jsonl")
	[ "$(cat "$M/audit.jsonl" | wc -c)" = "$size" ] || { echo "streams.sh: stat and cat disagree" >&2; exit 1; }
	echo "  size $size bytes; daemon's peak RSS $(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status") kB"
	cd "$W"
	umount "$M"
done
