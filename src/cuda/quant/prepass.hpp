// The quantization pre-pass on the GPU: two launches on `stream` that fill the workspace buffers
// of quantized_layout.hpp (bit-identical with cpu::quantize_inputs for the same tile shape).
#pragma once

#include <cuda_runtime.h>

#include "core/problem.hpp"
#include "cuda/quant/quantized_layout.hpp"
#include "quant/granularity.hpp"

namespace sageattn::cuda {

// The layout request of a resolved problem for a kernel of this tile shape.
LayoutRequest layout_request(const core::AttentionProblem& problem, quant::TileShape tile);

Status run_prepass(const core::AttentionProblem& problem, const QuantizedLayout& layout,
                   quant::TileShape tile, void* workspace, cudaStream_t stream);

}  // namespace sageattn::cuda
