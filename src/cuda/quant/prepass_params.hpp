// What both pre-pass launches read: the inputs as strided 16-bit tensors, the resolved options and
// the workspace layout. Plain data, passed by value as a kernel parameter.
#pragma once

#include <cstdint>

#include "core/problem.hpp"
#include "cuda/quant/quantized_layout.hpp"
#include "quant/granularity.hpp"

namespace sageattn::cuda {

struct StridedInput {
  const std::uint16_t* data;
  std::int64_t batch, head, token;  // element strides
};

struct PrepassParams {
  StridedInput q, k, v;
  QuantizedLayout layout;
  char* workspace;
  quant::TileShape tile;
  quant::Granularity granularity;
  int qmax;  // 127 (INT8) or 7 (INT4)
  float sm_scale;
  int q_scale_count, k_scale_count;  // per (batch, head)
  int rows_per_cta;                  // launch 2's work per CTA (prepass_tiles.cuh, QuantizeGrid)
  bool bf16, vector_loads, smooth_k, smooth_q, smooth_v, fp8_v, want_lse;
};

PrepassParams make_prepass_params(const core::AttentionProblem& problem,
                                  const QuantizedLayout& layout, quant::TileShape tile,
                                  void* workspace);

}  // namespace sageattn::cuda
