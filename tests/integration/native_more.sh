#!/bin/bash
# native_more.sh - the rest of the native schema through the mount: TAC's
# agents, prompts and logs, orc's phases, outputs, comments, events, runs,
# gates, branches and initiatives, Orca's AST cache and the rest of its user
# database. On the demo state: the new directories list, their entities
# read, one entity of each new collection is made, edited and removed with
# ordinary tools and each step checked with sqlite3, every new log takes >>,
# the schema's delete rules hold, a value outside a field's set is EINVAL
# and changes nothing, and read-only places are EROFS.
. "$(dirname "$0")/lib.sh"
SRC=$(cd "$(dirname "$0")/../.." && pwd)
# The test runs inside the mount: close_errno needs its helper by full path.
close_errno() { python3 "$SRC/tests/integration/fswrite.py" "$@"; }
mount_fs
sh "$SRC/scripts/demo-data.sh" "$MNT" || fail "demo data"
cd "$MNT" || fail "cd into the mount"
echo '{"permission_level":"allowed"}' > permissions/rm.json || fail "lift the demo's rm rule"

# The state of both databases but for the audit tables, which refusals add to.
state() {
	local t
	# shellcheck disable=SC2046
	sql_dump $(sql_tables tool_executions)
	t=$(usql "SELECT group_concat(name, ' ') FROM (SELECT name FROM sqlite_master
		WHERE type = 'table' AND name <> 'tool_executions' AND name NOT LIKE 'sqlite_%' ORDER BY name)")
	# shellcheck disable=SC2086
	sqlite3 "$UDB" ".dump $t"
}
# refused WHAT ERRNO GOT DIR: GOT is ERRNO, nothing changed since S0, and the
# refusal is one failure row in the audit log since A0.
refused() {
	check_eq "$2" "$3" "$1: errno"
	[ "$S0" = "$(state)" ] || bad "$1: the database changed: $(diff <(echo "$S0") <(state) | head -5)"
	local q="SELECT count(*) FROM tool_executions WHERE id > $A0 AND status = 'failure'"
	check_eq "1" "$(if [ "$4" = "$UDB" ]; then usql "$q"; else sql "$q"; fi)" \
		"$1: one failure row in the audit log"
}
before() { S0=$(state); A0=$(sql "SELECT coalesce(max(id), 0) FROM tool_executions"); }
ubefore() { S0=$(state); A0=$(usql "SELECT coalesce(max(id), 0) FROM tool_executions"); }
is_uuid() { [[ $1 =~ ^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$ ]]; }
lsw() { ls "$@" | tr '\n' ' ' | sed 's/ $//'; }

note "the new directories, beside the old ones"
for d in agents orchestrator-agents prompts logs phase-templates workflow-runs gates branches initiatives ast-cache; do
	[ -d "$d" ] || bad "no $d/ at the root"
	[ -f "$d.jsonl" ] || bad "no $d.jsonl at the root"
done
for d in sessions budgets pricing usage; do
	[ -d "user/$d" ] || bad "no user/$d/"
done
check_eq "attachments bugs comments.jsonl deps events.jsonl outputs.jsonl phases.jsonl review-comments.jsonl task.json transcript.jsonl" \
	"$(lsw tasks/TASK-001)" "a task's directory"
check_eq "by-initiative by-status" "$(cd tasks && lsw -d by-*)" "the task views"
PLANNER=$(sql "SELECT id FROM agents WHERE orchestrator_agent_id = 'planner'")
BUILDER=$(sql "SELECT id FROM agents WHERE orchestrator_agent_id = 'builder'")
is_uuid "$PLANNER" || bad "agents' keys are UUIDs: [$PLANNER]"
check_eq "agent.json children logs.jsonl prompts" "$(lsw "agents/$PLANNER")" "an agent's directory"
[ -n "$(sql "SELECT 1 FROM agents WHERE parent_agent_id = '$PLANNER'")" ] || bad "the demo planner has children"
[ -n "$(sql "SELECT 1 FROM prompts WHERE agent_id = '$PLANNER'")" ] || bad "the demo planner has prompts"
check_eq "$(sql "SELECT group_concat(id, ' ') FROM (SELECT id FROM agents WHERE parent_agent_id = '$PLANNER' ORDER BY id) AS t")" \
	"$(lsw "agents/$PLANNER/children")" "an agent's children/, from parent_agent_id"
