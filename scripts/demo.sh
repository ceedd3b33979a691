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
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
command -v moto_server >/dev/null || { echo "moto_server is missing: run 'make deps' (pip install \"moto[server]\")" >&2; exit 1; }

port=$(free_port)
echo "== starting moto_server on 127.0.0.1:$port (authentication on after setup)"
INITIAL_NO_AUTH_ACTION_COUNT=4 moto_server -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do
  curl -s -o /dev/null "http://127.0.0.1:$port/moto-api/" && break
  sleep 0.1
done

python3 scripts/aws/moto_setup.py "http://127.0.0.1:$port" --policy examples/policies/current-key-policy.json >"$work/setup.json"
field() { python3 -c "import json,sys; print(json.load(open('$work/setup.json'))['$1'])"; }
key_arn=$(field key_arn)
echo "   IAM user $(field user_arn), key $key_arn"

python3 scripts/aws/aws_fakes.py --port-file "$work/fake.port" --access-key-id "$(field access_key_id)" \
  --secret-access-key "$(field secret_access_key)" --events "$work/events.json" >"$work/fake.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do [ -s "$work/fake.port" ] && break; sleep 0.1; done
fake=$(cat "$work/fake.port")

export AWS_ACCESS_KEY_ID=$(field access_key_id) AWS_SECRET_ACCESS_KEY=$(field secret_access_key)
export AWS_ENDPOINT_URL=http://127.0.0.1:$port
export AWS_ENDPOINT_URL_CLOUDTRAIL=http://127.0.0.1:$fake AWS_ENDPOINT_URL_ACCESSANALYZER=http://127.0.0.1:$fake
export AWS_EC2_METADATA_DISABLED=true AWS_REGION=us-east-1

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
