#include "cuda/quant/prepass.hpp"

#include <algorithm>
#include <cstdint>

#include "cuda/common/cuda_check.hpp"
#include "cuda/common/dependent_launch.hpp"
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

// Both launches stage tiles in more than the 48 KB of static shared memory; the opt-in is a
// per-device attribute, so it is set on every call (cheap) rather than once per process.
template <typename Kernel>
Status allow_shared_memory(Kernel kernel, int bytes, const char* what) {
  return cuda_status(
      cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes), what);
}

// The statistics launch as one wave of CTAs: as few chunks per (batch, kv head) as still fill
// every CTA slot of the device once, never more than the layout's (whose partials buffer the
// workspace holds). Longer chunks stream more tiles per CTA behind one reduction, and the quantize
// launch, which starts only once every statistics CTA is resident, starts at once. Measured on
// H100 at B=4 H=32 (bench/NOTES.md, v8): 384 CTAs of 3 chunks per head instead of 1024
// of 8 at N = 1k, pre-pass -1 to -2 % at 1k-4k, unchanged at 16k.
void statistics_in_one_wave(int sms, QuantizedLayout* layout) {
  const std::int64_t heads = layout->batch * layout->heads_kv;
  const std::int64_t slots = static_cast<std::int64_t>(sms) * prepass::kStatsCtasPerSm;
  const std::int64_t quanta = (layout->len_kv + kStatsChunkQuantum - 1) / kStatsChunkQuantum;
  std::int64_t chunks = std::clamp<std::int64_t>(slots / heads, 1, layout->stats_chunks);
  const std::int64_t quanta_per_chunk = (quanta + chunks - 1) / chunks;
  chunks = (quanta + quanta_per_chunk - 1) / quanta_per_chunk;
  layout->stats_chunks = static_cast<int>(chunks);
  layout->stats_chunk_len = quanta_per_chunk * kStatsChunkQuantum;
}

template <int D>
Status launch(const PrepassParams& p, cudaStream_t stream) {
  constexpr int kStatsSmem = sizeof(prepass::StatsSmem<D>);
  constexpr int kQuantizeSmem = sizeof(prepass::QuantizeSmem<D>);
  if (Status s = allow_shared_memory(prepass::stats_kernel<D>, kStatsSmem,
                                     "cudaFuncSetAttribute(prepass stats_kernel)");
      !s.ok()) {
    return s;
  }
  const auto quantize_kernel =
      p.bf16 ? prepass::quantize_kernel<D, true> : prepass::quantize_kernel<D, false>;
  if (Status s = allow_shared_memory(quantize_kernel, kQuantizeSmem,
                                     "cudaFuncSetAttribute(prepass quantize_kernel)");
      !s.ok()) {
    return s;
  }
  const dim3 stats_grid(static_cast<unsigned>(p.layout.stats_chunks),
                        static_cast<unsigned>(p.layout.batch * p.layout.heads_kv));
  prepass::stats_kernel<D><<<stats_grid, prepass::kThreads, kStatsSmem, stream>>>(p);
  if (Status s = launch_status("prepass stats_kernel"); !s.ok()) return s;

  // The quantize launch may start while the statistics launch still runs (dependent_launch.hpp):
  // its Q tiles need no statistics and fill the statistics launch's tail and the launch gap; its K
  // and V tiles wait for the statistics (quantize_kernel). It lets the attention kernel be
  // scheduled in turn, as soon as all its own CTAs have started.
  cudaLaunchConfig_t config{};
  config.gridDim = dim3(static_cast<unsigned>(p.quantize_grid.ctas()));
  config.blockDim = dim3(prepass::kThreads);
  config.dynamicSmemBytes = kQuantizeSmem;
  config.stream = stream;
  cudaLaunchAttribute overlap{};
  allow_early_start(&config, &overlap);
  return cuda_status(cudaLaunchKernelEx(&config, quantize_kernel, p), "prepass quantize_kernel");
}

}  // namespace

LayoutRequest layout_request(const core::AttentionProblem& problem, quant::TileShape tile) {
  return {problem.batch, problem.heads_q, problem.heads_kv, problem.len_q, problem.len_kv,
          problem.head_dim, tile, problem.qk_granularity(),
          problem.qk_quant == QKQuant::kInt4PerThread,
          problem.pv_precision == PVPrecision::kFp8Fp32Accum, problem.smooth_q, problem.smooth_v,
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
  // The largest share per CTA that still gives the launch one and a half waves of CTAs: small
  // problems get more, smaller CTAs. A CTA runs its tiles one after the other, so in a single wave
  // the launch lasts one CTA's chain: at B=4 H=32 N=1k, 768 CTAs of 512 rows beat 384 of 1024 by
  // 6-7 % of the pre-pass (v10 in bench/NOTES.md); from 4k on, 1024 rows stay. The block sizes
  // (64, 128) divide every candidate.
  int device = 0;
  int sms = 132;
  if (cudaGetDevice(&device) != cudaSuccess ||
      cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device) != cudaSuccess) {
    cudaGetLastError();
  }
  statistics_in_one_wave(sms, &p.layout);
  const std::int64_t slots = static_cast<std::int64_t>(sms) * prepass::kQuantizeCtasPerSm;
  int rows_per_cta = kMaxRowsPerCta;
  while (rows_per_cta > tile.block_q &&
         2 * QuantizeGrid(p.layout, tile, rows_per_cta).ctas() < 3 * slots) {
    rows_per_cta /= 2;
  }
  p.quantize_grid = QuantizeGrid(p.layout, tile, rows_per_cta);
  return p;
}

Status run_prepass(const core::AttentionProblem& problem, const QuantizedLayout& layout,
                   quant::TileShape tile, void* workspace, cudaStream_t stream, int rows_per_cta) {
  PrepassParams p = make_prepass_params(problem, layout, tile, workspace);
  if (rows_per_cta > 0) p.quantize_grid = QuantizeGrid(p.layout, tile, rows_per_cta);
  return problem.head_dim == 64 ? launch<64>(p, stream) : launch<128>(p, stream);
}

}  // namespace sageattn::cuda
