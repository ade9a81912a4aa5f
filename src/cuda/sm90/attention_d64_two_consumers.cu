// Instantiations of the Hopper kernel for head dim 64, two consumer warpgroups (short causal
// problems, launch.cu).
#include "cuda/sm90/launch_kernel.cuh"

namespace sageattn::cuda::sm90 {

SAGEATTN_SM90_INSTANCES(, 64, 2)

}  // namespace sageattn::cuda::sm90
