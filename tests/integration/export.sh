#!/bin/bash
# export.sh - orchfs export / import: the demo state, written through the
# mount, exported, imported into an empty project and exported again gives
# the same bytes; the imported project mounts and reads the same; secrets
# are masked unless asked for; an import into a non-empty database is
# refused and changes nothing.
. "$(dirname "$0")/lib.sh"
SRC=$(cd "$(dirname "$0")/../.." && pwd)
mount_fs
sh "$SRC/scripts/demo-data.sh" "$MNT" || fail "demo data"
echo '{"status":"fixed"}' > "$MNT/bugs/BUG-002.json"
rm "$MNT/bugs/BUG-003.json"
(cd "$MNT" && find . -type f ! -name '.error' ! -name new -print0 | sort -z | xargs -0 cat) > "$T/read1"
umount_fs || fail "unmount"

note "export, import into an empty project, export again: the same bytes"
"$ORCHFS" export --with-secrets > "$T/e1.jsonl" || fail "export"
[ "$(head -c 17 "$T/e1.jsonl")" = '{"orchfs_export":' ] || fail "no header line"
mkdir -p "$T/copy/home"
COPY_DB=$T/copy/.orchfs/project.db
COPY_UDB=$T/copy/home/user.db
(cd "$T/copy" && ORCHFS_DB= ORCHFS_USER_DB=$COPY_UDB "$ORCHFS" init >/dev/null) || fail "init the copy"
ORCHFS_DB=$COPY_DB ORCHFS_USER_DB=$COPY_UDB "$ORCHFS" import "$T/e1.jsonl" > "$T/import.out" || fail "import: $(cat "$T/import.out")"
ORCHFS_DB=$COPY_DB ORCHFS_USER_DB=$COPY_UDB "$ORCHFS" export --with-secrets > "$T/e2.jsonl" || fail "export of the copy"
cmp "$T/e1.jsonl" "$T/e2.jsonl" || fail "export -> import -> export changed the bytes"
assert_eq "$(sql "SELECT count(*) FROM tool_executions")" "$(sqlite3 "$COPY_DB" "SELECT count(*) FROM tool_executions")" "the audit log came along"
assert_eq "1" "$(sqlite3 "$COPY_DB" "SELECT count(*) FROM transcripts_fts WHERE transcripts_fts MATCH 'bucket'")" "the full-text index is rebuilt"

note "the imported project mounts and reads the same"
DB=$COPY_DB UDB=$COPY_UDB
export ORCHFS_DB=$COPY_DB ORCHFS_USER_DB=$COPY_UDB
mount_fs
(cd "$MNT" && find . -type f ! -name '.error' ! -name new -print0 | sort -z | xargs -0 cat) > "$T/read2"
cmp "$T/read1" "$T/read2" || fail "the copy reads differently: $(diff "$T/read1" "$T/read2" | head -5)"
umount_fs || fail "unmount the copy"

note "secrets are masked unless --with-secrets"
"$ORCHFS" export > "$T/masked.jsonl" || fail "export without secrets"
grep -q 'sk-ant-demo' "$T/masked.jsonl" && fail "an API key in a plain export"
grep -q '"api_key":"\*\*\*\*wxyz"' "$T/masked.jsonl" || fail "the masked key is not in the export"
grep -q 'sk-ant-demo-0000000000000000wxyz' "$T/e1.jsonl" || fail "--with-secrets lost the key"

note "an import into a database that is not empty is refused and changes nothing"
before=$(sqlite3 "$COPY_DB" .dump)
if "$ORCHFS" import "$T/e1.jsonl" 2> "$T/again.err"; then
	fail "a second import succeeded"
fi
assert_contains "$(cat "$T/again.err")" "not empty" "the refusal says why"
assert_eq "$before" "$(sqlite3 "$COPY_DB" .dump)" "the refused import changed nothing"

note "a database whose only change is a metadata key is not new either"
mkdir -p "$T/meta/home"
META_DB=$T/meta/.orchfs/project.db
(cd "$T/meta" && ORCHFS_DB= ORCHFS_USER_DB=$T/meta/home/user.db "$ORCHFS" init >/dev/null) || fail "init"
sqlite3 "$META_DB" "INSERT INTO metadata (key, value) VALUES ('owner', 'team-a')"
if ORCHFS_DB=$META_DB ORCHFS_USER_DB=$T/meta/home/user.db "$ORCHFS" import "$T/e1.jsonl" 2>"$T/meta.err"; then
	fail "an import over a metadata change succeeded"
