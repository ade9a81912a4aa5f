// Turns of the consumer warpgroups at the tensor core (a ping-pong, round robin over kConsumers).
// A turn covers one warpgroup's P V of a step, the fold of its result into O and the Q K^T issue
// of its next step; the other warpgroups run their softmax meanwhile. Left alone, the warpgroups
// drift into phase: all in the softmax together (sharing the exp2 unit, the tensor core idle),
// then all waiting for GEMMs queued behind each other.
//
// Warpgroup c waits on named barrier kFirstBarrier + c before its turn and arrives on the next
// warpgroup's barrier after it; every consumer takes the same number of turns per work tile, so
// the round robin runs on across work tiles. Barrier 0 is __syncthreads'; the producer never takes
// part.
#pragma once

#include "cuda/sm90/kernel_traits.hpp"

namespace sageattn::cuda::sm90 {

template <int kConsumers>
class IssueTurns {
 public:
  __device__ explicit IssueTurns(int consumer)
      : consumer_(consumer),
        own_(barrier_of(consumer)),
        next_(barrier_of((consumer + 1) % kConsumers)) {}

  // The last consumer opens the first one's turn.
  __device__ void open() const {
    if (consumer_ == kConsumers - 1) arrive(barrier_of(0));
  }
  __device__ void wait() const { sync(own_); }
  __device__ void pass() const { arrive(next_); }
  // The first consumer takes the arrival of the last turn, so no barrier is left half complete.
  __device__ void close() const {
    if (consumer_ == 0) wait();
  }

 private:
  static constexpr int kFirstBarrier = 1;
  static constexpr int kBarrierThreads = 2 * kWarpgroupThreads;  // the waiter and the passer
  __device__ static int barrier_of(int consumer) { return kFirstBarrier + consumer; }
  __device__ static void sync(int id) {
    asm volatile("bar.sync %0, %1;" ::"r"(id), "n"(kBarrierThreads) : "memory");
  }
  __device__ static void arrive(int id) {
    asm volatile("bar.arrive %0, %1;" ::"r"(id), "n"(kBarrierThreads) : "memory");
  }
  int consumer_, own_, next_;
};

}  // namespace sageattn::cuda::sm90
