#!/usr/bin/env bash
# One device call: for each harness binary given (built by bench/sm90/build.sh; default
# build-sm90/sm90_check), the disassembly facts, the correctness grid, compute-sanitizer on the
# short cases and the kernel timing; then the cuDNN peer in the same run. Logs go to $OUT.
set -uo pipefail
out=${OUT:-/tmp}
nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm,power.draw --format=csv | tee "$out/gpu.txt"
for bin in "${@:-build-sm90/sm90_check}"; do
  name=$(basename "$bin")
  echo "=== $name"
  # wgmma kinds present, serialisation (a DEPBAR after each GMMA) and local-memory traffic.
  if command -v cuobjdump >/dev/null; then
    cuobjdump --dump-sass "$bin" > "$out/$name.sass" 2>&1
    echo "sass: $(grep -cE 'IGMMA' "$out/$name.sass") IGMMA, $(grep -cE 'QGMMA' "$out/$name.sass")" \
      "QGMMA, $(grep -cE 'WARPGROUP.DEPBAR' "$out/$name.sass") DEPBAR," \
      "$(grep -cE '\b(LDL|STL)' "$out/$name.sass") LDL/STL"
    gzip -f "$out/$name.sass"
  fi
  timeout 120 "$bin" check 2>&1 | tee "$out/$name.log"
  check_rc=${PIPESTATUS[0]}
  echo "check rc=$check_rc"
  [[ $check_rc == 124 ]] && { echo "check timed out: a hang, skipping $name"; continue; }
  for tool in memcheck racecheck synccheck; do
    timeout 150 compute-sanitizer --tool $tool --error-exitcode 9 "$bin" check-small \
      > "$out/sanitizer.tmp" 2>&1
    echo "compute-sanitizer $tool: rc=$? $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' "$out/sanitizer.tmp")" \
      | tee -a "$out/$name.log"
    grep -m 20 -E "^=========" "$out/sanitizer.tmp" >> "$out/$name.log"
    rm -f "$out/sanitizer.tmp"
  done
  timeout 150 "$bin" bench 30 2>&1 | tee -a "$out/$name.log"
done
timeout 150 python3 bench/sm90/sdpa_peer.py 30 2>&1 | tee "$out/cudnn.log"
