#!/bin/bash
# shell_tools.sh - the common tools, each ending with exactly the intended
# change: the rows are what a copy of the database taken before the save
# holds after the intended SQL is applied to it, no scratch file is left in
# the directory, there is one new audit row per save and it names the tool's
# process. Each tool also has failing variants (invalid JSON, an unknown
# field) that leave the database as it was, make the tool exit non-zero where
# it checks close()/rename(), and leave the reason in .error. A check that
# fails is reported and the test goes on.
. "$(dirname "$0")/lib.sh"
mount_fs


B=$MNT/bugs
W=$T/work # files outside the mount
mkdir -p "$W"

note "setup: two bugs and a task"
echo '{"title":"Login fails","priority":1,"labels":["auth"]}' > "$B/new" || fail "create BUG-001"
echo '{"title":"Second bug","priority":3}' > "$B/new" || fail "create BUG-002"
mkdir "$MNT/tasks/TASK-001" || fail "mkdir TASK-001"
echo '{"title":"First task"}' > "$MNT/tasks/TASK-001/task.json" || fail "patch TASK-001"
assert_eq "BUG-001 BUG-002" "$(sql "SELECT group_concat(id, ' ') FROM (SELECT id FROM bugs ORDER BY id) AS t")" "setup rows"

# Every table's rows but the audit's, sorted, in SQL quoting. Of the change
# feed, only what changed (its sequence, time and writer are checked elsewhere).
# On PostgreSQL the copy is schema exp of the same database (a database
# cannot be copied while the mount is connected to it), DB names the live
# rows (schema public) and anything else the copy; rows are printed as text.
TABLES=$(sql_tables tool_executions)
data() {
	local t schema=exp q=
	if on_pg; then
		[ "$1" = "$DB" ] && schema=public
		for t in $TABLES; do
			[ -z "$q" ] || q="$q UNION ALL "
			if [ "$t" = _orchfs_changes ]; then
				q="${q}SELECT '$t|' || collection || '|' || entity_key || '|' || operation FROM $schema.\"$t\""
			else
				q="${q}SELECT '$t|' || r::text FROM $schema.\"$t\" AS r"
			fi
		done
		sql "$q" | LC_ALL=C sort
		return
	fi
	for t in $TABLES; do
		if [ "$t" = _orchfs_changes ]; then
			sqlite3 -bail -cmd '.mode quote' "$1" "SELECT '$t', collection, entity_key, operation FROM \"$t\"" | sort
		else
			sqlite3 -bail -cmd '.mode quote' "$1" "SELECT '$t', * FROM \"$t\"" | sort
		fi
	done
}

# PostgreSQL's copy: the tables with their rows, keys and defaults (identities
# moved past the copied rows) and the change feed's triggers, which write to
# exp._orchfs_changes when exp comes first in the search path.
PG_COPY=$(cat <<'SQL'
DROP SCHEMA IF EXISTS exp CASCADE;
CREATE SCHEMA exp;
DO $$
DECLARE
  t text;
  c record;
  d text;
BEGIN
  FOREACH t IN ARRAY string_to_array('@TABLES@', ' ') LOOP
    EXECUTE format('CREATE TABLE exp.%I (LIKE public.%I INCLUDING ALL)', t, t);
    EXECUTE format('INSERT INTO exp.%I OVERRIDING SYSTEM VALUE SELECT * FROM public.%I', t, t);
  END LOOP;
  FOR c IN SELECT table_name, column_name FROM information_schema.columns
      WHERE table_schema = 'exp' AND is_identity = 'YES' LOOP
    EXECUTE format('SELECT setval(pg_get_serial_sequence(%L, %L), coalesce((SELECT max(%I) FROM exp.%I), 0) + 1, false)',
      'exp.' || quote_ident(c.table_name), c.column_name, c.column_name, c.table_name);
  END LOOP;
  FOR d IN SELECT pg_get_triggerdef(tg.oid) FROM pg_trigger tg JOIN pg_class cl ON cl.oid = tg.tgrelid
      JOIN pg_namespace n ON n.oid = cl.relnamespace
      WHERE n.nspname = 'public' AND NOT tg.tgisinternal AND tg.tgname LIKE '%\_feed\_%'
        AND cl.relname = ANY (string_to_array('@TABLES@', ' ')) LOOP
    EXECUTE replace(d, ' ON public.', ' ON exp.');
  END LOOP;
END
$$;
SQL
)

