#!/usr/bin/env bash
# Benchmark of the policy analysis (not a test): policy-change's analysis of a
# ~32 KB key policy naming 100 principals, then parliament (PyPI) on the same
# file when it is installed (`pip install parliament`).
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product policy-change-bench >/dev/null
policy=$(mktemp --suffix=.json)
trap 'rm -f "$policy"' EXIT
.build/release/policy-change-bench "${1:-200}" "$policy"
if python3 -c "import parliament" 2>/dev/null; then
  python3 - "$policy" "${1:-200}" <<'PY'
import sys, time, parliament
text = open(sys.argv[1]).read()
n = int(sys.argv[2])
parliament.analyze_policy_string(text)
start = time.perf_counter()
for _ in range(n):
    parliament.analyze_policy_string(text)
print(f"parliament {getattr(parliament, '__version__', '?')}: {(time.perf_counter() - start) * 1000 / n:.3f} ms per policy over {n} runs")
PY
else
  echo "parliament is not installed (pip install parliament); skipped"
fi
