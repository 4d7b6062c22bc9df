#!/bin/sh
# demo-data.sh MOUNTPOINT [PROJECT_DB [USER_DB]] - sample state, written
# through the mount the way people and agents write it: shell redirections,
# mkdir, >> and ln -s. What only orchestrators write (the system log, the AST
# cache, the usage ledger: read-only in the mount) goes in with sqlite3 (psql
# for a postgres:// project database), when the databases are named here or
# by ORCHFS_DB and ORCHFS_USER_DB.
set -eu
m=$1
db=${2:-${ORCHFS_DB:-}}
udb=${3:-${ORCHFS_USER_DB:-}}

w() { printf '%s\n' "$2" > "$m/$1"; }

# Tasks (keys allocated through tasks/new) and their transcripts.
w tasks/new '{"title":"Add login rate limiting","status":"running","priority":2,"branch":"feat/rate-limit","metadata":{"estimate":"2d"}}'
w tasks/new '{"title":"Write the API reference","status":"planned","priority":1}'
w tasks/new '{"title":"Fix flaky session test","status":"blocked","priority":3}'
w tasks/new '{"title":"Release 1.2","status":"created"}'
printf '%s\n' \
	'{"role":"user","content":"Add rate limiting to POST /login: 5 attempts per minute per IP."}' \
	'{"role":"assistant","content":"I will add a token bucket middleware and tests.","model":"claude-sonnet","input_tokens":812,"output_tokens":64}' \
	'{"type":"tool_use","role":"assistant","content":"edit src/middleware/ratelimit.ts","tool_calls":[{"name":"edit","path":"src/middleware/ratelimit.ts"}]}' \
	>> "$m/tasks/TASK-001/transcript.jsonl"

# Bugs.
w bugs/new '{"title":"Login fails with 500 after password reset","priority":1,"severity":"critical","labels":["auth","regression"],"related_files":["src/auth/reset.ts"],"reporter":"qa-bot"}'
w bugs/new '{"title":"Session cookie missing SameSite","priority":2,"labels":["security"]}'
w bugs/new '{"title":"Typo in onboarding email","priority":5,"labels":["copy"]}'

# Project rules: the security ones are what the git hooks enforce.
w rules/no-secrets.json '{"name":"No secrets in code","rule_type":"security","severity":"error","description":"Blocks commits that add API keys or private keys.","config":{"pattern":"(AKIA[0-9A-Z]{16}|-----BEGIN [A-Z ]*PRIVATE KEY-----|sk-[A-Za-z0-9]{20,})"}}'
w rules/no-console-log.json '{"name":"No console.log","rule_type":"style","severity":"warning","config":{"pattern":"console\\.log","paths":["src/**/*.ts"]}}'
w rules/max-file-size.json '{"name":"Files under 1 MB","rule_type":"workflow","severity":"error","config":{"max_bytes":1048576}}'

# The four default zones of AI-Orchestra come with the schema (migration
# 0007); worktrees.
w worktrees/wt-rate-limit.json '{"path":"/srv/worktrees/rate-limit","port":3001,"branch_name":"feat/rate-limit","task_id":"TASK-001"}'
w worktrees/wt-docs.json '{"path":"/srv/worktrees/docs","port":3002,"branch_name":"docs/api","task_id":"TASK-002","status":"inactive"}'

# Workflows and tool permissions.
mkdir "$m/workflows/release"
w workflows/release/workflow.json '{"name":"Release","pattern":"plan_execute","status":"pending","definition":{"steps":["test","tag","publish"]}}'
w permissions/git.json '{"permission_level":"allowed","description":"git is always fine"}'
w permissions/rm.json '{"permission_level":"denied","description":"no deletes by agents"}'
w permissions/file_write.json '{"permission_level":"restricted","path_restrictions":["src/","tests/"]}'

