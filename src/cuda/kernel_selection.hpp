// Which kernel family runs a resolved problem on a device, and so which tile shape the pre-pass
// quantizes for: the Hopper kernel (kTileSm90) where it is built and accepts the problem, else
// the mma.sync kernels (kTileSm80). Defined in the library, where the build's definitions
// (SAGEATTN_HAS_SM90, SAGEATTN_HAS_FP8_PV) are visible, so tests and tools see the same answer.
#pragma once

#include "core/problem.hpp"
#include "quant/granularity.hpp"

namespace sageattn::cuda {

// Whether this build compiled the fp8-PV kernels (some CUDA architecture >= 89).
bool fp8_kernels_built();

bool uses_sm90_kernel(const core::AttentionProblem& problem, int capability);

quant::TileShape tile_for(const core::AttentionProblem& problem, int capability);

}  // namespace sageattn::cuda