fi
assert_contains "$(cat "$T/meta.err")" "has changes" "the refusal says why"
assert_eq "team-a" "$(sqlite3 "$META_DB" "SELECT value FROM metadata WHERE key = 'owner'")" "the metadata key is kept"

note "an export cut at a line boundary is refused; one written to a file is 0600"
"$ORCHFS" export --with-secrets -o "$T/e3.jsonl" || fail "export -o"
assert_eq 600 "$(stat -c %a "$T/e3.jsonl")" "an export file is 0600 (it may hold API keys)"
: > "$T/e4.jsonl" && chmod 644 "$T/e4.jsonl"
"$ORCHFS" export --with-secrets -o "$T/e4.jsonl" || fail "export -o onto a file that was there"
assert_eq 600 "$(stat -c %a "$T/e4.jsonl")" "an export onto a 0644 file that was there makes it 0600"
mkdir -p "$T/cut/home"
CUT_DB=$T/cut/.orchfs/project.db
(cd "$T/cut" && ORCHFS_DB= ORCHFS_USER_DB=$T/cut/home/user.db "$ORCHFS" init >/dev/null) || fail "init"
head -n 20 "$T/e3.jsonl" >"$T/cut.jsonl"
if ORCHFS_DB=$CUT_DB ORCHFS_USER_DB=$T/cut/home/user.db "$ORCHFS" import "$T/cut.jsonl" 2>"$T/cut.err"; then
	fail "a cut export was imported"
fi
assert_contains "$(cat "$T/cut.err")" "it was cut" "the refusal says the export was cut"
assert_eq 0 "$(sqlite3 "$CUT_DB" "SELECT count(*) FROM tool_executions")" "nothing of the cut export was imported"

note "an export without secrets imports without the masked keys, and says so"
"$ORCHFS" export -o "$T/masked2.jsonl" || fail "export without secrets"
ORCHFS_DB=$CUT_DB ORCHFS_USER_DB=$T/cut/home/user.db "$ORCHFS" import "$T/masked2.jsonl" >/dev/null 2>"$T/masked.err" || fail "import of a masked export"
assert_contains "$(cat "$T/masked.err")" "masked key" "the import says the keys were masked"
assert_eq 0 "$(sqlite3 "$T/cut/home/user.db" "SELECT count(*) FROM llm_providers WHERE api_key LIKE '****%'")" "no mask stored as a key"

note "text that is not UTF-8 (another tool's bytes) is exported and imported as it is"
mkdir -p "$T/raw/home" "$T/raw2/home"
RAW_DB=$T/raw/.orchfs/project.db RAW2_DB=$T/raw2/.orchfs/project.db
(cd "$T/raw" && ORCHFS_DB= ORCHFS_USER_DB=$T/raw/home/user.db "$ORCHFS" init >/dev/null) || fail "init"
(cd "$T/raw2" && ORCHFS_DB= ORCHFS_USER_DB=$T/raw2/home/user.db "$ORCHFS" init >/dev/null) || fail "init"
sqlite3 "$RAW_DB" "INSERT INTO bugs (id, title, description) VALUES ('BUG-001', 'raw', CAST(x'ff41e9' AS TEXT))"
ORCHFS_DB=$RAW_DB ORCHFS_USER_DB=$T/raw/home/user.db "$ORCHFS" export -o "$T/raw.jsonl" || fail "export of raw bytes"
ORCHFS_DB=$RAW2_DB ORCHFS_USER_DB=$T/raw2/home/user.db "$ORCHFS" import "$T/raw.jsonl" >/dev/null 2>"$T/raw.err" ||
	fail "import of an export holding raw bytes: $(cat "$T/raw.err")"
assert_eq "FF41E9" "$(sqlite3 "$RAW2_DB" "SELECT hex(description) FROM bugs WHERE id = 'BUG-001'")" "the bytes as they were"
