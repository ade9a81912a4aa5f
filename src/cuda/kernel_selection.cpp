#include "cuda/kernel_selection.hpp"

#include "quant/tile_shapes.hpp"
#ifdef SAGEATTN_HAS_SM90
#include "cuda/sm90_entry.hpp"
#endif

namespace sageattn::cuda {

bool fp8_kernels_built() {
#ifdef SAGEATTN_HAS_FP8_PV
  return true;
#else
  return false;
#endif
}

bool uses_sm90_kernel([[maybe_unused]] const core::AttentionProblem& problem,
                      [[maybe_unused]] int capability) {
#ifdef SAGEATTN_HAS_SM90
  return capability == 90 && sm90::accepts(problem);
#else
  return false;
#endif
}

quant::TileShape tile_for(const core::AttentionProblem& problem, int capability) {
  return uses_sm90_kernel(problem, capability) ? quant::kTileSm90 : quant::kTileSm80;
}

}  // namespace sageattn::cuda
