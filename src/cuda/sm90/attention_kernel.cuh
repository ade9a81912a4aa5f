// The Hopper SageAttention2 kernel: the composition of its stages.
//   warpgroup 0     producer (producer.hpp): TMA loads of Q, K, V into the stage ring
//   warpgroups 1-2  consumers (consumer.hpp): Q K^T, online softmax, P V, epilogue (1-3 at hd64),
//                   taking turns at the tensor core (issue_turns.hpp)
// The CTAs are persistent: each computes a sequence of work tiles (tile_scheduler.hpp), its
// producer running ahead into the next work tile.
// Registers move from the producer to the consumers with setmaxnreg; the kernel is compiled with
// a 1-CTA-per-SM register cap (__launch_bounds__(threads, 1)) so setmaxnreg is honoured.
#pragma once

#include "cuda/common/dependent_launch.hpp"
#include "cuda/common/mbarrier.hpp"
#include "cuda/common/tma.hpp"
#include "cuda/sm90/consumer.hpp"
#include "cuda/sm90/producer.hpp"
#include "cuda/sm90/tile_scheduler.hpp"

namespace sageattn::cuda::sm90 {

template <int kRegisters>
__device__ __forceinline__ void set_register_count_increase() {
  asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;" ::"n"(kRegisters));
}
template <int kRegisters>
__device__ __forceinline__ void set_register_count_decrease() {
  asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;" ::"n"(kRegisters));
}

template <int kHeadDim, int kConsumers, typename Out>
__global__ void __launch_bounds__((KernelTraits<kHeadDim, kConsumers>::kThreads), 1)
    attention_kernel(const __grid_constant__ TensorMaps maps,
                     const __grid_constant__ KernelParams p) {
  using Traits = KernelTraits<kHeadDim, kConsumers>;
  extern __shared__ std::uint8_t smem_raw[];
  auto& smem = *reinterpret_cast<typename Traits::SharedStorage*>(
      (reinterpret_cast<std::uintptr_t>(smem_raw) + 1023) & ~std::uintptr_t{1023});
  const int warpgroup = threadIdx.x / kWarpgroupThreads;
  const int thread = threadIdx.x % kWarpgroupThreads;

  if (threadIdx.x == 0) {
    device::tma_prefetch_descriptor(&maps.q);
    device::tma_prefetch_descriptor(&maps.k);
    device::tma_prefetch_descriptor(&maps.v);
    for (int b = 0; b < Traits::kQBuffers; ++b) {
      device::mbarrier_init(&smem.q_full[b], 1);
      device::mbarrier_init(&smem.q_empty[b], Traits::kConsumerWarps);
    }
    for (int s = 0; s < Traits::kStages; ++s) {
      device::mbarrier_init(&smem.k_full[s], 1);
      device::mbarrier_init(&smem.v_full[s], 1);
      device::mbarrier_init(&smem.kv_empty[s], Traits::kConsumerWarps);
    }
    device::mbarrier_init_fence();
  }
  // The ones rows after each V stage (kernel_traits.hpp): TMA never writes them.
  constexpr int kOnesWords = kRowSumRows * kBlockK / 4;
  for (int i = threadIdx.x; i < Traits::kStages * kOnesWords; i += Traits::kThreads) {
    auto* ones = reinterpret_cast<std::uint32_t*>(smem.v[i / kOnesWords] + Traits::kVBytes);
    ones[i % kOnesWords] = 0x01010101u * kE4m3One;
  }
  device::fence_shared_for_wgmma();
  __syncthreads();
  // Launched to overlap the pre-pass's tail (launch_kernel.cuh): everything above touched only
  // shared memory and the parameters; the workspace and the output wait for the pre-pass.
  wait_for_prerequisite_grid();

  if (warpgroup == 0) {
    set_register_count_decrease<kProducerRegisters>();
    if (thread == 0) produce<kHeadDim, kConsumers>(maps, p, smem);
  } else {
    set_register_count_increase<Traits::kConsumerRegisters>();
    int kv_base = 0;
    const IssueTurns<kConsumers> turns(warpgroup - 1);
    turns.open();
    for_each_work_tile<Traits::kBlockQ>(p, [&](const WorkTile& work, int work_index) {
      consume<kHeadDim, kConsumers, Out>(p, work, smem, warpgroup - 1, thread, work_index,
                                         kv_base);
      kv_base += work.kv_tiles;
    });
    turns.close();
  }
}

}  // namespace sageattn::cuda::sm90
