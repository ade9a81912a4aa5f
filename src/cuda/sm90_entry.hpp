// The contract between the dispatcher (src/cuda/dispatch.cu) and the Hopper wgmma kernel
// (src/cuda/sm90/, issue 5). The sm90 CMakeLists defines SAGEATTN_HAS_SM90 on the sageattn target
// and provides these two functions; without it the dispatcher runs the mma.sync kernels on sm90.
//
// Order of a call on sm90: the dispatcher asks accepts(); if true it plans the workspace with
// quant::kTileSm90 (so the pre-pass groups tokens and pads lengths for the Hopper tile), runs the
// pre-pass on `stream`, then launch_attention(). If false, everything uses quant::kTileSm80 and
// the mma.sync kernels.
#pragma once

#include <cuda_runtime.h>

#include "core/problem.hpp"
#include "cuda/quant/quantized_layout.hpp"

namespace sageattn::cuda::sm90 {

// Whether the Hopper kernel runs this (already resolved) problem: today INT8 QK (any granularity)
// with fp8 PV, head dim 64 or 128. Must not touch the device; cheap, called on every call.
bool accepts(const core::AttentionProblem& problem);

// Launches the attention kernel on `stream` over the pre-pass outputs in `workspace` (laid out as
// `layout`, planned with quant::kTileSm90). Writes problem.out and, if set, problem.lse (natural
// log, plus the lse_shift buffer). No host synchronisation, no allocation; reports launch errors.
// consumers: consumer warpgroups per CTA (64 query rows each): 0 lets the launch choose; tests
// force 2 or 3 (head dim 64 only) to cover both kernels on every shape.
Status launch_attention(const core::AttentionProblem& problem, const QuantizedLayout& layout,
                        const void* workspace, cudaStream_t stream, int consumers = 0);

}  // namespace sageattn::cuda::sm90