check_eq "$(sql "SELECT group_concat(id, ' ') FROM (SELECT id FROM prompts WHERE agent_id = '$PLANNER' ORDER BY id) AS t")" \
	"$(lsw "agents/$PLANNER/prompts")" "an agent's prompts/"
check_eq "by-orchestrator-agent by-parent by-session by-status" "$(cd agents && lsw -d by-*)" "the agent views"
check_eq "$BUILDER" "$(lsw "agents/by-parent/$PLANNER")" "agents/by-parent: the children of the planner"
check_eq "../../../agents/$BUILDER" "$(readlink "agents/by-parent/$PLANNER/$BUILDER")" "a child's link"
check_eq "decisions.jsonl deps initiative.json tasks" "$(lsw initiatives/INIT-001)" "an initiative's directory"
check_eq "phases.jsonl run.json" "$(lsw workflow-runs/RUN-001)" "a run's directory"
check_eq "TASK-001 TASK-003" "$(lsw tasks/by-initiative/INIT-001)" "tasks/by-initiative"
check_eq "1.json 2.json 3.json by-component by-level" "$(lsw logs)" "logs/"
check_eq "ERROR INFO WARNING" "$(lsw logs/by-level)" "logs/by-level"
check_eq "INIT-001 TASK-001 TASK-002" "$(lsw branches/by-owner)" "branches/by-owner"
check_eq "1.json 2.json by-language" "$(lsw ast-cache)" "ast-cache/"
check_eq "claude-opus claude-sonnet" "$(lsw user/usage/by-model)" "user/usage/by-model"

note "every entity reads as JSON, its size exact; the streams hold every row"
for f in orchestrator-agents/planner.json "agents/$PLANNER/agent.json" logs/1.json phase-templates/spec.json \
	workflow-runs/RUN-001/run.json gates/1.json branches/feat-rate-limit.json initiatives/INIT-001/initiative.json \
	ast-cache/1.json user/budgets/monthly.json user/pricing/anthropic-claude-sonnet.json user/usage/1.json; do
	jq -e . "$f" >/dev/null || bad "$f is not JSON"
	check_eq "$(wc -c < "$f")" "$(stat -c %s "$f")" "st_size of $f"
