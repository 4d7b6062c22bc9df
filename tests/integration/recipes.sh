#!/bin/bash
# recipes.sh - every sh block of docs/recipes.md, run as written on the demo
# state, prints exactly the text block that follows it.
. "$(dirname "$0")/lib.sh"
SRC=$(cd "$(dirname "$0")/../.." && pwd)
mount_fs
sh "$SRC/scripts/demo-data.sh" "$MNT" || fail "demo data"
mkdir -p "$T/bin" && ln -s "$ORCHFS" "$T/bin/orchfs"
export PATH="$T/bin:$PATH"
rm -rf /tmp/recipe-repo
FIXTURE_CLEANUP="rm -rf /tmp/recipe-repo"
python3 - "$SRC/docs/recipes.md" "$T/recipes" <<'PY'
import os, re, sys
text = open(sys.argv[1]).read()
pairs = re.findall(r"```sh\n(.*?)```\n\n```text\n(.*?)```", text, re.S)
os.makedirs(sys.argv[2])
for i, (cmd, out) in enumerate(pairs):
    open(os.path.join(sys.argv[2], "%02d.sh" % i), "w").write(cmd)
    open(os.path.join(sys.argv[2], "%02d.out" % i), "w").write(out)
print(len(pairs))
PY
n=$(ls "$T/recipes"/*.sh | wc -l)
[ "$n" -ge 6 ] || fail "only $n recipes found in docs/recipes.md"
for r in "$T/recipes"/*.sh; do
	note "recipe: $(head -n 1 "$r")"
	(cd "$MNT" && sh "$r") > "$T/got" 2>"$T/err"
	diff -u "${r%.sh}.out" "$T/got" || fail "recipe $(basename "$r") printed something else ($(cat "$T/err"))"
done
umount_fs || fail "clean unmount"
