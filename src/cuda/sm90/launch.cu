// The sm90 entry points (cuda/sm90_entry.hpp): which problems the Hopper kernel takes, and its
// launch: TMA tensor maps over the pre-pass buffers, kernel parameters, one persistent CTA per SM.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>

#include "cuda/common/cuda_check.hpp"
#include "cuda/common/tma_descriptor.hpp"
#include "cuda/sm90/kernel_traits.hpp"
#include "cuda/sm90/launch_kernel.hpp"
#include "cuda/sm90_entry.hpp"

namespace sageattn::cuda::sm90 {
namespace {

bool even(std::int64_t x) { return x % 2 == 0; }

// Consumer warpgroups per CTA: three at hd64 (192-row query tiles), except causal problems of at
// most 1k queries, and two at hd128. Measured on H100 at B=4 H=32 (bench/NOTES.md, v8 and v13):
// three run hd64 non-causal 12-15 % faster at 1k-16k and causal 8-17 % faster from 1.5k to 4k
// queries, but causal 4 % slower at 1k (v8: 13 %), where a 192-row tile computes more of the
// masked triangle and the last tile of each head is two-thirds padding.
int default_consumers(const core::AttentionProblem& p) {
  return p.head_dim == 64 && (!p.causal || p.len_q > 1024) ? 3 : 2;
}

// The instantiation for the output element type (bf16 or fp16).
template <int kHeadDim, int kConsumers>
Status launch_for_output(bool bf16, const TensorMaps& maps, const KernelParams& params, int ctas,
                         cudaStream_t stream) {
  return bf16 ? launch_kernel<kHeadDim, kConsumers, __nv_bfloat16>(maps, params, ctas, stream)
              : launch_kernel<kHeadDim, kConsumers, __half>(maps, params, ctas, stream);
}

Status encode_maps(const QuantizedLayout& l, const void* workspace, int block_q,
                   TensorMaps* maps) {
  const auto d = static_cast<std::uint64_t>(l.head_dim);
  const CUtensorMapSwizzle qk_swizzle =
      l.head_dim == 128 ? CU_TENSOR_MAP_SWIZZLE_128B : CU_TENSOR_MAP_SWIZZLE_64B;
  const auto q_rows = static_cast<std::uint64_t>(l.batch * l.heads_q * l.q_pad);
  const auto k_rows = static_cast<std::uint64_t>(l.batch * l.heads_kv * l.k_pad);
  const auto k_pad = static_cast<std::uint64_t>(l.k_pad);

  TiledTensorMapSpec<2> q;
  q.base = workspace_buffer<std::uint8_t>(workspace, l.q_codes);
  q.dims = {d, q_rows};
  q.byte_strides = {d};
  // A query tile may reach past the head's q_pad rows (hd64's 192 rows): the next head's rows, or
  // zeros past the last head, fill them; the kernel stores no row past len_q.
  q.box = {static_cast<std::uint32_t>(d), static_cast<std::uint32_t>(block_q)};
  q.swizzle = qk_swizzle;
  if (Status s = encode_byte_tensor_map(q, &maps->q); !s.ok()) return s;

  // K rows as (e, t, j0, u) with row = e + 4t + 2 j0 + 16 u, walked e, t, j0, u: shared-memory
  // row e + 2t + 8 j0 + 16 u receives key e + 2 j0 + 4t + 16 u (kernel_traits.hpp, key_of_slot).
  TiledTensorMapSpec<5> k;
  k.base = workspace_buffer<std::uint8_t>(workspace, l.k_codes);
  k.dims = {d, 2, 4, 2, k_rows / 16};
  k.byte_strides = {d, 4 * d, 2 * d, 16 * d};
  k.box = {static_cast<std::uint32_t>(d), 2, 4, 2, kBlockK / 16};
  k.swizzle = qk_swizzle;
  if (Status s = encode_byte_tensor_map(k, &maps->k); !s.ok()) return s;

  TiledTensorMapSpec<2> v;
  v.base = workspace_buffer<std::uint8_t>(workspace, l.v_fp8);
  v.dims = {k_pad, static_cast<std::uint64_t>(l.batch * l.heads_kv) * d};
  v.byte_strides = {k_pad};
  v.box = {kBlockK, static_cast<std::uint32_t>(d)};
  v.swizzle = CU_TENSOR_MAP_SWIZZLE_128B;
  return encode_byte_tensor_map(v, &maps->v);
}

}  // namespace

bool accepts(const core::AttentionProblem& p) {
  const bool int8_qk = p.qk_quant == QKQuant::kInt8PerBlock ||
                       p.qk_quant == QKQuant::kInt8PerWarp || p.qk_quant == QKQuant::kInt8PerThread;
  // The epilogue stores channel pairs as one 4-byte word.
  const bool pair_aligned = reinterpret_cast<std::uintptr_t>(p.out) % 4 == 0 &&
                            even(p.out_strides.batch) && even(p.out_strides.head) &&
                            even(p.out_strides.token);
  // Token and head indices are 32-bit in the kernel; TMA coordinates too.
  constexpr std::int64_t kMaxRows = std::numeric_limits<std::int32_t>::max() / 2;
  const bool fits = p.batch * p.heads_q * (p.len_q + kMaxConsumers * kRowsPerConsumer) < kMaxRows &&
                    p.batch * p.heads_kv * (p.len_kv + kBlockK) < kMaxRows;
  return int8_qk && p.pv_precision == PVPrecision::kFp8Fp32Accum && !p.smooth_q &&
         (p.head_dim == 64 || p.head_dim == 128) && p.dtype != DType::kFloat32 && pair_aligned &&
         fits;
}

Status launch_attention(const core::AttentionProblem& problem, const QuantizedLayout& layout,
                        const void* workspace, cudaStream_t stream, int consumers) {
  if (consumers == 0) consumers = default_consumers(problem);
  if (!consumers_supported(static_cast<int>(problem.head_dim), consumers)) {
    return {StatusCode::kInvalidArgument,
            "sm90 launch_attention: consumers must be 2, or 3 at head dim 64 (got " +
                std::to_string(consumers) + ")"};
  }
  const int block_q = consumers * kRowsPerConsumer;
  TensorMaps maps{};
  if (Status s = encode_maps(layout, workspace, block_q, &maps); !s.ok()) return s;
  const quant::Granularity granularity = problem.qk_granularity();
  KernelParams params{};
  params.q_scales = workspace_buffer<float>(workspace, layout.q_scales);
  params.k_scales = workspace_buffer<float>(workspace, layout.k_scales);
  params.v_scales = workspace_buffer<float>(workspace, layout.v_scales);
  params.v_mean = workspace_buffer<float>(workspace, layout.v_mean);
  params.lse_shift =
      problem.lse != nullptr ? workspace_buffer<float>(workspace, layout.lse_shift) : nullptr;
  params.out = problem.out;
  params.lse = problem.lse;
  params.out_strides = problem.out_strides;
  params.lse_strides = problem.lse_strides;
  params.heads_q = static_cast<int>(problem.heads_q);
  params.heads_kv = static_cast<int>(problem.heads_kv);
  params.len_q = static_cast<int>(problem.len_q);
  params.len_kv = static_cast<int>(problem.len_kv);
  params.q_pad = static_cast<int>(layout.q_pad);
  params.k_pad = static_cast<int>(layout.k_pad);
  params.q_scale_count = quant::q_scale_count(problem.len_q, granularity, kTile);
  params.k_scale_count = quant::k_scale_count(problem.len_kv, granularity, kTile);
  params.q_tiles = static_cast<int>((problem.len_q + block_q - 1) / block_q);
  params.work_tiles = static_cast<int>(problem.batch * problem.heads_q * params.q_tiles);
  params.granularity = granularity;
  params.causal = problem.causal;

  // Persistent CTAs, one per SM (the register file holds one; tile_scheduler.hpp).
  int device = 0;
  int sms = 0;
  if (Status s = cuda_status(cudaGetDevice(&device), "cudaGetDevice"); !s.ok()) return s;
  if (Status s = cuda_status(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device),
                             "cudaDeviceGetAttribute(multiprocessor count)");
      !s.ok()) {
    return s;
  }
  const int ctas = std::min(params.work_tiles, sms);
  const bool bf16 = problem.dtype == DType::kBFloat16;
  if (problem.head_dim == 64 && consumers == 3) {
    return launch_for_output<64, 3>(bf16, maps, params, ctas, stream);
  }
  if (problem.head_dim == 64) return launch_for_output<64, 2>(bf16, maps, params, ctas, stream);
  return launch_for_output<128, 2>(bf16, maps, params, ctas, stream);
}

}  // namespace sageattn::cuda::sm90
