// The producer: one thread of the producer warpgroup issues every TMA load of the CTA, for each of
// its work tiles in turn (tile_scheduler.hpp): Q into one of two buffers, then K and V tile by tile
// into a ring of stages. A buffer or stage is refilled only after all consumer warps have released
// it (q_empty, kv_empty), so the next work tile's Q and first K/V tiles load while the consumers
// finish the current one. K and V complete on separate barriers so Q K^T can start while V is
// still in flight.
#pragma once

#include "cuda/common/tma.hpp"
#include "cuda/sm90/kernel_traits.hpp"
#include "cuda/sm90/tile_scheduler.hpp"

namespace sageattn::cuda::sm90 {

template <int kHeadDim, int kConsumers>
__device__ __forceinline__ void produce(
    const TensorMaps& maps, const KernelParams& p,
    typename KernelTraits<kHeadDim, kConsumers>::SharedStorage& smem) {
  using Traits = KernelTraits<kHeadDim, kConsumers>;
  // A fresh barrier counts as having completed the phase before its first: the first pass over
  // each ring (Q buffers, K/V stages) does not wait.
  const auto free_parity = [](int use, int slots) {
    return static_cast<std::uint32_t>((use / slots) & 1) ^ 1;
  };
  int kv = 0;  // K/V tiles loaded so far, over all work tiles
  for_each_work_tile<Traits::kBlockQ>(p, [&](const WorkTile& w, int work_index) {
    const int kv_head = kv_head_of(p, w.head);
    const int q_buffer = work_index % Traits::kQBuffers;
    device::mbarrier_wait(&smem.q_empty[q_buffer], free_parity(work_index, Traits::kQBuffers));
    device::mbarrier_arrive_expect_tx(&smem.q_full[q_buffer], Traits::kQBytes);
    device::tma_load_2d(smem.q[q_buffer], &maps.q, &smem.q_full[q_buffer], 0,
                        w.head * p.q_pad + w.q_tile * Traits::kBlockQ);
    for (int tile = 0; tile < w.kv_tiles; ++tile, ++kv) {
      const int stage = kv % Traits::kStages;
      device::mbarrier_wait(&smem.kv_empty[stage], free_parity(kv, Traits::kStages));
      const int key_row = kv_head * p.k_pad + tile * kBlockK;
      device::mbarrier_arrive_expect_tx(&smem.k_full[stage], Traits::kKBytes);
      device::tma_load_5d(smem.k[stage], &maps.k, &smem.k_full[stage], 0, 0, 0, 0, key_row / 16);
      device::mbarrier_arrive_expect_tx(&smem.v_full[stage], Traits::kVBytes);
      device::tma_load_2d(smem.v[stage], &maps.v, &smem.v_full[stage], tile * kBlockK,
                          kv_head * kHeadDim);
    }
  });
}

}  // namespace sageattn::cuda::sm90