# The user database: a provider (its key is masked on read), a prompt, a template.
w user/providers/anthropic.json '{"provider_type":"anthropic","model":"claude-sonnet","api_key":"sk-ant-demo-0000000000000000wxyz","is_default":true}'
w user/prompts/code-review.json '{"template":"Review this diff for bugs and style: {{diff}}","category":"review","variables":["diff"]}'
w user/workflow_templates/bugfix.json '{"description":"Reproduce, fix, test","pattern":"react","definition":{"steps":["reproduce","fix","test"]},"tags":["bug"]}'

# Relations are symlinks.
ln -s ../../TASK-001 "$m/tasks/TASK-004/deps/TASK-001"
ln -s ../../../bugs/BUG-001.json "$m/tasks/TASK-001/bugs/BUG-001"

# Agents (TAC): agent types with chosen keys; running agents get UUIDs through
# new, a builder spawned by the planner, their prompts and their logs.
w orchestrator-agents/planner.json '{"name":"sdlc_planner","agent_type":"planner","capabilities":["read_code","write_spec"],"default_model":"claude-opus"}'
w orchestrator-agents/builder.json '{"name":"sdlc_implementor","agent_type":"builder","capabilities":["edit_code","run_tests"],"default_model":"claude-sonnet"}'
w orchestrator-agents/reviewer.json '{"name":"code_reviewer","agent_type":"reviewer","capabilities":["read_code","comment"],"default_model":"claude-sonnet"}'
w agents/new '{"orchestrator_agent_id":"planner","session_id":"adw-rate-limit","status":"completed","context":{"task":"TASK-001"},"cost_usd":0.42,"started_at":"2026-11-20T09:00:00Z","completed_at":"2026-11-20T09:04:10Z"}'
planner=$(cat "$m/agents/new")
w agents/new "{\"orchestrator_agent_id\":\"builder\",\"session_id\":\"adw-rate-limit\",\"parent_agent_id\":\"$planner\",\"status\":\"executing\",\"config\":{\"max_turns\":40},\"cost_usd\":1.17,\"started_at\":\"2026-11-20T09:04:12Z\"}"
builder=$(cat "$m/agents/new")
w agents/new '{"orchestrator_agent_id":"reviewer","session_id":"adw-api-docs","status":"initializing"}'
printf '%s\n' \
	'{"log_type":"state_change","message":"initializing -> planning"}' \
	'{"log_type":"milestone","message":"spec written","details":{"output":"SPEC_CONTENT","task":"TASK-001"}}' \
	'{"log_type":"state_change","message":"planning -> completed"}' \
	>> "$m/agents/$planner/logs.jsonl"
printf '%s\n' \
	'{"log_type":"tool_call","message":"edit src/middleware/ratelimit.ts"}' \
	'{"log_level":"WARNING","log_type":"performance","message":"test suite took 94 s","details":{"seconds":94}}' \
	'{"log_type":"cost_update","message":"cost now $1.17","details":{"cost_usd":1.17}}' \
	>> "$m/agents/$builder/logs.jsonl"
w prompts/new "{\"agent_id\":\"$planner\",\"prompt_type\":\"adw\",\"prompt_name\":\"plan\",\"prompt_text\":\"Plan rate limiting for POST /login.\",\"response_text\":\"1. token bucket middleware 2. tests 3. docs\",\"status\":\"completed\",\"model_used\":\"claude-opus\",\"tokens_input\":1830,\"tokens_output\":412,\"cost_usd\":0.42,\"latency_ms\":9120,\"completed_at\":\"2026-11-20T09:04:10Z\"}"
w prompts/new "{\"agent_id\":\"$builder\",\"prompt_type\":\"command\",\"prompt_name\":\"implement\",\"prompt_text\":\"Implement the plan in SPEC_CONTENT.\",\"status\":\"streaming\",\"model_used\":\"claude-sonnet\"}"

