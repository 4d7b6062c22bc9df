#!/bin/sh
# check-registered.sh SRCDIR NAME... - fail if a test file exists that
# tests/meson.build does not run (as git's t/ does).
src=$1
shift
rc=0
for f in "$src"/unit/test_*.c "$src"/integration/*.sh; do
	[ -e "$f" ] || continue
	name=$(basename "$f")
	name=${name%.c}
	name=${name%.sh}
	[ "$name" = lib ] && continue
	found=0
	for n in "$@"; do
		[ "$n" = "$name" ] && found=1
	done
	if [ $found -eq 0 ]; then
		echo "not registered in tests/meson.build: $f"
		rc=1
	fi
done
[ $rc -eq 0 ] && echo "every test file is registered"
exit $rc
