#!/usr/bin/env bash
# Benchmarks, measured with hyperfine (never asserted by tests):
#   1. cold start: policy-change --version
#   2. load + check of a 200-step runbook (validate RUNBOOK, offline)
#   3. offline plan of the example runbook
set -euo pipefail
bin=${1:-.build/release/policy-change}
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# A 200-step runbook: the example's change with 196 command steps around the procedure.
cp -r examples/snippets examples/policies "$work/"
{
  cat <<'YAML'
version: 1
name: bench-200-steps
target:
  aws:
    key: arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab
change:
  - add-statements: snippets/confluent-statements.json
require:
  - preset: confluent
    principal: arn:aws:iam::152535741197:role/cc-kafka-d45e6381-b878-11ed-bdff-028e28f108bd
steps:
  - backup: { dir: backups }
  - validate: { fail-on: error }
YAML
  for i in $(seq 1 196); do echo "  - command: { run: \"echo step $i\", timeout: 10s, on-failure: continue }"; done
  cat <<'YAML'
  - apply: {}
  - verify: { checks: [policy-unchanged, required-access] }
YAML
} > "$work/runbook-200.yaml"

key=arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab
hyperfine --warmup 3 --runs 30 --export-markdown "$work/bench.md" \
  -n "start-up: --version" "$bin --version" \
  -n "load+check 200-step runbook" "$bin validate $work/runbook-200.yaml --current examples/policies/current-key-policy.json" \
  -n "plan example (offline)" "$bin plan examples/aws-update.yaml --current examples/policies/current-key-policy.json --set KEY_ARN=$key"
cat "$work/bench.md"

# 4. plan against AWS (moto_server on loopback, authentication on) beside the
#    aws CLI reading the same key's policy: the same network round trips, so
#    the difference is start-up and work per request.
source scripts/aws/local-aws.sh
trap 'local_aws_stop; rm -rf "$work"' EXIT
local_aws_start "$work"
hyperfine --warmup 2 --runs 15 --export-markdown "$work/bench-aws.md" \
  -n "policy-change plan examples/aws-update.yaml (moto)" "$bin plan examples/aws-update.yaml --set KEY_ARN=$KEY_ARN" \
  -n "aws kms get-key-policy (moto)" "aws kms get-key-policy --key-id $KEY_ARN --policy-name default --output text"
cat "$work/bench-aws.md"
