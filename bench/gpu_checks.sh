#!/usr/bin/env bash
# On the device: the GPU test binary (full grid), then compute-sanitizer memcheck and racecheck on
# the reduced grid. Logs under $OUT (or ./gpu-logs). Usage: bench/gpu_checks.sh <build dir>
set -uo pipefail
build=${1:-build-cuda}
out=${OUT:-gpu-logs}
mkdir -p "$out"
export LD_LIBRARY_PATH=/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}
tests=$build/tests/gpu/sageattn_gpu_tests
reduced='Sanitizer/*:Grid/Prepass.*/1_*:Grid/Prepass.*/18_*:PublicApi.*'
"$tests" >"$out/gpu_tests.log" 2>&1
echo "gpu tests: exit $?"
grep -E "^\[  (PASSED|FAILED) |tests ran" "$out/gpu_tests.log" | head -40
for tool in memcheck racecheck; do
  compute-sanitizer --tool "$tool" --error-exitcode 9 "$tests" --gtest_filter="$reduced" \
    >"$out/sanitizer_$tool.log" 2>&1
  echo "compute-sanitizer $tool: exit $? ($(grep -c 'RUN ' "$out/sanitizer_$tool.log") tests)"
  grep -E "ERROR SUMMARY|FAILED" "$out/sanitizer_$tool.log" | head -5
done
