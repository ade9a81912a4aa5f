// The producer: one thread of the producer warpgroup issues every TMA load of the CTA. Q once, then
// K and V tile by tile into a ring of stages; a stage is refilled only after all consumer warps
// have released it (kv_empty). K and V complete on separate barriers so Q K^T can start while V
// is still in flight.
#pragma once

#include "cuda/common/tma.hpp"
#include "cuda/sm90/kernel_traits.hpp"
#include "cuda/sm90/tile_scheduler.hpp"

namespace sageattn::cuda::sm90 {

template <int kHeadDim>
__device__ __forceinline__ void produce(const TensorMaps& maps, const KernelParams& p,
                                        const WorkTile& w,
                                        typename KernelTraits<kHeadDim>::SharedStorage& smem) {
  using Traits = KernelTraits<kHeadDim>;
  const int kv_head = kv_head_of(p, w.head);
  device::mbarrier_arrive_expect_tx(&smem.q_full, Traits::kQBytes);
  device::tma_load_2d(smem.q, &maps.q, &smem.q_full, 0, w.head * p.q_pad + w.q_tile * kBlockQ);
  for (int tile = 0; tile < w.kv_tiles; ++tile) {
    const int stage = tile % Traits::kStages;
    // A fresh barrier counts as having completed the phase before its first: the first pass over
    // the ring does not wait.
    device::mbarrier_wait(&smem.kv_empty[stage], ((tile / Traits::kStages) & 1) ^ 1);
    const int key_row = kv_head * p.k_pad + tile * kBlockK;
    device::mbarrier_arrive_expect_tx(&smem.k_full[stage], Traits::kKBytes);
    device::tma_load_5d(smem.k[stage], &maps.k, &smem.k_full[stage], 0, 0, 0, 0, key_row / 16);
    device::mbarrier_arrive_expect_tx(&smem.v_full[stage], Traits::kVBytes);
    device::tma_load_2d(smem.v[stage], &maps.v, &smem.v_full[stage], tile * kBlockK,
                        kv_head * kHeadDim);
  }
}

}  // namespace sageattn::cuda::sm90
