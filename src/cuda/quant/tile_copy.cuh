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

__device__ __forceinline__ void copy16_async(void* smem, const void* global) {
  const auto dst = static_cast<std::uint32_t>(__cvta_generic_to_shared(smem));
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(dst), "l"(global) : "memory");
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

// Rows [first, first + rows) of head (b, h) into `tile`; rows at or past `len` become zero.
// Issues the copies only (commit_copies closes the group).
template <int D>
__device__ void copy_tile(const StridedInput& in, std::int64_t b, std::int64_t h,
                          std::int64_t first, int rows, std::int64_t len, bool vector,
                          std::uint16_t* tile) {
  constexpr int kChunksPerRow = D / kChannelsPerThread;
  for (int chunk = threadIdx.x; chunk < rows * kChunksPerRow; chunk += kThreads) {
    const int row = chunk / kChunksPerRow;
    const int channel = (chunk % kChunksPerRow) * kChannelsPerThread;
    std::uint16_t* dst = tile + row * D + channel;
    const std::int64_t n = first + row;
    if (n >= len) {
      *reinterpret_cast<uint4*>(dst) = make_uint4(0, 0, 0, 0);
    } else if (vector) {
      copy16_async(dst, token_row(in, b, h, n) + channel);
    } else {
      std::uint32_t words[kChannelsPerThread / 2];
      load8_words(token_row(in, b, h, n) + channel, false, words);
      *reinterpret_cast<uint4*>(dst) = make_uint4(words[0], words[1], words[2], words[3]);
    }
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