# begin NAME DIR: a new case. Copies the database (without the triggers that
# bump revision and updated_at: the expected SQL sets them itself; the change
# feed's triggers stay) and remembers the audit log and the directory's listing.
begin() {
	CASE=$1
	DIR=$2
	note "$CASE"
	if on_pg; then
		sql "${PG_COPY//@TABLES@/$TABLES}" || fail "$CASE: copy into schema exp"
	else
		rm -f "$T/exp.db"
		sqlite3 -bail "$DB" ".backup '$T/exp.db'" || fail "$CASE: backup"
		sqlite3 "$T/exp.db" "SELECT 'DROP TRIGGER \"' || name || '\";' FROM sqlite_master WHERE type = 'trigger' AND name NOT LIKE '%\\_feed\\_%' ESCAPE '\\'" |
			sqlite3 -bail "$T/exp.db" || fail "$CASE: drop triggers"
	fi
	D0=$(data "$DB") || fail "$CASE: the rows before"
	grep -q '^.*BUG-001' <<<"$D0" || fail "$CASE: the rows before hold no BUG-001"
	A0=$(last_audit)
	LS0=$(ls -a "$DIR" | grep -vx '.error')
}

# upd ID SETS: the SQL of a save through the mount that sets SETS on bugs/ID.
upd() {
	echo "UPDATE bugs SET $2, revision = revision + 1,
		updated_at = (SELECT updated_at FROM live.bugs WHERE id = '$1') WHERE id = '$1';"
}
# ins ID COLUMNS VALUES: the SQL of a create of bugs/ID.
ins() {
	echo "INSERT INTO bugs (id, $2, created_at, updated_at) VALUES ('$1', $3,
		(SELECT created_at FROM live.bugs WHERE id = '$1'), (SELECT updated_at FROM live.bugs WHERE id = '$1'));"
}

# saved TOOL SQL [NEW-NAMES] [SAVES]: the tool's save(s) ended with exactly SQL
# applied, SAVES (1) audit rows by TOOL, and the listing plus NEW-NAMES.
saved() {
	local tool=$1 sqlx=$2 new=${3:-} saves=${4:-1} want got
	if on_pg; then # the copy first; live.T is public.T
		sql "SET search_path = exp, public; ${sqlx//live./public.}" || fail "$CASE: expected SQL"
	else
		sqlite3 -bail "$T/exp.db" "ATTACH '$DB' AS live; $sqlx" || fail "$CASE: expected SQL"
	fi
	want=$(data "$T/exp.db") || fail "$CASE: the expected rows"
	got=$(data "$DB") || fail "$CASE: the rows"
	[ "$want" = "$got" ] || bad "$CASE: not exactly the intended change:
$(diff <(echo "$want") <(echo "$got") | sed 's/^/    /')"
	check_eq "$(yes "$tool|success" | head -n "$saves")" \
		"$(sql "SELECT tool_name || '|' || status FROM tool_executions WHERE id > $A0 ORDER BY id")" \
		"$CASE: audit rows"
	want=$( (echo "$LS0"; for n in $new; do echo "$n"; done) | LC_ALL=C sort)
	got=$(ls -a "$DIR" | grep -vx '.error' | LC_ALL=C sort)
	check_eq "$want" "$got" "$CASE: ls -a of the directory (no scratch file left)"
}

# refused TOOL-RC NAME REASON-ERE [TOOL]: a failing save changed nothing, the
# tool exited non-zero, .error holds "NAME: reason", one failure audit row by TOOL.
refused() {
	local rc=$1 name=$2 ere=$3 tool=${4:-} line
	[ "$rc" -ne 0 ] || bad "$CASE: the tool exited 0 on a refused save"
	local d1
	d1=$(data "$DB") || fail "$CASE: the rows"
	[ "$D0" = "$d1" ] || bad "$CASE: the database changed:
$(diff <(echo "$D0") <(echo "$d1") | sed 's/^/    /')"
	line=$(grep -F -- "$name: " "$DIR/.error" 2>/dev/null)
	grep -Eq -- "$ere" <<<"$line" || bad "$CASE: .error has no line [$name: /$ere/]: [$(cat "$DIR/.error" 2>&1)]"
	if [ -n "$tool" ]; then
		check_eq "$tool|failure" "$(sql "SELECT tool_name || '|' || status FROM tool_executions WHERE id > $A0")" \
			"$CASE: one refusal in the audit, by $tool"
	fi
}

