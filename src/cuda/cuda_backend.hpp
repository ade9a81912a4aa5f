// The CUDA backend as core sees it: plain C++ (no CUDA headers), so core compiles without nvcc.
#pragma once

#include <cstddef>

#include "core/problem.hpp"

namespace sageattn::cuda {

// Compute capability (major * 10 + minor) of a device, or an error status.
Status compute_capability(int device, int* capability);

// Resolves kAuto options for a device of this capability (fastest accurate choice) and reports
// a combination the device cannot run (e.g. fp8 PV below sm89) as kUnsupported.
Status resolve_options(int capability, QKQuant* qk_quant, PVPrecision* pv_precision);

std::size_t workspace_bytes(const core::AttentionProblem& problem, int capability);

// Launches the pre-pass and the attention kernel on `stream` (a cudaStream_t); no host sync.
// `workspace` holds at least workspace_bytes(); core allocates it when the caller passed none.
Status attention(const core::AttentionProblem& problem, int capability, void* workspace,
                 void* stream);

// The two halves of attention(), for benchmarks and tests that time or check them apart:
// the quantization pre-pass into `workspace`, then the attention kernel over its buffers.
Status quantize(const core::AttentionProblem& problem, int capability, void* workspace,
                void* stream);
Status attend_quantized(const core::AttentionProblem& problem, int capability,
                        const void* workspace, void* stream);

}  // namespace sageattn::cuda
