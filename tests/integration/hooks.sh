#!/bin/bash
# hooks.sh - `orchfs hooks install` in a real git repository: an error rule
# blocks a commit that breaks it (naming the rule, the file and the line) and
# lets a clean one through; a warning rule warns; disabling a rule through the
# mount takes effect on the next commit; a commit naming an open task is
# recorded on it, one naming a missing or closed task is refused; a hook that
# was there keeps running; and all of it works with the mount absent.
. "$(dirname "$0")/lib.sh"
export ORCHFS
mount_fs
echo '{"name":"No AWS keys","rule_type":"security","severity":"error","config":{"pattern":"AKIA[0-9A-Z]{16}"}}' > "$MNT/rules/no-secrets.json"
echo '{"name":"No console.log","rule_type":"style","severity":"warning","config":{"pattern":"console\\.log","paths":["*.js"]}}' > "$MNT/rules/no-console-log.json"
echo '{"title":"open task","status":"running"}' > "$MNT/tasks/new"
echo '{"title":"done task","status":"completed"}' > "$MNT/tasks/new"

R=$T/repo
git init -q "$R" && git -C "$R" config user.name "Ann" && git -C "$R" config user.email ann@example.com
printf '#!/bin/sh\ntouch "%s/old-hook-ran"\n' "$T" > "$R/.git/hooks/pre-commit"
chmod +x "$R/.git/hooks/pre-commit"
"$ORCHFS" hooks install "$R" > "$T/install.out" || fail "hooks install"
assert_contains "$(cat "$T/install.out")" "pre-commit.local" "the existing hook is kept"
git -C "$R" config orchfs.mount "$MNT"
commit() { # commit FILE CONTENT MESSAGE: stage and commit; output in $T/commit.out
	printf '%s\n' "$2" > "$R/$1"
	git -C "$R" add "$1"
	git -C "$R" commit -q -m "$3" > "$T/commit.out" 2>&1
}

note "an error rule blocks, naming the rule, the file and the line"
if commit keys.txt "line one
aws = AKIAABCDEFGHIJKLMNOP" "add keys"; then fail "a commit with a key went through"; fi
assert_contains "$(cat "$T/commit.out")" "rule no-secrets: keys.txt:2:" "the refusal names rule, file and line"
[ -e "$T/old-hook-ran" ] || fail "the hook that was there did not run"
git -C "$R" reset -q

note "a file whose name is not ASCII is checked too (git quotes such names)"
if commit "clés.txt" "aws = AKIAABCDEFGHIJKLMNOP" "add keys, non-ASCII name"; then fail "a key in clés.txt went through"; fi
assert_contains "$(cat "$T/commit.out")" "rule no-secrets: clés.txt:1:" "the refusal names clés.txt"
git -C "$R" reset -q

note "a coloured diff (color.ui=always) and a name that looks like pathspec magic are checked too"
if (cd "$R" && printf 'aws = AKIAABCDEFGHIJKLMNOP\n' > keys3.txt && git add keys3.txt &&
	git -c color.ui=always commit -q -m "coloured" > "$T/commit.out" 2>&1); then
	fail "a key went through with color.ui=always"
fi
git -C "$R" reset -q
printf 'aws = AKIAABCDEFGHIJKLMNOP\n' > "$R/:cfg.txt"
GIT_LITERAL_PATHSPECS=1 git -C "$R" add ":cfg.txt"
if git -C "$R" commit -q -m "a name starting with a colon" > "$T/commit.out" 2>&1; then fail "a key in :cfg.txt went through"; fi
assert_contains "$(cat "$T/commit.out")" "rule no-secrets: :cfg.txt:1:" "the refusal names :cfg.txt"
git -C "$R" reset -q

note "a pattern anchored with ^ matches at the start of an added line"
echo '{"name":"No TODO lines","rule_type":"style","severity":"error","config":{"pattern":"^TODO"}}' > "$MNT/rules/no-todo.json"
if commit notes.txt "keep
TODO fix this" "a TODO line"; then fail "a line starting with TODO went through"; fi
assert_contains "$(cat "$T/commit.out")" "rule no-todo: notes.txt:2: TODO fix this" "the refusal of the TODO line"
git -C "$R" reset -q
commit notes.txt "a TODO in the middle is fine" "TODO not at the start" || fail "^TODO matched mid-line: $(cat "$T/commit.out")"
echo '{"enabled":false}' > "$MNT/rules/no-todo.json"