# The listing after a refused save, once the tool's own leftovers are removed.
same_listing() {
	check_eq "$LS0" "$(ls -a "$DIR" | grep -vx '.error')" "$CASE: ls -a after the refused save"
}

# --- sed -i ---

begin "sed -i changes one field" "$B"
sed -i 's/"priority": 1,/"priority": 2,/' "$B/BUG-001.json" || bad "$CASE: sed exited $?"
saved sed "$(upd BUG-001 "priority = 2")"

begin "sed -i making invalid JSON: refused" "$B"
rc=0; sed -i 's/"priority": 2,/"priority": two,/' "$B/BUG-001.json" 2>/dev/null || rc=$?
refused "$rc" BUG-001.json 'invalid JSON' sed
same_listing

begin "sed -i making an unknown field: refused" "$B"
rc=0; sed -i 's/"severity":/"sevvverity":/' "$B/BUG-001.json" 2>/dev/null || rc=$?
refused "$rc" BUG-001.json 'unknown field.*sevvverity' sed
same_listing

# --- perl -pi -e ---

begin "perl -pi -e changes one field" "$B"
perl -pi -e 's/"severity": null/"severity": "high"/' "$B/BUG-002.json" || bad "$CASE: perl exited $?"
saved perl "$(upd BUG-002 "severity = 'high'")"

begin "perl -pi -e making invalid JSON: refused" "$B"
rc=0; perl -pi -e 's/"severity": "high"/"severity": high/' "$B/BUG-002.json" 2>/dev/null || rc=$?
refused "$rc" BUG-002.json 'invalid JSON' perl
same_listing

begin "perl -pi -e making an unknown field: refused" "$B"
rc=0; perl -pi -e 's/"assignee":/"asignee":/' "$B/BUG-002.json" 2>/dev/null || rc=$?
refused "$rc" BUG-002.json 'unknown field.*asignee' perl
same_listing

# --- python tempfile + fsync + os.replace ---

py_replace() { # py_replace FILE FILTER-PYTHON-EXPR(text) : rewrite FILE through a NamedTemporaryFile
	python3 - "$1" "$2" <<'EOF'
import os, sys, tempfile
path, expr = sys.argv[1], sys.argv[2]
text = open(path).read()
text = eval(expr)
t = tempfile.NamedTemporaryFile("w", dir=os.path.dirname(path), delete=False)
t.write(text)
t.flush()
os.fsync(t.fileno())
t.close()
try:
    os.replace(t.name, path)
except OSError as e:
    print("replace:", e, file=sys.stderr)
    os.unlink(t.name)  # a careful tool removes its temporary
    sys.exit(1)
EOF
}

begin "python NamedTemporaryFile + fsync + os.replace" "$B"
py_replace "$B/BUG-001.json" 'text.replace("\"assignee\": null", "\"assignee\": \"ann\"")' || bad "$CASE: python exited $?"
saved python3 "$(upd BUG-001 "assignee = 'ann'")"

begin "python tempfile + os.replace with invalid JSON: refused" "$B"
rc=0; py_replace "$B/BUG-001.json" 'text.replace("\"assignee\": \"ann\"", "\"assignee\": ann")' 2>/dev/null || rc=$?
refused "$rc" BUG-001.json 'invalid JSON' python3
same_listing

begin "python tempfile + os.replace with an unknown field: refused" "$B"
rc=0; py_replace "$B/BUG-001.json" 'text.replace("\"assignee\"", "\"owner\"")' 2>/dev/null || rc=$?
refused "$rc" BUG-001.json 'unknown field.*owner' python3
same_listing

# --- jq > tmp && mv tmp f ---

begin "jq '.priority=2' f > f.tmp && mv f.tmp f" "$B"
jq '.priority=4' "$B/BUG-002.json" > "$B/BUG-002.json.tmp" && mv "$B/BUG-002.json.tmp" "$B/BUG-002.json" ||
	bad "$CASE: jq/mv failed"
saved mv "$(upd BUG-002 "priority = 4")"

