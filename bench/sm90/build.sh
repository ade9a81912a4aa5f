#!/usr/bin/env bash
# Builds the sm90 development harness into build-sm90/ without the rest of the CUDA tree (which
# other work may have half-written): the CPU library through CMake, the kernel and harness with
# nvcc for sm_90a. Runs here (no GPU needed); the binary is carried to the device.
# SM90_BUILD_DIR picks the output directory, SM90_NVCC_FLAGS adds nvcc flags (an A/B variant's -D).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${SM90_BUILD_DIR:-$root/build-sm90}  # outside the tree when the tree is carried to the device
cmake -S "$root" -B "$out/cpu" -DSAGEATTN_ENABLE_CUDA=OFF -DSAGEATTN_BUILD_TESTS=OFF \
  -DSAGEATTN_BUILD_TOOLS=OFF -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$out/cpu" -j"$(nproc)" --target sageattn >/dev/null
flags=(-std=c++20 -O3 -gencode=arch=compute_90a,code=sm_90a -I"$root/include" -I"$root/src"
       -Xptxas -v -lineinfo ${SM90_NVCC_FLAGS:-})
objs=()
for src in attention_d64.cu attention_d64_two_consumers.cu attention_d128.cu launch.cu; do
  if ! nvcc "${flags[@]}" -c "$root/src/cuda/sm90/$src" -o "$out/${src%.cu}.o" 2> "$out/${src%.cu}.ptxas"; then
    grep -v "^ptxas info\|^    " "$out/${src%.cu}.ptxas" >&2
    exit 1
  fi
  objs+=("$out/${src%.cu}.o")
done
nvcc "${flags[@]}" "$root/bench/sm90/sm90_check.cu" "${objs[@]}" "$out/cpu/src/libsageattn.a" \
  -o "$out/sm90_check"
grep -h "registers\|spill\|C7508\|serializ" "$out"/*.ptxas | sort | uniq -c
