#!/bin/sh
# demo-data.sh MOUNTPOINT - sample state, written through the mount the way
# people and agents write it: shell redirections, mkdir, >> and ln -s.
set -eu
m=$1

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

# The four default zones of AI-Orchestra, and worktrees.
mkdir "$m/zones/zone-development" "$m/zones/zone-testing" "$m/zones/zone-review" "$m/zones/zone-deployment"
w zones/zone-development/zone.json '{"name":"Development","agents":["frontend","backend"],"actions":[],"position_x":50,"position_y":50}'
w zones/zone-testing/zone.json '{"name":"Testing","agents":["qa","test-engineer"],"actions":["runTests"],"position_x":400,"position_y":50}'
w zones/zone-review/zone.json '{"name":"Review","agents":["code-reviewer"],"actions":["runTests","createPR"],"position_x":750,"position_y":50}'
w zones/zone-deployment/zone.json '{"name":"Deployment","trigger":"manual","agents":["devops"],"actions":["runTests","notify"],"position_x":1100,"position_y":50}'
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