begin "jq > tmp && mv with an unknown field: refused" "$B"
rc=0
jq '.prio=2' "$B/BUG-002.json" > "$B/BUG-002.json.tmp" && mv "$B/BUG-002.json.tmp" "$B/BUG-002.json" 2>/dev/null || rc=$?
refused "$rc" BUG-002.json 'unknown field.*prio' mv
rm -f "$B/BUG-002.json.tmp" || bad "$CASE: rm of the leftover tmp"
same_listing

begin "an invalid JSON tmp moved over: refused" "$B"
rc=0
printf '{"priority": 2' > "$B/BUG-002.json.tmp" && mv "$B/BUG-002.json.tmp" "$B/BUG-002.json" 2>/dev/null || rc=$?
refused "$rc" BUG-002.json 'invalid JSON' mv
rm -f "$B/BUG-002.json.tmp" || bad "$CASE: rm of the leftover tmp"
same_listing

# --- cp ---

begin "cp of a JSON file over an entity" "$B"
jq '.title = "Copied over"' "$B/BUG-002.json" > "$W/over.json"
cp "$W/over.json" "$B/BUG-002.json" || bad "$CASE: cp exited $?"
saved cp "$(upd BUG-002 "title = 'Copied over'")"

begin "cp of invalid JSON over an entity: refused" "$B"
printf '{"title": "x",,}\n' > "$W/bad.json"
rc=0; cp "$W/bad.json" "$B/BUG-002.json" 2>/dev/null || rc=$?
refused "$rc" BUG-002.json 'invalid JSON' cp
same_listing

begin "cp of a file with an unknown field over an entity: refused" "$B"
echo '{"title":"x","colour":"red"}' > "$W/bad.json"
rc=0; cp "$W/bad.json" "$B/BUG-002.json" 2>/dev/null || rc=$?
refused "$rc" BUG-002.json 'unknown field.*colour' cp
same_listing

begin "cp of a file to a new entity name creates it" "$B"
echo '{"title":"Made by cp","priority":2,"labels":["cp"]}' > "$W/new.json"
cp "$W/new.json" "$B/BUG-010.json" || bad "$CASE: cp exited $?"
saved cp "$(ins BUG-010 "title, priority, labels" "'Made by cp', 2, '[\"cp\"]'")" BUG-010.json

begin "cp of a file to a new name, without the required title: refused, no file" "$B"
echo '{"priority":2}' > "$W/notitle.json"
rc=0; cp "$W/notitle.json" "$B/BUG-011.json" 2>/dev/null || rc=$?
refused "$rc" BUG-011.json 'title: .*required' cp
same_listing

begin "cp of a file with an unknown field to a new name: refused, no file" "$B"
rc=0; cp "$W/bad.json" "$B/BUG-012.json" 2>/dev/null || rc=$?
refused "$rc" BUG-012.json 'unknown field' cp
same_listing

# --- tee ---

begin "tee writes a merge patch" "$B"
echo '{"status":"in_progress"}' | tee "$B/BUG-001.json" > /dev/null || bad "$CASE: tee exited $?"
saved tee "$(upd BUG-001 "status = 'in_progress'")"

begin "tee with invalid JSON: refused" "$B"
rc=0; echo '{"status":in_progress}' | tee "$B/BUG-001.json" > /dev/null 2>&1 || rc=$?
refused "$rc" BUG-001.json 'invalid JSON' tee
same_listing

begin "tee with an unknown field: refused" "$B"
rc=0; echo '{"state":"fixed"}' | tee "$B/BUG-001.json" > /dev/null 2>&1 || rc=$?
refused "$rc" BUG-001.json 'unknown field.*state' tee
same_listing

# --- rsync ---

begin "rsync of a directory of JSON files into bugs/: one changed, one new" "$B"
mkdir -p "$W/rs"
jq '.status = "fixed"' "$B/BUG-002.json" > "$W/rs/BUG-002.json"
echo '{"title":"From rsync","priority":5}' > "$W/rs/BUG-020.json"
rsync -r "$W/rs/" "$B/" || bad "$CASE: rsync exited $?"
saved rsync "$(upd BUG-002 "status = 'fixed'") $(ins BUG-020 "title, priority" "'From rsync', 5")" BUG-020.json 2
check_eq "fixed|From rsync|5" "$(sql "SELECT (SELECT status FROM bugs WHERE id = 'BUG-002'),
	title, priority FROM bugs WHERE id = 'BUG-020'")" "$CASE: rows"