# orc: phase templates, the phases of TASK-001 and what they produced, its
# comments, review comments, events and gate; a run of the release workflow.
w phase-templates/spec.json '{"name":"Specification","prompt_source":"embedded","produces_artifact":true,"artifact_type":"spec","gate_type":"human","max_iterations":5}'
w phase-templates/implement.json '{"name":"Implementation","input_variables":["SPEC_CONTENT"],"max_iterations":30}'
w phase-templates/review.json '{"name":"Code review","input_variables":["SPEC_CONTENT"],"gate_type":"ai","checkpoint":false}'
printf '%s\n' \
	'{"phase_id":"spec","status":"completed","iterations":2,"input_tokens":5120,"output_tokens":1480,"cost_usd":0.42,"started_at":"2026-11-20T09:00:00Z","completed_at":"2026-11-20T09:04:10Z"}' \
	'{"phase_id":"implement","iterations":6,"input_tokens":48211,"output_tokens":9620,"cost_usd":1.17,"started_at":"2026-11-20T09:04:12Z"}' \
	'{"phase_id":"docs","status":"skipped","skip_reason":"no public API change"}' \
	>> "$m/tasks/TASK-001/phases.jsonl"
printf '%s\n' '{"phase_id":"spec","output_var_name":"SPEC_CONTENT","content":"# Rate limiting\n\nPOST /login allows 5 attempts per minute per IP; the 6th gets 429 with Retry-After.","timestamp":"2026-11-20T09:04:10Z"}' \
	>> "$m/tasks/TASK-001/outputs.jsonl"
printf '%s\n' \
	'{"author":"ana","content":"Use the client IP from X-Forwarded-For only behind our proxy.","phase":"spec"}' \
	'{"author":"sdlc_implementor","author_type":"agent","content":"Done: trusted proxies come from TRUSTED_PROXIES.","phase":"implement"}' \
	>> "$m/tasks/TASK-001/comments.jsonl"
printf '%s\n' \
	'{"file_path":"src/middleware/ratelimit.ts","line_number":42,"severity":"blocker","content":"The bucket map grows without bound; evict idle IPs."}' \
	'{"file_path":"tests/ratelimit.test.ts","line_number":7,"severity":"suggestion","author":"human","content":"Use fake timers instead of sleeping."}' \
	>> "$m/tasks/TASK-001/review-comments.jsonl"
printf '%s\n' \
	'{"event_type":"phase_started","phase":"spec","source":"executor","timestamp":"2026-11-20T09:00:00Z"}' \
	'{"event_type":"phase_completed","phase":"spec","source":"executor","duration_ms":250000,"timestamp":"2026-11-20T09:04:10Z"}' \
	'{"event_type":"phase_started","phase":"implement","source":"executor","timestamp":"2026-11-20T09:04:12Z"}' \
	>> "$m/tasks/TASK-001/events.jsonl"
w gates/new '{"task_id":"TASK-001","phase":"spec","gate_type":"human","approved":true,"reason":"spec matches the ticket","decided_by":"ana","decided_at":"2026-11-20T09:05:00Z"}'
w workflow-runs/new '{"workflow_id":"release","task_id":"TASK-004","prompt":"Cut release 1.2","status":"running","current_phase":"implement","context_data":{"version":"1.2.0"},"started_at":"2026-11-21T14:00:00Z"}'
printf '%s\n' \
	'{"phase_template_id":"spec","status":"completed","iterations":1,"cost_usd":0.08,"completed_at":"2026-11-21T14:03:00Z"}' \
	'{"phase_template_id":"implement","status":"running","started_at":"2026-11-21T14:03:05Z"}' \
	>> "$m/workflow-runs/RUN-001/phases.jsonl"

