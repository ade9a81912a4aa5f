// Shared-memory mbarriers (sm_90): the handshake between the TMA producer and the consumer
// warpgroups. A barrier completes a phase when its expected arrivals and transaction bytes are in;
// waiters poll the phase parity, so each pipeline stage alternates parity 0, 1, 0, ...
#pragma once

#include <cstdint>

namespace sageattn::cuda::device {

__device__ __forceinline__ std::uint32_t smem_address(const void* pointer) {
  return static_cast<std::uint32_t>(__cvta_generic_to_shared(pointer));
}

__device__ __forceinline__ void mbarrier_init(std::uint64_t* barrier, std::uint32_t arrivals) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;" ::"r"(smem_address(barrier)),
               "r"(arrivals));
}

// Makes the initialised barriers visible to the async proxy (TMA completes on them).
__device__ __forceinline__ void mbarrier_init_fence() {
  asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
}

// One arrival that also announces `bytes` of TMA transactions this phase must wait for.
__device__ __forceinline__ void mbarrier_arrive_expect_tx(std::uint64_t* barrier,
                                                          std::uint32_t bytes) {
  asm volatile(
      "mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;" ::"r"(smem_address(barrier)),
      "r"(bytes)
      : "memory");
}

__device__ __forceinline__ void mbarrier_arrive(std::uint64_t* barrier) {
  asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];" ::"r"(smem_address(barrier)) : "memory");
}

// Waits for the phase with this parity. try_wait suspends the thread until the phase completes or
// the hint (ns) passes. Without a hint it returns after a short, system-dependent time: the
// producer thread's retry loop was 10% of the Hopper kernel's issued instructions (ncu, hd128
// 16k), with it 0.05%. The speed did not change (the consumers were not short of issue slots).
__device__ __forceinline__ void mbarrier_wait(std::uint64_t* barrier, std::uint32_t parity) {
  constexpr std::uint32_t kSuspendHintNs = 10'000'000;
  std::uint32_t done = 0;
  do {
    asm volatile(
        "{\n"
        ".reg .pred ready;\n"
        "mbarrier.try_wait.parity.shared::cta.b64 ready, [%1], %2, %3;\n"
        "selp.u32 %0, 1, 0, ready;\n"
        "}\n"
        : "=r"(done)
        : "r"(smem_address(barrier)), "r"(parity), "r"(kSuspendHintNs)
        : "memory");
  } while (done == 0);
}

}  // namespace sageattn::cuda::device
