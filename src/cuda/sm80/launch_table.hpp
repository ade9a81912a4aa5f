// From a resolved problem and its workspace to the matching mma.sync kernel instantiation.
#pragma once

#include <cuda_runtime.h>

#include "core/problem.hpp"
#include "cuda/quant/quantized_layout.hpp"

namespace sageattn::cuda::sm80 {

// Runs the instantiation for (head dim, causal, QK codes, PV mode); the workspace holds the
// pre-pass outputs planned with kTileSm80.
Status launch(const core::AttentionProblem& problem, const QuantizedLayout& layout,
              const void* workspace, cudaStream_t stream);

}  // namespace sageattn::cuda::sm80
