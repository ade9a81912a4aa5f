// The kernel instantiations (one translation unit per head dim), callable from host code.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include "cuda/sm90/params.hpp"

namespace sageattn::cuda::sm90 {

template <int kHeadDim, typename Out>
Status launch_kernel(const TensorMaps& maps, const KernelParams& params, int ctas,
                     cudaStream_t stream);

extern template Status launch_kernel<64, __half>(const TensorMaps&, const KernelParams&, int,
                                                 cudaStream_t);
extern template Status launch_kernel<64, __nv_bfloat16>(const TensorMaps&, const KernelParams&, int,
                                                        cudaStream_t);
extern template Status launch_kernel<128, __half>(const TensorMaps&, const KernelParams&, int,
                                                  cudaStream_t);
extern template Status launch_kernel<128, __nv_bfloat16>(const TensorMaps&, const KernelParams&,
                                                         int, cudaStream_t);

}  // namespace sageattn::cuda::sm90
