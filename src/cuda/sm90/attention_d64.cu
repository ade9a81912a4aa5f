// Instantiations of the Hopper kernel for head dim 64, three consumer warpgroups.
#include "cuda/sm90/launch_kernel.cuh"

namespace sageattn::cuda::sm90 {

SAGEATTN_SM90_INSTANCES(, 64, 3)

}  // namespace sageattn::cuda::sm90
