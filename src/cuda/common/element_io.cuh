// Reading and writing the 16-bit input/output elements (fp16 or bf16, chosen at run time: the
// branch is uniform across the grid and costs nothing next to the memory traffic of a few reads
// per thread. The pre-pass's quantize launch, which converts every element in an issue-bound
// loop, is instantiated per element type instead: prepass_tiles.cuh, quantize_kernel).
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>

namespace sageattn::cuda {

__device__ __forceinline__ float element_to_float(std::uint16_t bits, bool bf16) {
  return bf16 ? __bfloat162float(__ushort_as_bfloat16(bits)) : __half2float(__ushort_as_half(bits));
}

__device__ __forceinline__ std::uint16_t float_to_element(float x, bool bf16) {
  return bf16 ? __bfloat16_as_ushort(__float2bfloat16_rn(x)) : __half_as_ushort(__float2half_rn(x));
}

// Like cvt.rn.satfinite.f16.f32 (cpu::float_to_fp16_saturate): operands of the fp16 tensor-core
// paths clamp to +-65504 instead of becoming infinite.
__device__ __forceinline__ std::uint16_t float_to_fp16_saturate(float x) {
  if (x != x) return 0x7E00u;
  return __half_as_ushort(__float2half_rn(fminf(fmaxf(x, -65504.0f), 65504.0f)));
}

// Eight consecutive 16-bit elements. `vector` says the address is 16-byte aligned (checked once
// per call on the host); otherwise eight scalar loads.
__device__ __forceinline__ void load8_bits(const std::uint16_t* src, bool vector,
                                           std::uint16_t (&bits)[8]) {
  if (vector) {
    const uint4 packed = __ldg(reinterpret_cast<const uint4*>(src));
    const std::uint32_t words[4] = {packed.x, packed.y, packed.z, packed.w};
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      bits[2 * i] = static_cast<std::uint16_t>(words[i] & 0xFFFFu);
      bits[2 * i + 1] = static_cast<std::uint16_t>(words[i] >> 16);
    }
  } else {
#pragma unroll
    for (int i = 0; i < 8; ++i) bits[i] = src[i];
  }
}

__device__ __forceinline__ void load8(const std::uint16_t* src, bool vector, bool bf16,
                                      float (&out)[8]) {
  std::uint16_t bits[8];
  load8_bits(src, vector, bits);
#pragma unroll
  for (int i = 0; i < 8; ++i) out[i] = element_to_float(bits[i], bf16);
}

}  // namespace sageattn::cuda