done
for p in prompts/*.json user/sessions/*.json; do
	jq -e . "$p" >/dev/null || bad "$p is not JSON"
done
check_eq "$(sql "SELECT count(*) FROM agents")" "$(wc -l < agents.jsonl)" "agents.jsonl"
check_eq "$(sql "SELECT count(*) FROM prompts")" "$(wc -l < prompts.jsonl)" "prompts.jsonl"
check_eq "$(usql "SELECT count(*) FROM usage_logs")" "$(wc -l < user/usage.jsonl)" "user/usage.jsonl"
check_eq "sdlc_planner|planner|[\"read_code\",\"write_spec\"]" \
	"$(jq -r '"\(.name)|\(.agent_type)|\(.capabilities | tojson)"' orchestrator-agents/planner.json)" "an agent type"
check_eq "true|human|ana" "$(jq -r '"\(.approved)|\(.gate_type)|\(.decided_by)"' gates/1.json)" "a gate, approved a boolean"
check_eq "# Rate limiting" "$(jq -r 'select(.output_var_name == "SPEC_CONTENT") | .content' tasks/TASK-001/outputs.jsonl | head -n 1)" \
	"the spec is the output SPEC_CONTENT"
check_eq "src/middleware/ratelimit.ts|typescript|RateLimiter" \
	"$(jq -r '"\(.file_path)|\(.language)|\(.symbols[0])"' ast-cache/1.json)" "an AST cache entry"
check_eq "spec completed|implement pending|docs skipped" \
	"$(jq -r '"\(.phase_id) \(.status)"' tasks/TASK-001/phases.jsonl | paste -sd'|')" "a task's phases"

note "orchestrator-agents/: create, edit, delete"
echo '{"name":"qa_tester","agent_type":"tester","capabilities":["run_tests"]}' > orchestrator-agents/tester.json \
	|| bad "create orchestrator-agents/tester.json"
check_eq "qa_tester|tester|[\"run_tests\"]|1" \
	"$(sql "SELECT name, agent_type, capabilities, revision FROM orchestrator_agents WHERE id = 'tester'")" "the new type's row"
echo '{"default_model":"claude-haiku"}' > orchestrator-agents/tester.json || bad "edit tester.json"
check_eq "claude-haiku|2" "$(sql "SELECT default_model, revision FROM orchestrator_agents WHERE id = 'tester'")" "edited"
echo '{"name":"auto"}' > orchestrator-agents/new || bad "create through new"
k=$(cat orchestrator-agents/new)
is_uuid "$k" || bad "orchestrator-agents/new gave [$k]"
check_eq "auto|utility" "$(sql "SELECT name, agent_type FROM orchestrator_agents WHERE id = '$k'")" "the allocated row"
rm "orchestrator-agents/$k.json" || bad "rm an agent type"
check_eq "0" "$(sql "SELECT count(*) FROM orchestrator_agents WHERE id = '$k'")" "agent type deleted"

note "agents/: create through new, edit, >> to its log, views, delete (its log and prompts go too)"
echo "{\"orchestrator_agent_id\":\"tester\",\"session_id\":\"adw-qa\",\"parent_agent_id\":\"$PLANNER\"}" > agents/new \
	|| bad "create an agent"
A=$(cat agents/new)
is_uuid "$A" || bad "agents/new gave [$A]"
# a REAL zero prints 0.0 in sqlite3, a double precision one 0 in psql
if on_pg; then zero=0; else zero=0.0; fi
check_eq "tester|adw-qa|$PLANNER|initializing|$zero" \
	"$(sql "SELECT orchestrator_agent_id, session_id, parent_agent_id, status, cost_usd FROM agents WHERE id = '$A'")" \
	"the new agent's row"
echo '{"status":"executing","config":{"retries":2},"started_at":"2026-11-22T10:00:00Z"}' > "agents/$A/agent.json" \
	|| bad "edit the agent"
# JSON as stored: SQLite keeps the text, PostgreSQL's jsonb its own spacing
if on_pg; then retries='{"retries": 2}'; else retries='{"retries":2}'; fi
check_eq "executing|$retries|2026-11-22T10:00:00.000Z|2" \
	"$(sql "SELECT status, config, $(sql_time started_at), revision FROM agents WHERE id = '$A'")" "the agent edited"
[ -L "agents/by-status/executing/$A" ] || bad "agents/by-status/executing/ lists the agent"
[ -L "agents/by-session/adw-qa/$A" ] || bad "agents/by-session/adw-qa/ lists the agent"
printf '%s\n' '{"log_type":"state_change","message":"initializing -> executing"}' \
	'{"log_level":"ERROR","log_type":"error","message":"tests failed","details":{"failed":3}}' >> "agents/$A/logs.jsonl" \
	|| bad ">> to an agent's log"
check_eq "INFO|state_change|initializing -> executing
ERROR|error|tests failed" "$(sql "SELECT log_level, log_type, message FROM agent_logs WHERE agent_id = '$A' ORDER BY id")" \
	"the agent's log rows"
check_eq "tests failed|3" "$(tail -n 1 "agents/$A/logs.jsonl" | jq -r '"\(.message)|\(.details.failed)"')" "tail of the log"
echo "{\"agent_id\":\"$A\",\"prompt_type\":\"tool_call\",\"prompt_text\":\"run the suite\"}" > prompts/new || bad "create a prompt"
P=$(cat prompts/new)
is_uuid "$P" || bad "prompts/new gave [$P]"
check_eq "$A|tool_call|pending" "$(sql "SELECT agent_id, prompt_type, status FROM prompts WHERE id = '$P'")" "the prompt's row"
echo '{"status":"completed","response_text":"3 failed","tokens_input":120,"latency_ms":800}' > "prompts/$P.json" \
	|| bad "edit the prompt"
check_eq "completed|3 failed|120|800" \
	"$(sql "SELECT status, response_text, tokens_input, latency_ms FROM prompts WHERE id = '$P'")" "the prompt edited"
[ -L "prompts/by-agent/$A/$P" ] || bad "prompts/by-agent/ lists the prompt"
rm "prompts/$P.json" || bad "rm a prompt"
check_eq "0" "$(sql "SELECT count(*) FROM prompts WHERE id = '$P'")" "prompt deleted"
echo "{\"agent_id\":\"$A\",\"prompt_type\":\"followup\",\"prompt_text\":\"again\"}" > prompts/new || bad "another prompt"
P=$(cat prompts/new)
rmdir "agents/$A" || bad "rmdir an agent"
check_eq "0|0|0" "$(sql "SELECT (SELECT count(*) FROM agents WHERE id = '$A'), (SELECT count(*) FROM agent_logs WHERE agent_id = '$A'),
	(SELECT count(*) FROM prompts WHERE id = '$P')")" "the agent, its log and its prompts are gone"

note "agents/: removing a parent leaves its children without one; removing a type removes its agents"
rev=$(sql "SELECT revision FROM agents WHERE id = '$BUILDER'")
echo '{"orchestrator_agent_id":"planner"}' > agents/new && P2=$(cat agents/new)
echo "{\"parent_agent_id\":\"$P2\"}" > "agents/$BUILDER/agent.json" || bad "reparent the builder"
check_eq "$BUILDER" "$(lsw "agents/by-parent/$P2")" "the builder under its new parent"
rmdir "agents/$P2" || bad "rmdir the parent"
check_eq "|$((rev + 2))" "$(sql "SELECT parent_agent_id, revision FROM agents WHERE id = '$BUILDER'")" \
	"the child stays, without a parent, one more revision"
[ -e "agents/by-parent/$P2" ] && bad "an empty by-parent value still listed"
echo '{"orchestrator_agent_id":"tester"}' > agents/new && T1=$(cat agents/new)
rm orchestrator-agents/tester.json || bad "rm an agent type with an agent"
check_eq "0" "$(sql "SELECT count(*) FROM agents WHERE id = '$T1'")" "its agents are deleted with it"

note "logs/ (system_logs) is read-only"
check_eq "EROFS" "$(echo '{"message":"x"}' | close_errno logs/1.json)" "write a system log entry"
check_eq "EROFS" "$(echo '{"message":"x"}' | close_errno logs/9.json)" "create a system log entry"
check_eq "EROFS" "$(syscall_errno 'os.unlink(a[0])' logs/1.json)" "remove a system log entry"
check_eq "3" "$(sql "SELECT count(*) FROM system_logs")" "the system log is untouched"
check_eq "rate limit of the model provider reached" "$(jq -r .message logs/by-level/ERROR/3)" "read through a view"

note "phase-templates/: create, edit, delete; one a run uses cannot go"
echo '{"name":"Docs","prompt_source":"file","prompt_path":"prompts/docs.md"}' > phase-templates/docs.json || bad "create a template"
check_eq "Docs|file|prompts/docs.md|auto|1" \
	"$(sql "SELECT name, prompt_source, prompt_path, gate_type, checkpoint FROM phase_templates WHERE id = 'docs'")" "the template's row"
echo '{"gate_type":"skip","input_variables":["SPEC_CONTENT"]}' > phase-templates/docs.json || bad "edit the template"
check_eq "skip|[\"SPEC_CONTENT\"]" "$(sql "SELECT gate_type, input_variables FROM phase_templates WHERE id = 'docs'")" "edited"
rm phase-templates/docs.json || bad "rm a template"
check_eq "0" "$(sql "SELECT count(*) FROM phase_templates WHERE id = 'docs'")" "template deleted"
before
e=$(syscall_errno 'os.unlink(a[0])' phase-templates/spec.json)
refused "rm of a template a run uses" EINVAL "$e" "$DB"

note "workflow-runs/: create through new, edit, >> phases, delete; a workflow with runs stays"
echo '{"workflow_id":"release","task_id":"TASK-002","prompt":"Docs for 1.2"}' > workflow-runs/new || bad "create a run"
check_eq "RUN-002" "$(cat workflow-runs/new)" "the run's key"
check_eq "release|TASK-002|pending|task" \
	"$(sql "SELECT workflow_id, task_id, status, context_type FROM workflow_runs WHERE id = 'RUN-002'")" "the run's row"
echo '{"status":"paused","current_phase":"implement","total_cost_usd":0.5}' > workflow-runs/RUN-002/run.json || bad "edit the run"
check_eq "paused|implement|0.5" "$(sql "SELECT status, current_phase, total_cost_usd FROM workflow_runs WHERE id = 'RUN-002'")" "edited"
echo '{"phase_template_id":"implement","status":"failed","error":"timeout"}' >> workflow-runs/RUN-002/phases.jsonl \
	|| bad ">> to a run's phases"
check_eq "implement|failed|timeout" \
	"$(sql "SELECT phase_template_id, status, error FROM workflow_run_phases WHERE workflow_run_id = 'RUN-002'")" "the run's phase"
[ -L workflow-runs/by-task/TASK-002/RUN-002 ] || bad "workflow-runs/by-task/ lists the run"
# workflows keep what rm removes in .trash/ (soft deletes): a workflow with
# runs can go there, but not be removed for good while a run holds it
check_eq OK "$(syscall_errno 'os.rmdir(a[0])' workflows/release)" "rmdir of a workflow with runs: to .trash/"
[ -f workflows/.trash/release.json ] || bad "the workflow is in workflows/.trash/"
before
e=$(syscall_errno 'os.unlink(a[0])' workflows/.trash/release.json)
refused "rm of a trashed workflow with runs" EINVAL "$e" "$DB"
mv workflows/.trash/release.json workflows/release || bad "mv restores the workflow"
check_eq "" "$(sql "SELECT deleted_at FROM workflows WHERE id = 'release'")" "restored"
rmdir workflow-runs/RUN-002 || bad "rmdir a run"
check_eq "0|0" "$(sql "SELECT (SELECT count(*) FROM workflow_runs WHERE id = 'RUN-002'),
	(SELECT count(*) FROM workflow_run_phases WHERE workflow_run_id = 'RUN-002')")" "the run and its phases are gone"

note "gates/: integer keys through new, edit, delete"
echo '{"task_id":"TASK-001","phase":"review","gate_type":"ai","approved":false,"reason":"blocker open"}' > gates/new \
	|| bad "create a gate decision"
check_eq "2" "$(cat gates/new)" "the gate's key"
check_eq "TASK-001|review|ai|0" "$(sql "SELECT task_id, phase, gate_type, approved FROM gate_decisions WHERE id = 2")" "the gate's row"
echo '{"approved":true,"decided_by":"ana"}' > gates/2.json || bad "edit the gate"
check_eq "1|ana|2" "$(sql "SELECT approved, decided_by, revision FROM gate_decisions WHERE id = 2")" "edited"
check_eq "TASK-001" "$(sql "SELECT task_id FROM tool_executions WHERE collection = 'gates' ORDER BY id DESC LIMIT 1")" \
	"the audit row names the gate's task"
rm gates/2.json || bad "rm a gate"
check_eq "0" "$(sql "SELECT count(*) FROM gate_decisions WHERE id = 2")" "gate deleted"

note "branches/: create, edit, delete"
echo '{"name":"orc/TASK-002","type":"task","owner_id":"TASK-002","base_branch":"main"}' > branches/orc-TASK-002.json \
	|| bad "create a branch"
check_eq "orc/TASK-002|task|active" "$(sql "SELECT name, type, status FROM branches WHERE id = 'orc-TASK-002'")" "the branch's row"
echo '{"status":"merged","merged_to":"main","merged_at":"2026-11-23T08:00:00Z"}' > branches/orc-TASK-002.json || bad "edit"
check_eq "merged|main" "$(sql "SELECT status, merged_to FROM branches WHERE id = 'orc-TASK-002'")" "edited"
[ -L branches/by-status/merged/orc-TASK-002 ] || bad "branches/by-status/merged/ lists it"
check_eq "EEXIST" "$(echo '{"name":"orc/TASK-002","type":"task"}' | close_errno branches/dup.json)" "a branch name twice"
rm branches/orc-TASK-002.json || bad "rm a branch"
check_eq "0" "$(sql "SELECT count(*) FROM branches WHERE id = 'orc-TASK-002'")" "branch deleted"

note "initiatives/: create through new, edit, decisions, dependencies and tasks, delete"
echo '{"title":"Passkeys","owner_initials":"JB"}' > initiatives/new || bad "create an initiative"
check_eq "INIT-003" "$(cat initiatives/new)" "the initiative's key"
echo '{"status":"active","vision":"No passwords."}' > initiatives/INIT-003/initiative.json || bad "edit"
check_eq "Passkeys|active|No passwords." "$(sql "SELECT title, status, vision FROM initiatives WHERE id = 'INIT-003'")" "edited"
echo '{"decision":"WebAuthn only","decided_by":"jb"}' >> initiatives/INIT-003/decisions.jsonl || bad ">> a decision"
check_eq "WebAuthn only|jb" "$(sql "SELECT decision, decided_by FROM initiative_decisions WHERE initiative_id = 'INIT-003'")" \
	"the decision's row"
ln -s ../../INIT-002 initiatives/INIT-003/deps/INIT-002 || bad "link a dependency"
check_eq "INIT-002" "$(sql "SELECT depends_on FROM initiative_dependencies WHERE initiative_id = 'INIT-003'")" "dependency row"
check_eq "EINVAL" "$(syscall_errno 'os.symlink(a[0], a[1])' ../../INIT-003 initiatives/INIT-003/deps/INIT-003)" \
	"an initiative cannot depend on itself"
ln -s ../../../tasks/TASK-002 initiatives/INIT-003/tasks/TASK-002 || bad "link a task"
check_eq "EEXIST" "$(syscall_errno 'os.symlink(a[0], a[1])' ../../../tasks/TASK-001 initiatives/INIT-003/tasks/TASK-001)" \
	"a task in two initiatives"
mv tasks/TASK-001 initiatives/INIT-003/tasks/ || bad "mv moves a task to another initiative"
check_eq "TASK-001|INIT-003
TASK-002|INIT-003
TASK-003|INIT-001" "$(sql "SELECT task_id, initiative_id FROM initiative_tasks ORDER BY 1")" "initiative_tasks"
check_eq "TASK-001 TASK-002" "$(lsw tasks/by-initiative/INIT-003)" "tasks/by-initiative follows"
rm initiatives/INIT-003/deps/INIT-002 || bad "unlink the dependency"
check_eq "0" "$(sql "SELECT count(*) FROM initiative_dependencies WHERE initiative_id = 'INIT-003'")" "unlinked"
rmdir initiatives/INIT-003 || bad "rmdir the initiative"
check_eq "0|0|0|2" "$(sql "SELECT (SELECT count(*) FROM initiatives WHERE id = 'INIT-003'),
	(SELECT count(*) FROM initiative_decisions WHERE initiative_id = 'INIT-003'),
	(SELECT count(*) FROM initiative_tasks WHERE initiative_id = 'INIT-003'), (SELECT count(*) FROM tasks WHERE id IN ('TASK-001', 'TASK-002'))")" \
	"the initiative, its decisions and links are gone; its tasks stay"

note "the task's new logs take >>; the event log keeps one row per event"
echo '{"phase_id":"test","status":"completed","iterations":1}' >> tasks/TASK-002/phases.jsonl || bad ">> phases"
echo '{"phase_id":"spec","output_var_name":"SPEC_CONTENT","content":"# API reference"}' >> tasks/TASK-002/outputs.jsonl || bad ">> outputs"
echo '{"author":"bo","content":"Start with the auth endpoints."}' >> tasks/TASK-002/comments.jsonl || bad ">> comments"
echo '{"file_path":"docs/api.md","line_number":12,"severity":"issue","content":"Wrong status code."}' \
	>> tasks/TASK-002/review-comments.jsonl || bad ">> review comments"
E='{"event_type":"phase_completed","phase":"test","timestamp":"2026-11-23T09:00:00Z"}'
echo "$E" >> tasks/TASK-002/events.jsonl || bad ">> an event"
printf '%s\n%s\n' "$E" "$E" >> tasks/TASK-002/events.jsonl || bad ">> the same event again"
check_eq "test|completed|1" "$(sql "SELECT phase_id, status, iterations FROM phases WHERE task_id = 'TASK-002'")" "phases row"
check_eq "SPEC_CONTENT|# API reference|1" \
	"$(sql "SELECT output_var_name, content, iteration FROM phase_outputs WHERE task_id = 'TASK-002'")" "outputs row"
check_eq "bo|human|Start with the auth endpoints." \
	"$(sql "SELECT author, author_type, content FROM task_comments WHERE task_id = 'TASK-002'")" "comments row"
check_eq "issue|open|agent|12" "$(sql "SELECT severity, status, author, line_number FROM review_comments WHERE task_id = 'TASK-002'")" \
	"review comment row"
check_eq "1" "$(sql "SELECT count(*) FROM event_log WHERE task_id = 'TASK-002'")" "the same event three times is one row"
check_eq "1" "$(wc -l < tasks/TASK-002/events.jsonl)" "events.jsonl shows it once"
check_eq "EEXIST" "$(echo '{"phase_id":"test"}' | close_errno tasks/TASK-002/phases.jsonl append)" "a task's phase twice"
check_eq "EPERM" "$(echo '{"phase_id":"x"}' | close_errno tasks/TASK-002/phases.jsonl)" "a log cannot be rewritten"

note "ast-cache/: entries can be removed, not made or edited"
before
check_eq "EINVAL" "$(echo '{"language":"go"}' | close_errno ast-cache/1.json)" "edit an AST cache entry"
check_contains "$(cat ast-cache/.error)" "1.json: language: read-only" ".error names the field"
[ "$S0" = "$(state)" ] || bad "the edit changed the database"
check_eq "EINVAL" "$(echo '{"file_path":"x.c","language":"c","content_hash":"h"}' | close_errno ast-cache/9.json)" \
	"create an AST cache entry"
check_eq "2" "$(sql "SELECT count(*) FROM ast_cache")" "nothing was created"
rm ast-cache/2.json || bad "rm an AST cache entry"
check_eq "0" "$(sql "SELECT count(*) FROM ast_cache WHERE id = 2")" "entry removed"

note "user/: sessions, budgets and pricing are made, edited and removed; usage is read-only"
echo '{"workspace_root":"/srv/src/api"}' > user/sessions/new || bad "create a session"
S=$(cat user/sessions/new)
is_uuid "$S" || bad "user/sessions/new gave [$S]"
check_eq "/srv/src/api|1" "$(usql "SELECT workspace_root, active FROM sessions WHERE id = '$S'")" "the session's row"
echo '{"active":false,"last_activity_at":"2026-11-23T10:00:00Z"}' > "user/sessions/$S.json" || bad "edit the session"
check_eq "0|2026-11-23T10:00:00.000Z" "$(usql "SELECT active, last_activity_at FROM sessions WHERE id = '$S'")" "edited"
rm "user/sessions/$S.json" || bad "rm a session"
check_eq "0" "$(usql "SELECT count(*) FROM sessions WHERE id = '$S'")" "session deleted"
echo '{"name":"Hackathon","type":"credit","credit_amount":25}' > user/budgets/hack.json || bad "create a budget"
check_eq "Hackathon|credit|25.0|warn|0" \
	"$(usql "SELECT name, type, credit_amount, enforcement, active FROM budgets WHERE id = 'hack'")" "the budget's row"
echo '{"active":true,"current_usage":3.5}' > user/budgets/hack.json || bad "edit the budget"
check_eq "1|3.5" "$(usql "SELECT active, current_usage FROM budgets WHERE id = 'hack'")" "edited"
ubefore
check_eq "EINVAL" "$(echo '{"name":"Weekly","type":"recurring"}' | close_errno user/budgets/weekly.json)" \
	"a recurring budget without its interval"
check_contains "$(cat user/budgets/.error)" "recurring_needs_interval" ".error names the rule"
rm user/budgets/hack.json || bad "rm a budget"
check_eq "0" "$(usql "SELECT count(*) FROM budgets WHERE id = 'hack'")" "budget deleted"
echo '{"provider":"openai","model":"gpt-4o","cost_per_input_token":0.0000025,"cost_per_output_token":0.00001}' \
	> user/pricing/openai-gpt-4o.json || bad "create a price"
check_eq "openai|gpt-4o" "$(usql "SELECT provider, model FROM llm_pricing WHERE id = 'openai-gpt-4o'")" "the price's row"
echo '{"cost_per_output_token":0.000012}' > user/pricing/openai-gpt-4o.json || bad "edit the price"
check_eq "1.2e-05" "$(usql "SELECT cost_per_output_token FROM llm_pricing WHERE id = 'openai-gpt-4o'")" "edited"
[ -L user/pricing/by-provider/openai/openai-gpt-4o ] || bad "user/pricing/by-provider lists it"
rm user/pricing/openai-gpt-4o.json || bad "rm a price"
check_eq "0" "$(usql "SELECT count(*) FROM llm_pricing WHERE id = 'openai-gpt-4o'")" "price deleted"
check_eq "EROFS" "$(echo '{"cost_usd":0}' | close_errno user/usage/1.json)" "the usage ledger is read-only"
rm user/budgets/monthly.json || bad "rm the budget the usage names"
check_eq "2|0" "$(usql "SELECT count(*), count(budget_id) FROM usage_logs")" "the usage stays, without its budget"

note "a value outside a field's set is EINVAL and changes nothing"
before
refused "agents: status" EINVAL "$(echo '{"status":"sleeping"}' | close_errno "agents/$BUILDER/agent.json")" "$DB"
check_contains "$(cat "agents/$BUILDER/.error")" 'agent.json: status: must be one of initializing' ".error of the agent"
before
refused "prompts: prompt_type on create" EINVAL \
	"$(echo "{\"agent_id\":\"$BUILDER\",\"prompt_type\":\"chat\",\"prompt_text\":\"hi\"}" | close_errno prompts/new)" "$DB"
before
refused "gates: gate_type" EINVAL "$(echo '{"gate_type":"manual"}' | close_errno gates/1.json)" "$DB"
before
refused "review comments: severity" EINVAL \
	"$(echo '{"content":"nit","severity":"nit"}' | close_errno tasks/TASK-001/review-comments.jsonl append)" "$DB"
before
refused "agent logs: log_level" EINVAL \
	"$(echo '{"message":"x","log_level":"TRACE"}' | close_errno "agents/$PLANNER/logs.jsonl" append)" "$DB"
before
refused "initiatives: status" EINVAL "$(echo '{"status":"paused"}' | close_errno initiatives/INIT-001/initiative.json)" "$DB"
before
refused "branches: type" EINVAL "$(echo '{"name":"x","type":"feature"}' | close_errno branches/x.json)" "$DB"
ubefore
refused "budgets: enforcement" EINVAL \
	"$(echo '{"name":"B","type":"credit","enforcement":"stop"}' | close_errno user/budgets/b.json)" "$UDB"

note "the change feed names the new collections, with the tool for changes through the mount"
check_eq "bash" "$(sql "SELECT tool FROM _orchfs_changes WHERE collection = 'gates' AND operation = 'create' ORDER BY seq DESC LIMIT 1")" \
	"a gate's create in the feed"
check_eq "3" "$(sql "SELECT count(*) FROM _orchfs_changes WHERE collection = 'logs' AND operation = 'create' AND tool IS NULL")" \
	"the system log's rows, by another writer"
check_contains "$(grep '"collection":"initiatives"' changes.jsonl | tail -n 1)" '"operation":"delete"' "changes.jsonl"
check_contains "$(cat user/changes.jsonl)" '"collection":"pricing","key":"openai-gpt-4o","operation":"update"' "user/changes.jsonl"

cd / || true
umount_fs || fail "clean unmount"
