#!/usr/bin/env bash
# The closing device call of a version: the harness run (bench/sm90/device_run.sh) for the given
# binaries, the GPU test suite's sm90 cases (GPU pre-pass + kernel against the CPU emulation and the
# fp64 reference), and an Nsight Compute profile of one hd128 N=16k launch when ncu is present.
set -uo pipefail
out=${OUT:-/tmp}
bash bench/sm90/device_run.sh "$@"
LD_LIBRARY_PATH=build-sm90/lib timeout 200 build-sm90/gpu_tests --gtest_filter='*Sm90*' \
  > "$out/gtest_sm90.log" 2>&1
echo "gtest sm90: rc=$? $(grep -E '^\[  PASSED|^\[  FAILED|tests ran' "$out/gtest_sm90.log" | tr '\n' ' ')"
if command -v ncu >/dev/null; then
  # Launches of the bench: 3 warm-up + 30 timed per shape; d128 n16384 full is the third shape.
  timeout 240 ncu -k regex:attention_kernel --launch-skip 66 --launch-count 1 \
    --section SpeedOfLight --section WarpStateStats --section ComputeWorkloadAnalysis \
    --section SchedulerStats --section InstructionStats "$1" bench 30 > "$out/ncu.txt" 2>&1
  echo "ncu rc=$?"
  grep -E "Throughput|Stall|Issued|Eligible|Active Warps|Pipe" "$out/ncu.txt" | head -40
fi
