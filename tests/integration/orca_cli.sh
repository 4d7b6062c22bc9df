#!/bin/bash
# orca_cli.sh - Orca's verbs (orchfs bug|rule|task|workflow) and the mount
# agree on every change: the same validation, the same rows, one audit row
# each.
. "$(dirname "$0")/lib.sh"
mount_fs

note "bug verbs"
assert_eq "BUG-001" "$("$ORCHFS" bug create "Fix login error" -d "Users cannot login" -p 1)" "bug create prints the key"
assert_eq "Fix login error|Users cannot login|1|open" "$(sql "SELECT title, description, priority, status FROM bugs")" "the row"
assert_eq "Fix login error" "$(jq -r .title "$MNT/bugs/BUG-001.json")" "the mount shows it"
assert_eq "orchfs|create|success" "$(sql "SELECT tool_name, operation, status FROM tool_executions ORDER BY id DESC LIMIT 1")" "audited"
if "$ORCHFS" bug create "Typo" -p 9 2>"$T/err"; then fail "priority 9 accepted"; fi
assert_contains "$(cat "$T/err")" "priority: must be at most 5 (got 9)" "the same message as the mount"
assert_eq "EINVAL" "$(echo '{"priority":9}' | close_errno "$MNT/bugs/BUG-001.json")" "and the mount refuses it too"
assert_eq "failure" "$(sql "SELECT status FROM tool_executions WHERE path LIKE 'orchfs bug create%' ORDER BY id DESC LIMIT 1")" "the CLI refusal is audited"
for p in abc 2x ""; do
	rc=0; "$ORCHFS" bug create "Typo" -p "$p" 2>"$T/err" || rc=$?
	check_rc 2 "$rc" "bug create -p '$p' is a usage error"
	check_contains "$(cat "$T/err")" "-p: expected a number, got \"$p\"" "its message"
done
assert_eq "1" "$(sql "SELECT count(*) FROM bugs")" "no bug made by a bad -p"
assert_eq "BUG-001" "$(cd / && env -u ORCHFS_DB "$ORCHFS" bug list --db "$DB" | cut -f1)" "bug list --db DB, from elsewhere"
assert_eq "BUG-001" "$(cd / && env -u ORCHFS_DB "$ORCHFS" bug list open --db="$DB" | cut -f1)" "bug list STATUS --db=DB"
"$ORCHFS" bug update-status BUG-001 in_progress >/dev/null || fail "update-status"
assert_eq "in_progress" "$(jq -r .status "$MNT/bugs/BUG-001.json")" "update-status shows in the mount"
echo '{"assignee":"sam"}' > "$MNT/bugs/BUG-001.json"
assert_eq "sam" "$("$ORCHFS" bug show BUG-001 | jq -r .assignee)" "a mount write shows in bug show"
assert_eq "$(cat "$MNT/bugs/BUG-001.json")" "$("$ORCHFS" bug show BUG-001)" "bug show prints the file's bytes"
"$ORCHFS" bug close BUG-001 >/dev/null || fail "close"
assert_eq "fixed|1" "$(sql "SELECT status, CAST(resolved_at IS NOT NULL AS INTEGER) FROM bugs WHERE id = 'BUG-001'")" "close sets fixed and resolved_at"
assert_eq "BUG-001	fixed	1	Fix login error" "$("$ORCHFS" bug list)" "bug list"
assert_eq "" "$("$ORCHFS" bug list open)" "bug list by status"

note "rule verbs"
assert_eq "no-console-log" "$("$ORCHFS" rule create "No console.log" -t style -c '{"pattern":"console\\.log"}' -s error)" "rule create"
assert_eq "console\\.log" "$(jq -r .config.pattern "$MNT/rules/no-console-log.json")" "the rule's config as JSON"
"$ORCHFS" rule disable no-console-log >/dev/null || fail "disable"
assert_eq "false" "$(jq .enabled "$MNT/rules/no-console-log.json")" "disabled"
echo '{"enabled":true}' > "$MNT/rules/no-console-log.json"
assert_eq "no-console-log	style	error	enabled	No console.log" "$("$ORCHFS" rule list-type style)" "list-type after a mount write"
if "$ORCHFS" rule create "Bad" -t nonsense -c '{}' 2>"$T/err"; then fail "a bad rule type accepted"; fi
assert_contains "$(cat "$T/err")" "rule_type: must be one of" "the value set is enforced"

note "task and workflow verbs"
assert_eq "TASK-001" "$("$ORCHFS" task create "Implement feature X" -p 2)" "task create"
echo '{"title":"Through the mount"}' > "$MNT/tasks/new"
assert_eq "TASK-002" "$(cat "$MNT/tasks/new")" "the mount and the CLI share one key sequence"
assert_eq "TASK-003" "$("$ORCHFS" task create "After")" "and the CLI continues it"
assert_eq "3" "$("$ORCHFS" task list | wc -l)" "task list"
assert_eq "release" "$("$ORCHFS" workflow create "Release" -P plan_execute)" "workflow create"
assert_eq "plan_execute" "$(jq -r .pattern "$MNT/workflows/release/workflow.json")" "the workflow in the mount"
assert_eq "$(sql "SELECT count(*) FROM tool_executions WHERE status = 'success'")" \
	"$(sql "SELECT count(*) FROM _orchfs_changes")" "one audit row per change, CLI or mount"
umount_fs || fail "clean unmount"
