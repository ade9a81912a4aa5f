#!/usr/bin/env bash
# The benchmark in one device command: our sweep (prebuilt sageattn_kernel_sweep) and the PyTorch
# SDPA baselines in the same run, merged into $OUT/<device>-<date>.{json,png}.
# Usage: bench/run.sh <build dir>   (copy the results into bench/results/ afterwards)
set -euo pipefail
build=${1:-build-cuda}
out=${OUT:-bench/results}
mkdir -p "$out"
export LD_LIBRARY_PATH=/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}
"$build/bench/sageattn_kernel_sweep" >"$out/sweep.json"
PYTHONUNBUFFERED=1 python3 "$(dirname "$0")/sdpa_baselines.py" >"$out/sdpa.json"
python3 "$(dirname "$0")/report.py" "$out/sweep.json" "$out/sdpa.json" "$out"
