#!/usr/bin/env bash
# On the device: the GPU test binary (full grid), then compute-sanitizer memcheck, racecheck and
# synccheck on the reduced grid. Logs under $OUT (or ./gpu-logs). Usage: bench/gpu_checks.sh <build dir>
set -uo pipefail
build=${1:-build-cuda}
out=${OUT:-gpu-logs}
mkdir -p "$out"
export LD_LIBRARY_PATH=/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}
tests=$build/tests/gpu/sageattn_gpu_tests
# The mma.sync kernels' Sanitizer shapes, three pre-pass cases (48: one statistics chunk per
# head), sm90 kernel cases 0/2/3 (d64: 1x1 full and 129x127 causal with three consumer
# warpgroups, 1x1 causal with two) and 4/6 (d128: 200x1000, 128x128 causal), and the public API.
reduced='Sanitizer/*:Grid/Prepass.*/1_*:Grid/Prepass.*/18_*:Grid/Prepass.*/48_*'
reduced+=':Grid/Sm90Kernel.*/0_*:Grid/Sm90Kernel.*/2_*:Grid/Sm90Kernel.*/3_*'
reduced+=':Grid/Sm90Kernel.*/4_*:Grid/Sm90Kernel.*/6_*:PublicApi.*'
"$tests" >"$out/gpu_tests.log" 2>&1
echo "gpu tests: exit $?"
grep -E "^\[  (PASSED|FAILED) |tests ran" "$out/gpu_tests.log" | head -40
for tool in memcheck racecheck synccheck; do
  compute-sanitizer --tool "$tool" --error-exitcode 9 "$tests" --gtest_filter="$reduced" \
    >"$out/sanitizer_$tool.log" 2>&1
  echo "compute-sanitizer $tool: exit $? ($(grep -c 'RUN ' "$out/sanitizer_$tool.log") tests)"
  grep -E "ERROR SUMMARY|FAILED" "$out/sanitizer_$tool.log" | head -5
done
# Where the pre-pass (D=128, N=16k: the sweep's first launches) stands against the memory
# ceiling; SAGEATTN_NCU_ATTENTION=1 adds the mma.sync kernel (a second sweep run: its input
# generation on the host is the slow part of each); SAGEATTN_GPU_CHECKS_NCU=0 skips it.
if [[ ${SAGEATTN_GPU_CHECKS_NCU:-1} == 1 ]] && command -v ncu >/dev/null; then
  regexes=('regex:stats_kernel|quantize_kernel')
  [[ ${SAGEATTN_NCU_ATTENTION:-0} == 1 ]] && regexes+=('regex:attention_kernel')
  for kernels in "${regexes[@]}"; do
    SAGEATTN_SWEEP_ONLY=128,0,16384 ncu --section SpeedOfLight --section Occupancy -k "$kernels" \
      -c 2 "$build/bench/sageattn_kernel_sweep" >>"$out/ncu.log" 2>&1
    echo "ncu $kernels: exit $?"
  done
  grep -E "(stats_kernel|quantize_kernel|attention_kernel)|Duration|Memory Throughput|DRAM Throughput|Compute \(SM\) Throughput|Achieved Occupancy|Registers Per" "$out/ncu.log" | head -60
fi
