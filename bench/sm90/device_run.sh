#!/usr/bin/env bash
# One device call: correctness grid, compute-sanitizer on the short cases, kernel timing and the
# cuDNN peer in the same run. Logs go to $OUT. Usage: bench/sm90/device_run.sh [check|all]
set -uo pipefail
bin=build-sm90/sm90_check
out=${OUT:-/tmp}
nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm,power.draw --format=csv | tee "$out/gpu.txt"
timeout 120 "$bin" check 2>&1 | tee "$out/check.log"
check_rc=${PIPESTATUS[0]}
echo "check rc=$check_rc"
[[ $check_rc == 124 ]] && { echo "check timed out: a hang, skipping the rest"; exit 1; }
[[ "${1:-all}" == check ]] && exit 0
for tool in memcheck racecheck synccheck; do
  timeout 150 compute-sanitizer --tool $tool --error-exitcode 9 "$bin" check-small \
    > "$out/sanitizer_$tool.log" 2>&1
  echo "compute-sanitizer $tool: rc=$? $(grep -c 'ERROR SUMMARY: 0' "$out/sanitizer_$tool.log") clean summaries"
  tail -n 3 "$out/sanitizer_$tool.log"
done
timeout 150 "$bin" bench 30 2>&1 | tee "$out/bench.log"
timeout 150 python3 bench/sm90/sdpa_peer.py 30 2>&1 | tee "$out/cudnn.log"
