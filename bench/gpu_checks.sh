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
# Where the pre-pass and the mma.sync kernel stand against the memory and compute ceilings
# (D=128, N=16k: the sweep's first launches are the pre-pass, then the mma.sync kernel).
if command -v ncu >/dev/null; then
  for kernels in 'regex:stats_kernel|quantize_kernel' 'regex:attention_kernel'; do
    SAGEATTN_SWEEP_ONLY=128,0,16384 ncu --section SpeedOfLight --section Occupancy -k "$kernels" \
      -c 2 "$build/bench/sageattn_kernel_sweep" >>"$out/ncu.log" 2>&1
    echo "ncu $kernels: exit $?"
  done
  grep -E "(stats_kernel|quantize_kernel|attention_kernel)|Duration|Memory Throughput|DRAM Throughput|Compute \(SM\) Throughput|Achieved Occupancy|Registers Per" "$out/ncu.log" | head -60
fi
