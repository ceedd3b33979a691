# Sourced by scripts/demo.sh and scripts/bench.sh: a local AWS on loopback.
#   local_aws_start WORKDIR   starts moto_server (authentication on after setup)
#                             and the CloudTrail/Access Analyzer fake, creates an
#                             IAM user and a KMS key, exports AWS_* for them and
#                             sets KEY_ARN, MOTO_PORT; local_aws_stop ends both.
LOCAL_AWS_PIDS=()

local_aws_stop() {
  for pid in "${LOCAL_AWS_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}

local_aws_start() {
  local work=$1
  command -v moto_server >/dev/null || { echo "moto_server is missing: run 'make deps' (pip install \"moto[server]\")" >&2; return 1; }
  MOTO_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  INITIAL_NO_AUTH_ACTION_COUNT=4 moto_server -H 127.0.0.1 -p "$MOTO_PORT" >"$work/moto.log" 2>&1 &
  LOCAL_AWS_PIDS+=($!)
  local i
  for i in $(seq 1 200); do
    curl -s -o /dev/null "http://127.0.0.1:$MOTO_PORT/moto-api/" && break
    sleep 0.1
  done
  python3 "$(dirname "${BASH_SOURCE[0]}")/moto_setup.py" "http://127.0.0.1:$MOTO_PORT" \
    --policy "$(dirname "${BASH_SOURCE[0]}")/../../examples/policies/current-key-policy.json" >"$work/setup.json"
  _field() { python3 -c "import json; print(json.load(open('$work/setup.json'))['$1'])"; }
  KEY_ARN=$(_field key_arn)
  USER_ARN=$(_field user_arn)
  export AWS_ACCESS_KEY_ID=$(_field access_key_id) AWS_SECRET_ACCESS_KEY=$(_field secret_access_key)
  python3 "$(dirname "${BASH_SOURCE[0]}")/aws_fakes.py" --port-file "$work/fake.port" \
    --access-key-id "$AWS_ACCESS_KEY_ID" --secret-access-key "$AWS_SECRET_ACCESS_KEY" \
    --events "$work/events.json" >"$work/fake.log" 2>&1 &
  LOCAL_AWS_PIDS+=($!)
  for i in $(seq 1 200); do [ -s "$work/fake.port" ] && break; sleep 0.1; done
  local fake
  fake=$(cat "$work/fake.port")
  export AWS_ENDPOINT_URL=http://127.0.0.1:$MOTO_PORT
  export AWS_ENDPOINT_URL_CLOUDTRAIL=http://127.0.0.1:$fake AWS_ENDPOINT_URL_ACCESSANALYZER=http://127.0.0.1:$fake
  export AWS_EC2_METADATA_DISABLED=true AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
}
