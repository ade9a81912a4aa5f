// Launch of one instantiation of the kernel (included by the per-head-dim translation units).
#pragma once

#include <cuda_runtime.h>

#include "cuda/common/cuda_check.hpp"
#include "cuda/common/dependent_launch.hpp"
#include "cuda/sm90/attention_kernel.cuh"
#include "cuda/sm90/launch_kernel.hpp"

namespace sageattn::cuda::sm90 {

template <int kHeadDim, int kConsumers, typename Out>
Status launch_kernel(const TensorMaps& maps, const KernelParams& params, int ctas,
                     cudaStream_t stream) {
  using Traits = KernelTraits<kHeadDim, kConsumers>;
  constexpr auto smem_bytes = static_cast<int>(Traits::kSmemBytes);
  // Above 48 KB a kernel must opt in. The attribute belongs to the current device's context, so it
  // is set on every call (about a microsecond) rather than once per process: a process that runs
  // on a second GPU needs it there too.
  const cudaError_t opt_in = cudaFuncSetAttribute(
      attention_kernel<kHeadDim, kConsumers, Out>, cudaFuncAttributeMaxDynamicSharedMemorySize,
      smem_bytes);
  if (Status s = cuda_status(opt_in, "cudaFuncSetAttribute(sm90 attention)"); !s.ok()) return s;
  // Scheduled while the pre-pass finishes (dependent_launch.hpp): the CTAs set up their barriers
  // and descriptors on the SMs the pre-pass frees, then wait for it to complete.
  cudaLaunchConfig_t config{};
  config.gridDim = dim3(static_cast<unsigned>(ctas));
  config.blockDim = dim3(Traits::kThreads);
  config.dynamicSmemBytes = smem_bytes;
  config.stream = stream;
  cudaLaunchAttribute early{};
  allow_early_start(&config, &early);
  return cuda_status(
      cudaLaunchKernelEx(&config, attention_kernel<kHeadDim, kConsumers, Out>, maps, params),
      "sm90 attention kernel");
}

}  // namespace sageattn::cuda::sm90