begin "rsync of an invalid file: refused" "$B"
rm -rf "$W/rs" && mkdir -p "$W/rs"
jq '.status = "fixed" | .extra = 1' "$B/BUG-001.json" > "$W/rs/BUG-001.json"
rc=0; rsync -r "$W/rs/" "$B/" 2>/dev/null || rc=$?
refused "$rc" BUG-001.json 'unknown field.*extra' rsync
same_listing

begin "rsync of a malformed file: refused" "$B"
printf '{"title": "x"' > "$W/rs/BUG-001.json"
rc=0; rsync -r "$W/rs/" "$B/" 2>/dev/null || rc=$?
refused "$rc" BUG-001.json 'invalid JSON' rsync
same_listing

# --- python in-place save (O_TRUNC, write, close) ---

py_inplace() { # py_inplace FILE EXPR(text)
	python3 - "$1" "$2" <<'EOF'
import sys
path, expr = sys.argv[1], sys.argv[2]
text = open(path).read()
text = eval(expr)
with open(path, "w") as f:
    f.write(text)
EOF
}

begin "python in-place save (O_TRUNC, write, close)" "$B"
py_inplace "$B/BUG-010.json" 'text.replace("\"reporter\": null", "\"reporter\": \"bob\"")' || bad "$CASE: python exited $?"
saved python3 "$(upd BUG-010 "reporter = 'bob'")"

begin "python in-place save with invalid JSON: refused" "$B"
rc=0; py_inplace "$B/BUG-010.json" 'text.replace("\"reporter\": \"bob\"", "\"reporter\": bob")' 2>/dev/null || rc=$?
refused "$rc" BUG-010.json 'invalid JSON' python3
same_listing

begin "python in-place save with an unknown field: refused" "$B"
rc=0; py_inplace "$B/BUG-010.json" 'text.replace("\"reporter\"", "\"reporterr\"")' 2>/dev/null || rc=$?
refused "$rc" BUG-010.json 'unknown field.*reporterr' python3
same_listing

# --- a VS Code-style save: <name>.vsctmp, fsync, rename over ---

vsc_save() { # vsc_save FILE EXPR(text)
	python3 - "$1" "$2" <<'EOF'
import os, sys
path, expr = sys.argv[1], sys.argv[2]
text = open(path).read()
text = eval(expr)
tmp = path + ".vsctmp"
fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
os.write(fd, text.encode())
os.fsync(fd)
os.close(fd)
try:
    os.rename(tmp, path)
except OSError as e:
    print("rename:", e, file=sys.stderr)
    sys.exit(1)
EOF
}

begin "VS Code-style save (.vsctmp, fsync, rename over)" "$B"
vsc_save "$B/BUG-020.json" 'text.replace("\"severity\": null", "\"severity\": \"low\"")' || bad "$CASE: exited $?"
saved python3 "$(upd BUG-020 "severity = 'low'")"

begin "VS Code-style save with invalid JSON: refused" "$B"
rc=0; vsc_save "$B/BUG-020.json" 'text.replace("\"severity\": \"low\"", "\"severity\": low")' 2>/dev/null || rc=$?
refused "$rc" BUG-020.json 'invalid JSON' python3
rm -f "$B/BUG-020.json.vsctmp" || bad "$CASE: rm of the leftover .vsctmp"
same_listing

begin "VS Code-style save with an unknown field: refused" "$B"
rc=0; vsc_save "$B/BUG-020.json" 'text.replace("\"severity\"", "\"sev\"")' 2>/dev/null || rc=$?
refused "$rc" BUG-020.json 'unknown field.*sev' python3
rm -f "$B/BUG-020.json.vsctmp" || bad "$CASE: rm of the leftover .vsctmp"
same_listing

