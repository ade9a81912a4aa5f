// Instantiations of the Hopper kernel for head dim 128.
#include "cuda/sm90/launch_kernel.cuh"

namespace sageattn::cuda::sm90 {

SAGEATTN_SM90_INSTANCES(, 128, 2)

}  // namespace sageattn::cuda::sm90
