#!/bin/sh
# deps.sh - install everything orchfs needs to build, run and test, from
# Debian's packages. Run as root on Debian 12 (bookworm) or later.
set -eu
if [ "$(id -u)" -ne 0 ]; then
	echo "deps.sh: run as root (it calls apt-get)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends \
	build-essential pkg-config meson ninja-build python3 \
	libfuse3-dev fuse3 libsqlite3-dev sqlite3 libcjson-dev libpq-dev \
	postgresql postgresql-client \
	jq inotify-tools tmux vim nano emacs-nox rsync perl git procps psmisc \
	clang libclang-rt-14-dev valgrind ca-certificates
