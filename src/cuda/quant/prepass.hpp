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

// rows_per_cta: how many token rows each quantize CTA takes (a multiple of 128, at most 1024);
// 0 lets the pre-pass choose from the problem size and the device. Tests force large values to
// cover the multi-tile pipeline on small problems.
Status run_prepass(const core::AttentionProblem& problem, const QuantizedLayout& layout,
                   quant::TileShape tile, void* workspace, cudaStream_t stream,
                   int rows_per_cta = 0);

}  // namespace sageattn::cuda