note "a good save clears .error"
check_eq OK "$(jq '.priority = 1' "$B/BUG-001.json" | close_errno "$B/BUG-001.json")" "save BUG-001"
check_eq OK "$(jq '.priority = 1' "$B/BUG-002.json" | close_errno "$B/BUG-002.json")" "save BUG-002"
check_eq OK "$(jq '.priority = 1' "$B/BUG-010.json" | close_errno "$B/BUG-010.json")" "save BUG-010"
check_eq OK "$(jq '.priority = 1' "$B/BUG-020.json" | close_errno "$B/BUG-020.json")" "save BUG-020"
echo '{"title":"eleven"}' > "$B/BUG-011.json" || bad "create BUG-011"
echo '{"title":"twelve"}' > "$B/BUG-012.json" || bad "create BUG-012"
[ -e "$B/.error" ] && bad ".error left after every file was saved: [$(cat "$B/.error")]"

# --- readers: find -newer, grep -r, ls -l ---

note "find -newer lists the entities changed since a reference file, by the mount or by sqlite3"
sleep 0.05
touch "$W/ref"
sleep 0.05
echo '{"priority":3}' > "$B/BUG-002.json" || bad "patch BUG-002"
sql "UPDATE bugs SET priority = 3 WHERE id = 'BUG-010'"
check_eq "BUG-002.json BUG-010.json" \
	"$(find "$B" -maxdepth 1 -name 'BUG-*.json' -newer "$W/ref" -printf '%f\n' | sort | tr '\n' ' ' | sed 's/ $//')" \
	"find -newer"
check_eq "BUG-001.json BUG-011.json BUG-012.json BUG-020.json" \
	"$(find "$B" -maxdepth 1 -name 'BUG-*.json' ! -newer "$W/ref" -printf '%f\n' | sort | tr '\n' ' ' | sed 's/ $//')" \
	"find ! -newer"

note "grep -r finds exactly the rows sqlite3 finds"
check_eq "$(sql "SELECT id || '.json' FROM bugs WHERE priority = 3 ORDER BY id")" \
	"$(grep -rl '"priority": 3,' "$B" | xargs -n1 basename | sort)" "grep -rl priority 3"
check_eq "$(sql "SELECT id || '.json' FROM bugs WHERE CAST(labels AS TEXT) LIKE '%cp%' ORDER BY id")" \
	"$(grep -rl '"cp"' "$B" | xargs -n1 basename | sort)" "grep -rl a label"
grep -rq "First task" "$MNT/tasks" || bad "grep -r in tasks/"

note "ls -l sizes equal wc -c"
while read -r _ _ _ _ size _ _ _ name; do
	[ -f "$B/$name" ] || continue
	check_eq "$(wc -c < "$B/$name")" "$size" "ls -l size of bugs/$name"
done < <(ls -l "$B" | tail -n +2)
while IFS= read -r -d '' f; do
	check_eq "$(wc -c < "$f")" "$(stat -c %s "$f")" "stat size of $f"
done < <(find "$MNT/bugs" "$MNT/tasks" "$MNT/rules" -type f -print0)

note "mv of an entity's file to another name in its directory: ls and stat agree it is gone, mv back changes nothing"
k=$(ls "$B" | grep -m1 '^BUG-.*\.json$') A0=$(last_audit)
row0=$(sql "SELECT revision || '|' || title FROM bugs WHERE id = '${k%.json}'")
mv "$B/$k" "$B/$k.bak" || bad "mv $k $k.bak"
check_eq "" "$(ls "$B" | grep -x "$k")" "ls does not list $k"
[ -e "$B/$k" ] && bad "stat finds $k"
check_eq "$k.bak" "$(ls "$B" | grep -x "$k.bak")" "ls lists $k.bak"
mv "$B/$k.bak" "$B/$k" || bad "mv back"
check_eq "$k" "$(ls "$B" | grep -x "$k")" "ls lists $k again"
check_eq "$row0|$A0" "$(sql "SELECT revision || '|' || title FROM bugs WHERE id = '${k%.json}'")|$(last_audit)" "nothing changed, nothing audited"

note ">> new creates as > new does, right after a create through new (no NULs before the document)"
echo '{"title":"made with >"}' > "$B/new" || bad "> new"
k1=$(cat "$B/new")
echo '{"title":"made with >>"}' >> "$B/new" || bad ">> new"
k2=$(cat "$B/new")
[ "$k2" != "$k1" ] || bad ">> new made no new bug (new still says $k1): $(cat "$B/.error" 2>&1)"
check_eq "made with >>" "$(sql "SELECT title FROM bugs WHERE id = '$k2'")" "the bug >> new made"

umount_fs || fail "clean unmount"
