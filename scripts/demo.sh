#!/bin/sh
# demo.sh [DIR] - install, build, and mount a demo project with sample data.
#
# Creates DIR (default: ~/orchfs-demo) with a project in DIR/.orchfs, mounts
# it at DIR/mnt, fills it through the mount with ordinary shell writes (so
# every sample row has its audit row), and says where to look. Run as root
# on Debian: it installs the dependencies with apt-get.
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
demo=${1:-$HOME/orchfs-demo}

sh "$src/scripts/deps.sh" >/tmp/orchfs-deps.log 2>&1 || { cat /tmp/orchfs-deps.log; exit 1; }
sh "$src/scripts/build.sh" build >/dev/null
orchfs=$src/build/mount/orchfs

mkdir -p "$demo/mnt"
if grep -q " $demo/mnt fuse" /proc/mounts; then
	"$orchfs" umount "$demo/mnt"
	sleep 0.2
fi
cd "$demo"
"$orchfs" init
fresh=$(sqlite3 .orchfs/project.db "SELECT count(*) FROM tasks")
"$orchfs" mount mnt
[ "$fresh" = 0 ] && sh "$src/scripts/demo-data.sh" "$demo/mnt" "$demo/.orchfs/project.db" "${ORCHFS_USER_DB:-$HOME/.orchfs/user.db}"

cat <<MSG

orchfs is mounted at $demo/mnt (database: $demo/.orchfs/project.db).
Try:
  cd $demo/mnt
  ls -l tasks bugs rules zones
  cat bugs/BUG-001.json
  ls -l tasks/by-status/running/
  echo '{"status":"fixed"}' > bugs/BUG-002.json && jq .status bugs/BUG-002.json
  echo '{"title":"Try orchfs"}' > tasks/new && cat tasks/new
  sqlite3 $demo/.orchfs/project.db 'SELECT id, tool_name, operation, path, status FROM tool_executions'
Unmount with: $orchfs umount $demo/mnt
MSG
