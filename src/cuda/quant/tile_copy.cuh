// Copies a tile of token rows of a strided 16-bit input into shared memory ([rows][D], dense),
// without passing through registers: cp.async (sm80+) when the rows are 16-byte aligned, plain
// loads otherwise. Rows past the sequence end are zero.
//
// Why shared memory: the pre-pass is memory-bound and wants many bytes in flight per SM. Held in
// registers, a 128 x 128 tile costs each of 256 threads 32 registers (64 with the next tile in
// flight), which capped the kernel at 2 CTAs per SM; staged asynchronously, the next tile's bytes
// are in flight while this one is quantized and the registers stay free for 3 CTAs per SM.
#pragma once

#include <cuda_fp16.h>

#include <cstdint>

#include "cuda/quant/prepass_common.cuh"

namespace sageattn::cuda::prepass {

// L2 eviction policies (createpolicy, sm80+) for the copies below. The quantize launch reads
// every input for the last time (evict_first): what it reads then leaves L2 first, and the codes
// it writes stay for the attention kernel (H100, B=4 H=32 bf16: end to end -2 % at hd128 and
// hd64 N = 1k, bench/NOTES.md v14). The statistics launch's K and V are read again: evict_normal.
// Keeping a fraction of them evict_last for that second read measured no faster. The unaligned
// fallback's plain loads carry no hint.
__device__ __forceinline__ std::uint64_t l2_evict_first_policy() {
  std::uint64_t policy;
  asm volatile("createpolicy.fractional.L2::evict_first.b64 %0, 1.0;\n" : "=l"(policy));
  return policy;
}
__device__ __forceinline__ std::uint64_t l2_evict_normal_policy() {
  std::uint64_t policy;
  asm volatile("createpolicy.fractional.L2::evict_normal.b64 %0, 1.0;\n" : "=l"(policy));
  return policy;
}

__device__ __forceinline__ void copy16_async(void* smem, const void* global, std::uint64_t policy) {
  const auto dst = static_cast<std::uint32_t>(__cvta_generic_to_shared(smem));
  asm volatile("cp.async.cg.shared.global.L2::cache_hint [%0], [%1], 16, %2;\n" ::"r"(dst),
               "l"(global), "l"(policy)
               : "memory");
}

// Closes the group of copies this thread issued since the last commit.
__device__ __forceinline__ void commit_copies() {
  asm volatile("cp.async.commit_group;\n" ::: "memory");
}

// Waits until at most `Pending` of this thread's committed groups are still in flight. The CTA
// must still synchronise before reading what other threads copied.
template <int Pending>
__device__ __forceinline__ void wait_copies() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(Pending) : "memory");
}

// Rows [first, first + rows) of a head into `tile`; rows at or past `len` become zero.
// Issues the copies only (commit_copies closes the group).
// A thread always copies the same 8 channels of every kRowsPerPass-th row, so its source address
// is computed once and then advanced by a fixed stride: with the 64-bit address rebuilt per
// 16-byte chunk (strides read from the parameters each time), the copy took 55 instructions per
// chunk and a quarter of the quantize launch's instructions (ncu, H100, hd128 N = 1k).
template <int D>
__device__ void copy_tile(const HeadRows& head, std::int64_t first, int rows, std::int64_t len,
                          bool vector, std::uint16_t* tile, std::uint64_t l2_policy) {
  constexpr int kChunksPerRow = D / kChannelsPerThread;
  constexpr int kRowsPerPass = kThreads / kChunksPerRow;
  const int row = threadIdx.x / kChunksPerRow;
  const int channel = (threadIdx.x % kChunksPerRow) * kChannelsPerThread;
  const std::uint16_t* src = head.first_row + (first + row) * head.token + channel;
  const std::int64_t step = kRowsPerPass * head.token;
  std::uint16_t* dst = tile + row * D + channel;
  // This thread's rows (r = 0, kRowsPerPass, ...) with data: r < real, i.e. before the sequence
  // end and in the tile.
  const std::int64_t left = len - first - row;
  const int real =
      left <= 0 ? 0 : static_cast<int>(min(left, static_cast<std::int64_t>(rows - row)));
  // One loop per load kind (the choice is uniform over the launch): no per-chunk branch on it.
  // The real rows first, then the zero rows: one loop test per row instead of two. The real rows'
  // loop unrolled by 4 (the pointers still advance, nothing precomputed: fully unrolled, the
  // addresses pushed the quantize launch into spills) costs 5 instructions per 16-byte copy
  // instead of 12 (sm90 SASS: ptxas pads each loop's copy with three no-op loads).
  auto for_each_row = [&](auto copy_row) {
    const std::uint16_t* from = src;
    std::uint16_t* to = dst;
    int r = 0;
#pragma unroll 4
    for (; r < real; r += kRowsPerPass, from += step, to += kRowsPerPass * D) copy_row(to, from);
#pragma unroll 1
    for (; row + r < rows; r += kRowsPerPass, to += kRowsPerPass * D)
      *reinterpret_cast<uint4*>(to) = make_uint4(0, 0, 0, 0);
  };
  if (vector) {
    for_each_row([&](std::uint16_t* to, const std::uint16_t* from) {
      copy16_async(to, from, l2_policy);
    });
  } else {
    for_each_row([](std::uint16_t* to, const std::uint16_t* from) {
      std::uint32_t words[kChannelsPerThread / 2];
      load8_words(from, false, words);
      *reinterpret_cast<uint4*>(to) = make_uint4(words[0], words[1], words[2], words[3]);
    });
  }
}

// Eight consecutive channels of a staged row as floats (exact conversions). One branch on the
// element type per eight values: left to the compiler, the choice per element became a branch per
// element (600 in the quantize kernel).
__device__ __forceinline__ void read8_floats(const std::uint16_t* at, bool bf16,
                                             float (&x)[kChannelsPerThread]) {
  const uint4 packed = *reinterpret_cast<const uint4*>(at);
  const std::uint32_t words[kChannelsPerThread / 2] = {packed.x, packed.y, packed.z, packed.w};
  if (bf16) {
#pragma unroll
    for (int c = 0; c < kChannelsPerThread / 2; ++c) {
      x[2 * c] = __uint_as_float(words[c] << 16);
      x[2 * c + 1] = __uint_as_float(words[c] & 0xFFFF0000u);
    }
  } else {
#pragma unroll
    for (int c = 0; c < kChannelsPerThread / 2; ++c) {
      const float2 pair = __half22float2(*reinterpret_cast<const __half2*>(&words[c]));
      x[2 * c] = pair.x;
      x[2 * c + 1] = pair.y;
    }
  }
}

}  // namespace sageattn::cuda::prepass
