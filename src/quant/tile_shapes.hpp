// The tile choices of every kernel family, in one place. The quantization pre-pass, the kernels
// and the CPU emulation read their token partition from here (granularity.hpp explains it).
#pragma once

#include "quant/granularity.hpp"

namespace sageattn::quant {

// mma.sync kernels (sm80/sm89): 4 warps, each 32 Q rows; 64 keys per main-loop step.
inline constexpr TileShape kTileSm80{128, 32, 64};
// Hopper wgmma kernel: 2 consumer warpgroups of 64 rows (16 per warp); K/V tiles of 128 keys; the
// row sums of P come out of the P V wgmma; at hd128 a softmax step spans two tiles.
inline constexpr TileShape kTileSm90{128, 16, 128, true, 128};

}  // namespace sageattn::quant
