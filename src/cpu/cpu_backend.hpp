// The CPU backends: the fp64 reference (ground truth) and the emulation of the quantized pipeline
// (what the GPU kernels compute, step by step). Both are multithreaded over blocks of query rows
// (parallel_for.hpp); emulation.cpp and emulation_stages.hpp document the emulated arithmetic.
#pragma once

#include <vector>

#include "core/problem.hpp"
#include "quant/granularity.hpp"

namespace sageattn::cpu {

// Exact attention with fp64 accumulation; writes problem.out (rounded to its dtype) and lse.
Status reference_attention(const core::AttentionProblem& problem);

// The same, returning the unrounded fp64 output as [B, Hq, Nq, D] and LSE as [B, Hq, Nq].
void reference_attention_f64(const core::AttentionProblem& problem, std::vector<double>& out,
                             std::vector<double>* lse);

// The quantized pipeline as the kernel with this tile shape computes it; writes out and lse.
Status emulate_attention(const core::AttentionProblem& problem, quant::TileShape tile);

}  // namespace sageattn::cpu
