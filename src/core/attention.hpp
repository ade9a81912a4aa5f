// The public call with the CPU emulation's tile chosen by the caller. attention() emulates the
// mma.sync kernels (quant::kTileSm80); tests and sageattn-bench pass quant::kTileSm90 to emulate
// the Hopper kernel's token groups instead. The tile matters only to Backend::kCpuEmulation.
#pragma once

#include "quant/granularity.hpp"
#include "sageattn/sageattn.hpp"

namespace sageattn::core {

Status attention_with_cpu_tile(const TensorView& q, const TensorView& k, const TensorView& v,
                               const TensorView& out, const TensorView* lse, const Options& options,
                               Workspace workspace, void* stream, quant::TileShape cpu_tile);

}  // namespace sageattn::core
