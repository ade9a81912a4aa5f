// A consumer warpgroup: 64 query rows against every K/V tile of the work tile.
//   S  = Q K^T       INT8 wgmma m64n128k32, Q and K from shared memory, s32 accumulator
//   P  = softmax     dequantised in registers (softmax.hpp), packed to e4m3 A fragments
//   Ot = P V         FP8 wgmma m64nDk32, P from registers, V^T from shared memory, a fresh f32
//                    accumulator per tile (the two-level accumulation: the tensor core's fp8
//                    accumulate keeps fewer mantissa bits than fp32 over long sequences)
//   O  = O * alpha + Ot   in fp32 registers; the rescale runs while the PV wgmma is in flight
#pragma once

#include "cuda/common/mbarrier.hpp"
#include "cuda/common/wgmma.hpp"
#include "cuda/sm90/epilogue.hpp"
#include "cuda/sm90/kernel_traits.hpp"
#include "cuda/sm90/softmax.hpp"
#include "cuda/sm90/tile_scheduler.hpp"

namespace sageattn::cuda::sm90 {

template <int kHeadDim>
__device__ __forceinline__ void qk_gemm(std::uint64_t desc_q, std::uint64_t desc_k,
                                        std::int32_t (&s)[kSFragment]) {
  device::wgmma_fence();
#pragma unroll
  for (int kk = 0; kk < kHeadDim / kKStep; ++kk) {
    device::wgmma_s8_m64n128k32(s, device::advance_descriptor(desc_q, kk * kKStep),
                                device::advance_descriptor(desc_k, kk * kKStep), kk > 0);
  }
  device::wgmma_commit();
}

template <int kHeadDim>
__device__ __forceinline__ void pv_gemm(const std::uint32_t (&p_fp8)[kPvSteps][4],
                                        std::uint64_t desc_v, float (&acc)[kHeadDim / 2]) {
  device::wgmma_fence();
#pragma unroll
  for (int kk = 0; kk < kPvSteps; ++kk) {
    const std::uint64_t desc = device::advance_descriptor(desc_v, kk * kKStep);
    if constexpr (kHeadDim == 128) {
      device::wgmma_e4m3_m64n128k32(acc, p_fp8[kk], desc, kk > 0);
    } else {
      device::wgmma_e4m3_m64n64k32(acc, p_fp8[kk], desc, kk > 0);
    }
  }
  device::wgmma_commit();
}

// `consumer` is the warpgroup's index among the consumers; `thread` its thread index (0..127).
template <int kHeadDim, typename Out>
__device__ void consume(const KernelParams& p, const WorkTile& w,
                        typename KernelTraits<kHeadDim>::SharedStorage& smem, int consumer,
                        int thread) {
  using Traits = KernelTraits<kHeadDim>;
  const int warp = thread / 32;
  const int lane = thread % 32;
  const int lane_t = lane % 4;
  const int q0 = w.q_tile * kBlockQ;
  const int rows[2] = {q0 + consumer * kRowsPerConsumer + warp * 16 + lane / 4,
                       q0 + consumer * kRowsPerConsumer + warp * 16 + lane / 4 + 8};
  const int kv_head = kv_head_of(p, w.head);
  // Rows g and g+8 share their Q scale group at every granularity (granularity.hpp, warp_q = 16).
  const float q_scale =
      p.q_scales[static_cast<std::int64_t>(w.head) * p.q_scale_count +
                 quant::q_scale_group(rows[0], p.granularity, kTile)];
  const float* k_scales = p.k_scales + static_cast<std::int64_t>(kv_head) * p.k_scale_count;
  const int causal_offset = p.len_kv - p.len_q;
  int row_limit[2];
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    row_limit[h] = p.causal ? min(p.len_kv, rows[h] + causal_offset + 1) : p.len_kv;
  }

  const std::uint64_t desc_q = device::make_smem_descriptor(
      smem.q + consumer * kRowsPerConsumer * kHeadDim, Traits::kQkSwizzle, Traits::kQkGroupStride);
  float o[kHeadDim / 2];
#pragma unroll
  for (int i = 0; i < kHeadDim / 2; ++i) o[i] = 0.0f;
  OnlineSoftmax softmax;
  device::mbarrier_wait(&smem.q_full, 0);

  for (int tile = 0; tile < w.kv_tiles; ++tile) {
    const int stage = tile % Traits::kStages;
    const std::uint32_t parity = (tile / Traits::kStages) & 1;
    const int key0 = tile * kBlockK;
    // This thread's keys fall in two K scale groups (S column chunks of even / odd index).
    float qk_scale[2];
#pragma unroll
    for (int j0 = 0; j0 < 2; ++j0) {
      const int key = key0 + key_of_slot(8 * j0 + 2 * lane_t);
      qk_scale[j0] = q_scale * k_scales[quant::k_scale_group(key, p.granularity, kTile)];
    }

    std::int32_t s[kSFragment];
    device::mbarrier_wait(&smem.k_full[stage], parity);
    qk_gemm<kHeadDim>(desc_q,
                      device::make_smem_descriptor(smem.k[stage], Traits::kQkSwizzle,
                                                   Traits::kQkGroupStride),
                      s);
    device::wgmma_wait<0>();
    device::fence_registers(s);

    const bool masked = key0 + kBlockK > w.unmasked_end;
    const int key_limit[2] = {row_limit[0] - key0, row_limit[1] - key0};
    std::uint32_t p_fp8[kPvSteps][4];
    float alpha[2];
    softmax.step(s, qk_scale, masked, key_limit, lane_t, p_fp8, alpha);

    float acc[kHeadDim / 2];
    device::mbarrier_wait(&smem.v_full[stage], parity);
    pv_gemm<kHeadDim>(p_fp8,
                      device::make_smem_descriptor(smem.v[stage], device::SmemSwizzle::k128B,
                                                   Traits::kVGroupStride),
                      acc);
#pragma unroll
    for (int i = 0; i < kHeadDim / 2; ++i) o[i] *= alpha[(i >> 1) & 1];
    device::wgmma_wait<0>();
    device::fence_registers(acc);
    __syncwarp();
    if (lane == 0) device::mbarrier_arrive(&smem.kv_empty[stage]);
#pragma unroll
    for (int i = 0; i < kHeadDim / 2; ++i) o[i] += acc[i];
  }
  store_rows<kHeadDim, Out>(p, w.head, kv_head, rows, softmax, o, lane_t);
}

}  // namespace sageattn::cuda::sm90
