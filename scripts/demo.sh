#!/usr/bin/env bash
# The offline demo: load the example runbook and plan it against the example
# key policy, with no cloud contacted. (With the AWS adapter it runs the whole
# procedure against moto_server on loopback.)
set -euo pipefail
bin=${1:-.build/release/policy-change}
cd "$(dirname "$0")/.."
key=arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab
echo "== policy-change plan examples/aws-update.yaml (offline, against examples/policies/current-key-policy.json)"
"$bin" plan examples/aws-update.yaml --current examples/policies/current-key-policy.json \
  --set KEY_ARN="$key" --set SETTLE=5s --set MONITOR=1m --set INTERVAL=10s
echo
echo "== the same plan as markdown, for a pull request"
"$bin" plan examples/aws-update.yaml --current examples/policies/current-key-policy.json \
  --set KEY_ARN="$key" --set SETTLE=5s --set MONITOR=1m --set INTERVAL=10s --format markdown
