// The three tile kinds of pre-pass launch 2 (see prepass_quantize.cuh).
#pragma once

#include "cuda/quant/prepass_quantize.cuh"

namespace sageattn::cuda::prepass {

// lse_shift = float(sm_scale * (q . k_mean) in fp64), channels summed in order like the CPU: the
// products are exact in fp64, so fused or not the sum rounds identically.
template <int D>
__device__ void write_lse_shift(const PrepassParams& p, const TileScratch<D>& s, std::int64_t head,
                                const TileValues<D>& t) {
  for (int r = threadIdx.x; r < t.rows && t.first + r < t.len; r += kThreads) {
    double dot = 0.0;
    for (int d = 0; d < D; ++d) {
      dot += static_cast<double>(element_to_float(s.rows[r * D + d], p.bf16)) * s.k_mean[d];
    }
    buffer<float>(p, p.layout.lse_shift)[head * t.len + t.first + r] =
        static_cast<float>(static_cast<double>(p.sm_scale) * dot);
  }
}

// smooth_q: subtract the block's channel means (fp64 sums over its real rows) and write
// q_mean_logits[block, j] = float(mean . (k_j - k_mean) in fp64) * sm_scale * log2(e).
template <int D>
__device__ void smooth_q_block(const PrepassParams& p, TileScratch<D>& s, std::int64_t b,
                               std::int64_t head_q, std::int64_t q_block, TileValues<D>& t) {
  for (int d = threadIdx.x; d < D; d += kThreads) s.q_sums[d] = 0.0;
  __syncthreads();
#pragma unroll
  for (int i = 0; i < TileThreads<D>::kMaxIters; ++i) {
    if (!t.real(i)) continue;
#pragma unroll
    for (int c = 0; c < kChannelsPerThread; ++c) atomicAdd(&s.q_sums[TileThreads<D>::channel() + c], static_cast<double>(t.x[i][c]));
  }
  __syncthreads();
  const std::int64_t count = min(static_cast<std::int64_t>(t.rows), t.len - t.first);
  for (int d = threadIdx.x; d < D; d += kThreads) s.q_mean[d] = quant::mean_from_sum(s.q_sums[d], count);
  __syncthreads();
  subtract_real_rows(t, s.q_mean);

  const std::int64_t kv_head = head_q / (p.layout.heads_q / p.layout.heads_kv);
  const std::int64_t head = b * p.layout.heads_q + head_q;
  float* logits = buffer<float>(p, p.layout.q_mean_logits) +
                  (head * (p.layout.q_pad / p.tile.block_q) + q_block) * p.layout.k_pad;
  const float factor = quant::softmax_log2_factor(p.sm_scale);
  for (std::int64_t j = threadIdx.x; j < p.layout.k_pad; j += kThreads) {
    if (j >= p.layout.len_kv) {
      logits[j] = 0.0f;
      continue;
    }
    const std::uint16_t* k = token_row(p.k, b, kv_head, j);
    double dot = 0.0;
    for (int d0 = 0; d0 < D; d0 += kChannelsPerThread) {
      float x[kChannelsPerThread];
      load8(k + d0, p.vector_loads, p.bf16, x);
#pragma unroll
      for (int c = 0; c < kChannelsPerThread; ++c) dot += static_cast<double>(s.q_mean[d0 + c]) * (x[c] - s.k_mean[d0 + c]);
    }
    logits[j] = static_cast<float>(dot) * factor;
  }
}

template <int D>
__device__ void quantize_q_tile(const PrepassParams& p, TileScratch<D>& s, std::int64_t tile) {
  const std::int64_t blocks = p.layout.q_pad / p.tile.block_q;
  const std::int64_t head = tile / blocks;  // b * Hq + h
  const std::int64_t q_block = tile % blocks;
  const std::int64_t b = head / p.layout.heads_q;
  const std::int64_t h = head % p.layout.heads_q;
  TileValues<D> t;
  t.first = q_block * p.tile.block_q;
  t.len = p.layout.len_q;
  t.rows = p.tile.block_q;
  load_tile(p.q, b, h, p.vector_loads, p.bf16, t, p.want_lse ? s.rows : nullptr);
  __syncthreads();
  if (p.want_lse) write_lse_shift(p, s, head, t);
  if (p.smooth_q) smooth_q_block(p, s, b, h, q_block, t);

  const int groups = quant::q_groups_per_block(p.granularity, p.tile);
  const std::int64_t code_dim = p.qmax == quant::kInt4Max ? D / 2 : D;
  auto group_of = [&](int row) {
    return quant::q_scale_group(t.first + row, p.granularity, p.tile) - static_cast<int>(q_block) * groups;
  };
  quantize_tile(p, t, groups, group_of, s.amax,
                buffer<std::int8_t>(p, p.layout.q_codes) + (head * p.layout.q_pad + t.first) * code_dim,
                buffer<float>(p, p.layout.q_scales) + head * p.q_scale_count + q_block * groups, true);
}

template <int D>
__device__ void quantize_k_tile(const PrepassParams& p, TileScratch<D>& s, std::int64_t tile) {
  const std::int64_t blocks = p.layout.k_pad / p.tile.block_k;
  const std::int64_t head = tile / blocks;  // b * Hkv + h
  const std::int64_t k_block = tile % blocks;
  TileValues<D> t;
  t.first = k_block * p.tile.block_k;
  t.len = p.layout.len_kv;
  t.rows = p.tile.block_k;
  load_tile(p.k, head / p.layout.heads_kv, head % p.layout.heads_kv, p.vector_loads, p.bf16, t, nullptr);
  subtract_real_rows(t, s.k_mean);
  if (k_block == 0) {
    for (int d = threadIdx.x; d < D; d += kThreads) buffer<float>(p, p.layout.k_mean)[head * D + d] = s.k_mean[d];
  }
  const int groups = quant::k_groups_per_block(p.granularity, p.tile);
  const std::int64_t code_dim = p.qmax == quant::kInt4Max ? D / 2 : D;
  auto group_of = [&](int row) {
    return quant::k_scale_group(t.first + row, p.granularity, p.tile) - static_cast<int>(k_block) * groups;
  };
  quantize_tile(p, t, groups, group_of, s.amax,
                buffer<std::int8_t>(p, p.layout.k_codes) + (head * p.layout.k_pad + t.first) * code_dim,
                buffer<float>(p, p.layout.k_scales) + head * p.k_scale_count + k_block * groups, false);
}

// V: smoothed, then fp16 [Nk_pad, D], or fp8 e4m3 transposed [D, Nk_pad] through shared memory
// so each channel's tokens leave as contiguous 16-byte stores.
template <int D>
__device__ void quantize_v_tile(const PrepassParams& p, TileScratch<D>& s, std::int64_t tile) {
  const std::int64_t blocks = p.layout.k_pad / p.tile.block_k;
  const std::int64_t head = tile / blocks;
  const std::int64_t k_block = tile % blocks;
  TileValues<D> t;
  t.first = k_block * p.tile.block_k;
  t.len = p.layout.len_kv;
  t.rows = p.tile.block_k;
  load_tile(p.v, head / p.layout.heads_kv, head % p.layout.heads_kv, p.vector_loads, p.bf16, t, nullptr);
  subtract_real_rows(t, s.v_mean);
  if (k_block == 0) {
    for (int d = threadIdx.x; d < D; d += kThreads) {
      buffer<float>(p, p.layout.v_mean)[head * D + d] = s.v_mean[d];
      buffer<float>(p, p.layout.v_scales)[head * D + d] = s.v_scale[d];
    }
  }
  if (!p.fp8_v) {
    auto* out = buffer<std::uint16_t>(p, p.layout.v_fp16) + (head * p.layout.k_pad + t.first) * D;
#pragma unroll
    for (int i = 0; i < TileThreads<D>::kMaxIters; ++i) {
      if (!t.holds(i)) continue;
      std::uint32_t words[4];
#pragma unroll
      for (int c = 0; c < 4; ++c) {
        words[c] = float_to_fp16_saturate(t.x[i][2 * c]) |
                   (static_cast<std::uint32_t>(float_to_fp16_saturate(t.x[i][2 * c + 1])) << 16);
      }
      *reinterpret_cast<uint4*>(out + t.local_row(i) * D + TileThreads<D>::channel()) =
          make_uint4(words[0], words[1], words[2], words[3]);
    }
    return;
  }
  auto* staged = reinterpret_cast<std::uint8_t*>(s.rows);  // [D][rows]
#pragma unroll
  for (int i = 0; i < TileThreads<D>::kMaxIters; ++i) {
    if (!t.holds(i)) continue;
#pragma unroll
    for (int c = 0; c < kChannelsPerThread; ++c) {
      const int d = TileThreads<D>::channel() + c;
      staged[d * t.rows + t.local_row(i)] =
          quant::float_to_e4m3(quant::fp8_scaled_input(t.x[i][c], s.v_scale[d]));
    }
  }
  __syncthreads();
  auto* out = buffer<std::uint8_t>(p, p.layout.v_fp8) + head * D * p.layout.k_pad + t.first;
  const int chunks_per_row = t.rows / 16;
  for (int chunk = threadIdx.x; chunk < D * chunks_per_row; chunk += kThreads) {
    const int d = chunk / chunks_per_row;
    const int at = (chunk % chunks_per_row) * 16;
    *reinterpret_cast<uint4*>(out + d * p.layout.k_pad + at) =
        *reinterpret_cast<const uint4*>(staged + d * t.rows + at);
  }
}

template <int D>
__global__ void __launch_bounds__(kThreads) quantize_kernel(PrepassParams p) {
  __shared__ TileScratch<D> s;
  const std::int64_t q_tiles = p.layout.batch * p.layout.heads_q * (p.layout.q_pad / p.tile.block_q);
  const std::int64_t kv_tiles = p.layout.batch * p.layout.heads_kv * (p.layout.k_pad / p.tile.block_k);
  std::int64_t tile = blockIdx.x;
  const int kind = tile < q_tiles ? 0 : (tile < q_tiles + kv_tiles ? 1 : 2);
  tile -= kind == 0 ? 0 : (kind == 1 ? q_tiles : q_tiles + kv_tiles);
  std::int64_t kv_head = 0;
  if (kind == 0) {
    const std::int64_t head = tile / (p.layout.q_pad / p.tile.block_q);
    kv_head = (head / p.layout.heads_q) * p.layout.heads_kv +
              (head % p.layout.heads_q) / (p.layout.heads_q / p.layout.heads_kv);
  } else {
    kv_head = tile / (p.layout.k_pad / p.tile.block_k);
  }
  head_statistics<D>(p, kv_head, s.k_mean, s.v_mean, s.v_scale);
  __syncthreads();
  if (kind == 0) quantize_q_tile(p, s, tile);
  else if (kind == 1) quantize_k_tile(p, s, tile);
  else quantize_v_tile(p, s, tile);
}

}  // namespace sageattn::cuda::prepass
