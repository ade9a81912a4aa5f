// Named barriers (bar.sync / bar.arrive with an id) of the consumer warpgroups. Id 0 is
// __syncthreads'; the ids below are for the consumers only, so the producer never takes part.
//
// Ping-pong scheduling: the two consumer warpgroups take turns issuing their wgmmas. Warpgroup w
// waits on its own barrier before issuing and, once its wgmmas are issued, arrives on the other's.
// While one warpgroup's GEMMs occupy the tensor cores, the other runs its softmax (on the MUFU and
// FMA pipes), instead of both competing for the tensor cores at once and then both idling them.
#pragma once

#include "cuda/sm90/kernel_traits.hpp"

namespace sageattn::cuda::sm90 {

inline constexpr int kFirstConsumerBarrier = 1;
inline constexpr int kPingPongThreads = 2 * kWarpgroupThreads;

__device__ __forceinline__ void named_barrier_sync(int id, int threads) {
  asm volatile("bar.sync %0, %1;" ::"r"(id), "r"(threads) : "memory");
}
__device__ __forceinline__ void named_barrier_arrive(int id, int threads) {
  asm volatile("bar.arrive %0, %1;" ::"r"(id), "r"(threads) : "memory");
}

class PingPong {
 public:
  __device__ explicit PingPong(int consumer) : consumer_(consumer) {}

  // Consumer 0 issues first: consumer 1 opens its turn.
  __device__ void start() const {
    if (consumer_ == 1) named_barrier_arrive(barrier_of(0), kPingPongThreads);
  }
  __device__ void wait_turn() const { named_barrier_sync(barrier_of(consumer_), kPingPongThreads); }
  __device__ void pass_turn() const {
    named_barrier_arrive(barrier_of(1 - consumer_), kPingPongThreads);
  }
  // Consumes the last arrival on consumer 0's barrier so no barrier is left half-complete.
  __device__ void finish() const {
    if (consumer_ == 0) wait_turn();
  }

 private:
  __device__ static int barrier_of(int consumer) { return kFirstConsumerBarrier + consumer; }
  int consumer_;
};

}  // namespace sageattn::cuda::sm90
