#!/bin/sh
# test.sh - the whole test suite, as CI runs it: install the dependencies,
# build with warnings as errors and run every test (the integration suite on
# SQLite and again on PostgreSQL: a loopback server through
# scripts/pg-server.sh), then build again with AddressSanitizer and
# UndefinedBehaviorSanitizer and run every test again but the PostgreSQL
# runs, then build the fuzz targets with clang and run each briefly.
# Prints "N passed, M failed" last. Run as root (it installs packages and
# mounts FUSE filesystems).
set -u
cd "$(dirname "$0")/.."
sh scripts/deps.sh >/tmp/orchfs-deps.log 2>&1 || { cat /tmp/orchfs-deps.log; exit 1; }
# the PostgreSQL backend's tests need a server: one on loopback, Debian's
sh scripts/pg-server.sh up >/tmp/orchfs-pg.log 2>&1 || { cat /tmp/orchfs-pg.log; exit 1; }

passed=0
failed=0
run() { # run DIR [--suite S | --no-suite S] MESON-OPTIONS...
	dir=$1
	shift
	suite=
	if [ "${1:-}" = --suite ] || [ "${1:-}" = --no-suite ]; then
		suite="$1 $2"
		shift 2
	fi
	echo "== build $dir: $*"
	rm -rf "$dir"
	if ! meson setup "$dir" "$@" >"$dir.setup.log" 2>&1; then
		cat "$dir.setup.log"
		failed=$((failed + 1))
		return
	fi
	if ! ninja -C "$dir"; then
		failed=$((failed + 1))
		return
	fi
	echo "== test $dir"
	# shellcheck disable=SC2086
	meson test -C "$dir" --print-errorlogs --num-processes 2 $suite
	ok=$(sed -n 's/^Ok: *\([0-9]*\).*/\1/p' "$dir/meson-logs/testlog.txt" | tail -n 1)
	bad=0
	for k in Fail "Unexpected Pass" Timeout; do
		n=$(sed -n "s/^$k: *\([0-9]*\).*/\1/p" "$dir/meson-logs/testlog.txt" | tail -n 1)
		bad=$((bad + ${n:-0}))
	done
	passed=$((passed + ${ok:-0}))
	failed=$((failed + bad))
}

run build-ci -Dwerror=true -Dbuildtype=debugoptimized
export ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# The PostgreSQL runs (suite postgres) only in the first build: the budget.
run build-asan --no-suite postgres -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug

# The libFuzzer targets (JSON merge patch and validation, paths, the mapping
# loader) need clang: their own build, running each for a short while.
export CC=clang
run build-fuzz --suite fuzz -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug
unset CC

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
