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

// How launch 2 splits its work: each CTA quantizes rows_per_cta consecutive rows (several tiles)
// of one kind and one head, so the head's statistics are rebuilt once per CTA, not per tile, and
// the first tile's latency is paid once. prepass.cu picks rows_per_cta (at most kMaxRowsPerCta:
// measured on H100 at B=4 H=32 D=128, 1024 rows beat 512 by 3 % and 256 by 6 % at 16k) as large
// as still gives the launch one and a half waves of CTAs. Computed on the host; 32-bit counts
// (the launch's grid has fewer than 2^31 CTAs).
struct QuantizeGrid {
  int q_blocks, k_blocks;     // tiles per head
  int q_per_cta, kv_per_cta;  // tiles per CTA
  int q_ctas_per_head, kv_ctas_per_head, q_ctas, kv_ctas;

  QuantizeGrid() = default;
  QuantizeGrid(const QuantizedLayout& layout, quant::TileShape tile, int rows_per_cta)
      : q_blocks(static_cast<int>(layout.q_pad / tile.block_q)),
        k_blocks(static_cast<int>(layout.k_pad / tile.block_k)),
        q_per_cta(rows_per_cta / tile.block_q),
        kv_per_cta(rows_per_cta / tile.block_k),
        q_ctas_per_head((q_blocks + q_per_cta - 1) / q_per_cta),
        kv_ctas_per_head((k_blocks + kv_per_cta - 1) / kv_per_cta),
        q_ctas(static_cast<int>(layout.batch * layout.heads_q * q_ctas_per_head)),
        kv_ctas(static_cast<int>(layout.batch * layout.heads_kv * kv_ctas_per_head)) {}
  std::int64_t ctas() const { return static_cast<std::int64_t>(q_ctas) + 2 * kv_ctas; }
};
inline constexpr int kMaxRowsPerCta = 1024;

struct PrepassParams {
  StridedInput q, k, v;
  QuantizedLayout layout;
  char* workspace;
  quant::TileShape tile;
  quant::Granularity granularity;
  int qmax;  // 127 (INT8) or 7 (INT4)
  float sm_scale;
  int q_scale_count, k_scale_count;  // per (batch, head)
  QuantizeGrid quantize_grid;        // launch 2's split
  bool bf16, vector_loads, smooth_k, smooth_q, smooth_v, fp8_v, want_lse;
};

PrepassParams make_prepass_params(const core::AttentionProblem& problem,
                                  const QuantizedLayout& layout, quant::TileShape tile,
                                  void* workspace);

}  // namespace sageattn::cuda
