#include "cuda/quant/prepass.hpp"

#include <cstdint>

#include "cuda/common/cuda_check.hpp"
#include "cuda/quant/prepass_stats.cuh"
#include "cuda/quant/prepass_tiles.cuh"
#include "quant/numeric_constants.hpp"

namespace sageattn::cuda {
namespace {

StridedInput strided(const void* data, const core::TokenStrides& s) {
  return {static_cast<const std::uint16_t*>(data), s.batch, s.head, s.token};
}

bool aligned16(const void* data, const core::TokenStrides& s) {
  return reinterpret_cast<std::uintptr_t>(data) % 16 == 0 && s.batch % 8 == 0 && s.head % 8 == 0 &&
         s.token % 8 == 0;
}

template <int D>
Status launch(const PrepassParams& p, cudaStream_t stream) {
  const dim3 stats_grid(static_cast<unsigned>(p.layout.stats_chunks),
                        static_cast<unsigned>(p.layout.batch * p.layout.heads_kv));
  prepass::stats_kernel<D><<<stats_grid, prepass::kThreads, 0, stream>>>(p);
  if (Status s = launch_status("prepass stats_kernel"); !s.ok()) return s;
  const prepass::QuantizeGrid grid(p);
  prepass::quantize_kernel<D><<<static_cast<unsigned>(grid.ctas()), prepass::kThreads, 0, stream>>>(p);
  return launch_status("prepass quantize_kernel");
}

}  // namespace

LayoutRequest layout_request(const core::AttentionProblem& problem, quant::TileShape tile) {
  return {problem.batch,
          problem.heads_q,
          problem.heads_kv,
          problem.len_q,
          problem.len_kv,
          problem.head_dim,
          tile,
          problem.qk_granularity(),
          problem.qk_quant == QKQuant::kInt4PerThread,
          problem.pv_precision == PVPrecision::kFp8Fp32Accum,
          problem.smooth_q,
          problem.smooth_v,
          // lse_shift is always reserved: workspace_bytes() does not know whether the call will
          // ask for the LSE, and the workspace it reports must fit either way.
          true};
}

PrepassParams make_prepass_params(const core::AttentionProblem& problem,
                                  const QuantizedLayout& layout, quant::TileShape tile,
                                  void* workspace) {
  PrepassParams p{};
  p.q = strided(problem.q, problem.q_strides);
  p.k = strided(problem.k, problem.k_strides);
  p.v = strided(problem.v, problem.v_strides);
  p.layout = layout;
  p.workspace = static_cast<char*>(workspace);
  p.tile = tile;
  p.granularity = problem.qk_granularity();
  p.qmax = problem.qk_quant == QKQuant::kInt4PerThread ? quant::kInt4Max : quant::kInt8Max;
  p.sm_scale = problem.sm_scale;
  p.q_scale_count = quant::q_scale_count(problem.len_q, p.granularity, tile);
  p.k_scale_count = quant::k_scale_count(problem.len_kv, p.granularity, tile);
  p.bf16 = problem.dtype == DType::kBFloat16;
  p.vector_loads = aligned16(problem.q, problem.q_strides) &&
                   aligned16(problem.k, problem.k_strides) &&
                   aligned16(problem.v, problem.v_strides);
  p.smooth_k = problem.smooth_k;
  p.smooth_q = problem.smooth_q;
  p.smooth_v = problem.smooth_v;
  p.fp8_v = problem.pv_precision == PVPrecision::kFp8Fp32Accum;
  p.want_lse = problem.lse != nullptr;
  return p;
}

Status run_prepass(const core::AttentionProblem& problem, const QuantizedLayout& layout,
                   quant::TileShape tile, void* workspace, cudaStream_t stream) {
  const PrepassParams p = make_prepass_params(problem, layout, tile, workspace);
  return problem.head_dim == 64 ? launch<64>(p, stream) : launch<128>(p, stream);
}

}  // namespace sageattn::cuda
