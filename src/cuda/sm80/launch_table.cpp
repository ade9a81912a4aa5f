#include "cuda/sm80/launch_table.hpp"

#include <cstdint>

#include "cuda/sm80/params.hpp"

namespace sageattn::cuda::sm80 {
namespace {

#ifdef SAGEATTN_HAS_FP8_PV
constexpr bool kFp8KernelsBuilt = true;
#else
constexpr bool kFp8KernelsBuilt = false;
#endif

AttentionParams make_params(const core::AttentionProblem& p, const QuantizedLayout& l,
                            const void* ws) {
  AttentionParams a{};
  a.q_codes = workspace_buffer<std::int8_t>(ws, l.q_codes);
  a.q_scales = workspace_buffer<float>(ws, l.q_scales);
  a.k_codes = workspace_buffer<std::int8_t>(ws, l.k_codes);
  a.k_scales = workspace_buffer<float>(ws, l.k_scales);
  a.v = l.v_fp8 != QuantizedLayout::kNone ? workspace_buffer<void>(ws, l.v_fp8)
                                          : workspace_buffer<void>(ws, l.v_fp16);
  a.v_scales = workspace_buffer<float>(ws, l.v_scales);
  a.v_mean = workspace_buffer<float>(ws, l.v_mean);
  a.q_mean_logits = workspace_buffer<float>(ws, l.q_mean_logits);
  a.lse_shift = workspace_buffer<float>(ws, l.lse_shift);
  a.out = p.out;
  a.out_strides = {p.out_strides.batch, p.out_strides.head, p.out_strides.token};
  a.lse = p.lse;
  a.lse_strides = {p.lse_strides.batch, p.lse_strides.head, p.lse_strides.token};
  a.heads_q = p.heads_q;
  a.heads_kv = p.heads_kv;
  a.len_q = p.len_q;
  a.len_kv = p.len_kv;
  a.q_pad = l.q_pad;
  a.k_pad = l.k_pad;
  a.granularity = p.qk_granularity();
  a.q_scale_count = quant::q_scale_count(p.len_q, a.granularity, kTile);
  a.k_scale_count = quant::k_scale_count(p.len_kv, a.granularity, kTile);
  a.causal = p.causal;
  a.bf16_out = p.dtype == DType::kBFloat16;
  a.out_pairs = reinterpret_cast<std::uintptr_t>(p.out) % 4 == 0 && p.out_strides.batch % 2 == 0 &&
                p.out_strides.head % 2 == 0 && p.out_strides.token % 2 == 0;
  return a;
}

template <int D, QkCodes kQk>
Status launch_pv(const core::AttentionProblem& p, const AttentionParams& a, cudaStream_t stream) {
  switch (p.pv_precision) {
    case PVPrecision::kFp16Fp16Accum:
      return launch_attention<D, kQk, PvMode::kFp16Fp16>(a, p.batch, stream);
    case PVPrecision::kFp8Fp32Accum:
      if constexpr (kFp8KernelsBuilt) {
        return launch_attention<D, kQk, PvMode::kFp8>(a, p.batch, stream);
      } else {
        return {StatusCode::kInternal, "fp8 PV requested but no fp8 kernels are built"};
      }
    default:
      return launch_attention<D, kQk, PvMode::kFp16Fp32>(a, p.batch, stream);
  }
}

template <int D>
Status launch_qk(const core::AttentionProblem& p, const AttentionParams& a, cudaStream_t stream) {
  return p.qk_quant == QKQuant::kInt4PerThread ? launch_pv<D, QkCodes::kInt4>(p, a, stream)
                                               : launch_pv<D, QkCodes::kInt8>(p, a, stream);
}

}  // namespace

Status launch(const core::AttentionProblem& problem, const QuantizedLayout& layout,
              const void* workspace, cudaStream_t stream) {
  const AttentionParams params = make_params(problem, layout, workspace);
  return problem.head_dim == 64 ? launch_qk<64>(problem, params, stream)
                                : launch_qk<128>(problem, params, stream);
}

}  // namespace sageattn::cuda::sm80
