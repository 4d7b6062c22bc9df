#!/bin/sh
# build.sh [DIR [MESON OPTIONS...]] - configure (once) and build orchfs in DIR
# (default: build).
set -eu
cd "$(dirname "$0")/.."
dir=${1:-build}
[ $# -gt 0 ] && shift
if [ ! -f "$dir/build.ninja" ]; then
	meson setup "$dir" "$@"
fi
ninja -C "$dir"
