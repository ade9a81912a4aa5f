// Instantiations of the Hopper kernel for head dim 64.
#include "cuda/sm90/launch_kernel.cuh"

namespace sageattn::cuda::sm90 {

template Status launch_kernel<64, __half>(const TensorMaps&, const KernelParams&, int,
                                          cudaStream_t);
template Status launch_kernel<64, __nv_bfloat16>(const TensorMaps&, const KernelParams&, int,
                                                 cudaStream_t);

}  // namespace sageattn::cuda::sm90