note "a rule's paths are matched against the staged name, not expanded against the files in the directory"
echo '{"name":"No debugger","rule_type":"style","severity":"error","config":{"pattern":"debugger","paths":["src/*/*.ts"]}}' > "$MNT/rules/no-debugger.json"
mkdir -p "$R/src/x" "$R/src/a"
echo "ok" > "$R/src/x/y.ts"
(cd "$R" && git add src/x/y.ts && git commit -q -m "y.ts" > "$T/commit.out" 2>&1) || fail "a clean src/x/y.ts was refused: $(cat "$T/commit.out")"
if (cd "$R" && printf 'debugger;\n' > src/a/b.ts && git add src/a/b.ts && git commit -q -m "b.ts" > "$T/commit.out" 2>&1); then
	fail "debugger in src/a/b.ts went through while src/x/y.ts exists"
fi
assert_contains "$(cat "$T/commit.out")" "rule no-debugger: src/a/b.ts:1:" "the refusal names src/a/b.ts"
git -C "$R" reset -q
echo '{"enabled":false}' > "$MNT/rules/no-debugger.json"

note "a clean commit goes through; a warning rule warns"
commit clean.txt "nothing to see" "clean" || fail "a clean commit was refused: $(cat "$T/commit.out")"
commit app.js "console.log('hi')" "add app" || fail "a warning blocked: $(cat "$T/commit.out")"
assert_contains "$(cat "$T/commit.out")" "warning: rule no-console-log: app.js:1:" "the warning"

note "a size rule blocks a file over its limit"
echo '{"name":"Small files","rule_type":"workflow","severity":"error","config":{"max_bytes":100}}' > "$MNT/rules/small-files.json"
if commit big.txt "$(head -c 300 /dev/zero | tr '\0' 'x')" "a big file"; then fail "a file over max_bytes went through"; fi
assert_contains "$(cat "$T/commit.out")" "rule small-files: big.txt: 301 bytes, over 100" "the size refusal"
git -C "$R" reset -q
echo '{"enabled":false}' > "$MNT/rules/small-files.json"

note "disabling the rule through the mount takes effect on the next commit"
echo '{"enabled":false}' > "$MNT/rules/no-secrets.json"
commit keys.txt "aws = AKIAABCDEFGHIJKLMNOP" "add keys, rule disabled" || fail "still blocked: $(cat "$T/commit.out")"

note "commit-msg: open tasks are recorded, missing and closed ones refused"
commit a.txt "a" "Fix the login, TASK-001" || fail "a commit naming an open task: $(cat "$T/commit.out")"
hash=$(git -C "$R" rev-parse HEAD)
assert_eq "$hash Fix the login, TASK-001 (Ann <ann@example.com>)" \
	"$(jq -r 'select(.type == "commit") | .content' "$MNT/tasks/TASK-001/transcript.jsonl")" "the commit on the task"
assert_eq "1" "$(sql "SELECT count(*) FROM transcripts WHERE task_id = 'TASK-001' AND message_uuid = 'git:$hash'")" "in the database"
assert_contains "$(jq -c 'select(.collection == "tasks" and .key == "TASK-001" and .operation == "append")' "$MNT/changes.jsonl")" "append" "in the change feed"
if commit b.txt "b" "Touches TASK-999"; then fail "a commit naming a missing task went through"; fi
assert_contains "$(cat "$T/commit.out")" "TASK-999: no such task" "missing task message"
if commit b.txt "b" "Reopens TASK-002"; then fail "a commit naming a closed task went through"; fi
assert_contains "$(cat "$T/commit.out")" "TASK-002 is completed" "closed task message"
git -C "$R" reset -q
printf '#!/bin/sh\n{ echo "Edit the notes"; cat "$1"; } > "$1.new" && mv "$1.new" "$1"\n' > "$T/editor"
chmod +x "$T/editor"
echo "see TASK-999 later" > "$R/notes.txt"
git -C "$R" add notes.txt
GIT_EDITOR="$T/editor" git -C "$R" commit -q -v > "$T/commit.out" 2>&1 ||
	fail "git commit -v refused for a task named in the diff below the scissors line: $(cat "$T/commit.out")"

note "with the mount absent: said, and the database is used directly"
echo '{"enabled":true}' > "$MNT/rules/no-secrets.json"
umount_fs || fail "unmount"
if commit keys2.txt "AKIAZZZZZZZZZZZZZZZZ" "more keys"; then fail "the rule was not applied without the mount"; fi
assert_contains "$(cat "$T/commit.out")" "is not there; reading the database directly" "says the mount is absent"
assert_contains "$(cat "$T/commit.out")" "rule no-secrets: keys2.txt:1:" "and still applies the rule"
git -C "$R" reset -q
commit c.txt "c" "More on TASK-001" || fail "a commit without the mount: $(cat "$T/commit.out")"
assert_eq "2" "$(sql "SELECT count(*) FROM transcripts WHERE task_id = 'TASK-001' AND type = 'commit'")" "recorded without the mount"
if commit d.txt "d" "TASK-002 again"; then fail "a closed task passed without the mount"; fi
