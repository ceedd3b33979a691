#!/usr/bin/env bash
# make demo: the whole procedure against a real (emulated) AWS on loopback.
#   1. start moto_server on a free loopback port, with request authentication on
#   2. create an IAM user with an access key, and a KMS key with a default policy
#      (exactly 4 unauthenticated actions; every later request must be signed
#      by a principal with IAM permission, as on AWS)
#   3. start the loopback CloudTrail / Access Analyzer fake (moto lacks them)
#   4. policy-change run examples/aws-update.yaml --yes, with a short monitor
#   5. show the result, the live policy and the backup; stop everything
set -euo pipefail
bin=$(realpath "${1:-.build/release/policy-change}")
cd "$(dirname "$0")/.."
work=$(mktemp -d /tmp/policy-change-demo.XXXXXX)
source scripts/aws/local-aws.sh
trap local_aws_stop EXIT

echo "== starting moto_server on loopback (authentication on after setup) and the CloudTrail/Access Analyzer fake"
local_aws_start "$work"
echo "   IAM user $USER_ARN, key $KEY_ARN"
key_arn=$KEY_ARN
port=$MOTO_PORT
echo
echo "== policy-change plan examples/aws-update.yaml"
"$bin" plan examples/aws-update.yaml --set KEY_ARN="$key_arn" --set MONITOR=10s --set INTERVAL=2s --set SETTLE=2s
echo
echo "== policy-change run examples/aws-update.yaml --yes   (monitor shortened to 10s for the demo)"
status=0
"$bin" run examples/aws-update.yaml --yes --set KEY_ARN="$key_arn" --set MONITOR=10s --set INTERVAL=2s --set SETTLE=2s \
  --state-dir "$work/state" || status=$?
echo
echo "== the key's policy now (aws kms get-key-policy)"
python3 - "$port" "$key_arn" <<'PY'
import json, sys, boto3
kms = boto3.client("kms", endpoint_url="http://127.0.0.1:" + sys.argv[1], region_name="us-east-1")
policy = json.loads(kms.get_key_policy(KeyId=sys.argv[2], PolicyName="default")["Policy"])
for statement in policy["Statement"]:
    print("  -", statement.get("Sid", "(no Sid)"))
PY
echo
backup=$(ls "$work"/state/runs/*/aws-*.json 2>/dev/null | head -1 || true)
if [ -n "$backup" ]; then
  echo "== the backup ($backup, mode $(stat -c %a "$backup")) — restore with:"
  echo "   aws kms put-key-policy --key-id $key_arn --policy-name default --policy file://$backup"
  cat "$backup"
fi
echo
"$bin" status --state-dir "$work/state"
exit $status