# Branches and initiatives (orc).
w branches/feat-rate-limit.json '{"name":"feat/rate-limit","type":"task","owner_id":"TASK-001","base_branch":"main","last_activity":"2026-11-20T11:30:00Z"}'
w branches/docs-api.json '{"name":"docs/api","type":"task","owner_id":"TASK-002","base_branch":"main","status":"stale"}'
w branches/feature-auth.json '{"name":"feature/auth","type":"initiative","owner_id":"INIT-001","base_branch":"main"}'
w initiatives/new '{"title":"Harden authentication","status":"active","vision":"No credential stuffing, no session fixation.","owner_initials":"AN","owner_display_name":"Ana","branch_base":"feature/auth"}'
w initiatives/new '{"title":"Single sign-on","vision":"Log in with the company IdP."}'
ln -s ../../../tasks/TASK-001 "$m/initiatives/INIT-001/tasks/TASK-001"
ln -s ../../../tasks/TASK-003 "$m/initiatives/INIT-001/tasks/TASK-003"
ln -s ../../INIT-001 "$m/initiatives/INIT-002/deps/INIT-001"
echo '{"decision":"Rate-limit by IP, not by account","rationale":"account lockout lets anyone lock out anyone","decided_by":"ana"}' \
	>> "$m/initiatives/INIT-001/decisions.jsonl"

# The user database: a session, a monthly budget and the price list.
w user/sessions/new '{"workspace_root":"/srv/src/shop","description":"rate limiting work","metadata":{"editor":"vim"}}'
w user/budgets/monthly.json '{"name":"Monthly","type":"recurring","renewal_interval_unit":"months","renewal_interval_value":1,"next_renewal_date":"2026-12-01T00:00:00Z","credit_cap":200,"current_usage":1.59,"total_spent":1.59,"enforcement":"block","active":true}'
w user/pricing/anthropic-claude-sonnet.json '{"provider":"anthropic","model":"claude-sonnet","cost_per_input_token":0.000003,"cost_per_output_token":0.000015}'
w user/pricing/anthropic-claude-opus.json '{"provider":"anthropic","model":"claude-opus","cost_per_input_token":0.000015,"cost_per_output_token":0.000075}'

# What orchestrators write themselves.
# A postgres:// (or postgresql://) project database goes through psql: the
# same statements, which PostgreSQL takes as they are.
case "$db" in
postgres://* | postgresql://*) project_sql() { psql -X -q -v ON_ERROR_STOP=1 -d "$db" >/dev/null; } ;;
*) project_sql() { sqlite3 -bail "$db"; } ;;
esac
if [ -n "$db" ] && command -v "$(case "$db" in postgres*://*) echo psql ;; *) echo sqlite3 ;; esac)" >/dev/null; then
	project_sql <<'SQL'
INSERT INTO system_logs (log_level, component, message, details, timestamp) VALUES
  ('INFO', 'orchestrator', 'started 2 agents for adw-rate-limit', '{"session":"adw-rate-limit"}', '2026-11-20T09:00:00.000Z'),
  ('WARNING', 'websocket', 'client dropped; reconnecting', '{"client":"dashboard"}', '2026-11-20T09:12:41.000Z'),
  ('ERROR', 'api', 'rate limit of the model provider reached', '{"retry_after_s":20}', '2026-11-20T09:13:02.000Z');
INSERT INTO ast_cache (file_path, language, content_hash, symbols, imports, file_size, parse_duration_ms) VALUES
  ('src/middleware/ratelimit.ts', 'typescript', 'sha256:8f14e45f', '["RateLimiter","rateLimit"]', '["express"]', 2214, 12),
  ('src/auth/reset.ts', 'typescript', 'sha256:c9f0f895', '["resetPassword"]', '["./db","bcrypt"]', 4120, 18);
SQL
fi
if [ -n "$udb" ] && command -v sqlite3 >/dev/null; then
	sqlite3 -bail "$udb" <<'SQL'
INSERT INTO usage_logs (budget_id, llm_provider, llm_model, request_type, input_tokens, output_tokens, cost_usd, timestamp) VALUES
  ('monthly', 'anthropic', 'claude-opus', 'plan', 1830, 412, 0.42, '2026-11-20T09:04:10.000Z'),
  ('monthly', 'anthropic', 'claude-sonnet', 'implement', 48211, 9620, 1.17, '2026-11-20T11:30:00.000Z');
SQL
fi
