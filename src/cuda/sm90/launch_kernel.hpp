// The kernel instantiations (one translation unit per head dim and consumer count), callable from
// host code.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include "cuda/sm90/params.hpp"

namespace sageattn::cuda::sm90 {

template <int kHeadDim, int kConsumers, typename Out>
Status launch_kernel(const TensorMaps& maps, const KernelParams& params, int ctas,
                     cudaStream_t stream);

#define SAGEATTN_SM90_INSTANCES(prefix, d, consumers)                                          \
  prefix template Status launch_kernel<d, consumers, __half>(const TensorMaps&,                \
                                                             const KernelParams&, int,         \
                                                             cudaStream_t);                    \
  prefix template Status launch_kernel<d, consumers, __nv_bfloat16>(const TensorMaps&,         \
                                                                    const KernelParams&, int,  \
                                                                    cudaStream_t);

SAGEATTN_SM90_INSTANCES(extern, 64, 2)
SAGEATTN_SM90_INSTANCES(extern, 64, 3)
SAGEATTN_SM90_INSTANCES(extern, 128, 2)

}  // namespace sageattn::cuda::sm90
