// The three tile kinds of pre-pass launch 2 (see prepass_quantize.cuh).
#pragma once

#include <cuda_fp8.h>

#include "cuda/quant/prepass_quantize.cuh"

namespace sageattn::cuda::prepass {

// lse_shift = float(sm_scale * (q . k_mean) in fp64), channels summed in order like the CPU: the
// products are exact in fp64, so fused or not the sum rounds identically. Reads the tile's rows
// from s.rows.
// Optional stages (LSE, smooth_q) stay out of line: inlined, their registers would count against
// the occupancy of every tile of the memory-bound kernel. They take the tile's extent, never the
// TileValues: a reference to it would move the tile's registers to local memory.
template <int D>
__device__ __noinline__ void write_lse_shift(const PrepassParams& p, const TileScratch<D>& s, std::int64_t head,
                                             std::int64_t first, int rows) {
  for (int r = threadIdx.x; r < rows && first + r < p.layout.len_q; r += kThreads) {
    double dot = 0.0;
    for (int d = 0; d < D; ++d) {
      dot += static_cast<double>(element_to_float(s.rows[r * D + d], p.bf16)) * s.k_mean[d];
    }
    buffer<float>(p, p.layout.lse_shift)[head * p.layout.len_q + first + r] =
        static_cast<float>(static_cast<double>(p.sm_scale) * dot);
  }
}

// smooth_q, after the block's fp64 channel sums over its `count` real rows are in s.q_sums: the
// means into s.q_mean, and q_mean_logits[block, j] = float(mean . (k_j - k_mean) in fp64) *
// sm_scale * log2(e).
template <int D>
__device__ __noinline__ void smooth_q_block(const PrepassParams& p, TileScratch<D>& s, std::int64_t b,
                                            std::int64_t head_q, std::int64_t q_block, std::int64_t count) {
  for (int d = threadIdx.x; d < D; d += kThreads) s.q_mean[d] = quant::mean_from_sum(s.q_sums[d], count);
  __syncthreads();

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

// The tile functions below get their tile already loaded (load_tile) and its head's statistics
// in shared memory.
template <int D>
__device__ void quantize_q_tile(const PrepassParams& p, TileScratch<D>& s, std::int64_t head,
                                std::int64_t q_block, TileValues<D>& t) {
  const std::int64_t b = head / p.layout.heads_q;
  const std::int64_t h = head % p.layout.heads_q;
  if (p.want_lse) {
    // lse_shift needs each row's channels in order: the tile's bits go through shared memory.
#pragma unroll
    for (int i = 0; i < TileThreads<D>::kMaxIters; ++i) {
      if (!t.holds(i)) continue;
#pragma unroll
      for (int c = 0; c < kChannelsPerThread; ++c) s.rows[t.local_row(i) * D + TileThreads<D>::channel() + c] = t.bits(i, c);
    }
    __syncthreads();
    write_lse_shift(p, s, head, t.first, t.rows);
  }
  if (p.smooth_q) {
    for (int d = threadIdx.x; d < D; d += kThreads) s.q_sums[d] = 0.0;
    __syncthreads();
#pragma unroll
    for (int i = 0; i < TileThreads<D>::kMaxIters; ++i) {
      if (!t.real(i)) continue;
      float x[kChannelsPerThread];
      t.values(i, x);
#pragma unroll
      for (int c = 0; c < kChannelsPerThread; ++c) atomicAdd(&s.q_sums[TileThreads<D>::channel() + c], static_cast<double>(x[c]));
    }
    __syncthreads();
    smooth_q_block(p, s, b, h, q_block, min(static_cast<std::int64_t>(t.rows), t.len - t.first));
    t.subtract(s.q_mean);
  }

  const int groups = quant::q_groups_per_block(p.granularity, p.tile);
  const std::int64_t code_dim = p.qmax == quant::kInt4Max ? D / 2 : D;
  auto group_of = [&](int row) {
    return quant::q_scale_group(t.first + row, p.granularity, p.tile) - static_cast<int>(q_block) * groups;
  };
  quantize_tile(p, t, groups, group_of, s.amax, s.inv, s.row_group,
                buffer<std::int8_t>(p, p.layout.q_codes) + (head * p.layout.q_pad + t.first) * code_dim,
                buffer<float>(p, p.layout.q_scales) + head * p.q_scale_count + q_block * groups, true);
}

template <int D>
__device__ void quantize_k_tile(const PrepassParams& p, TileScratch<D>& s, std::int64_t head,
                                std::int64_t k_block, TileValues<D>& t) {
  t.subtract(s.k_mean);
  if (k_block == 0) {
    for (int d = threadIdx.x; d < D; d += kThreads) buffer<float>(p, p.layout.k_mean)[head * D + d] = s.k_mean[d];
  }
  const int groups = quant::k_groups_per_block(p.granularity, p.tile);
  const std::int64_t code_dim = p.qmax == quant::kInt4Max ? D / 2 : D;
  auto group_of = [&](int row) {
    return quant::k_scale_group(t.first + row, p.granularity, p.tile) - static_cast<int>(k_block) * groups;
  };
  quantize_tile(p, t, groups, group_of, s.amax, s.inv, s.row_group,
                buffer<std::int8_t>(p, p.layout.k_codes) + (head * p.layout.k_pad + t.first) * code_dim,
                buffer<float>(p, p.layout.k_scales) + head * p.k_scale_count + k_block * groups, false);
}

// Two channels to e4m3: the sm89+ conversion instruction, or the same rounding in software.
__device__ inline void to_e4m3_pair(float a, float b, std::uint8_t& ca, std::uint8_t& cb) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 890
  const auto pair = static_cast<std::uint16_t>(__nv_cvt_float2_to_fp8x2(make_float2(a, b), __NV_SATFINITE, __NV_E4M3));
  ca = static_cast<std::uint8_t>(pair & 0xFF);
  cb = static_cast<std::uint8_t>(pair >> 8);
#else
  ca = quant::float_to_e4m3(a);
  cb = quant::float_to_e4m3(b);
#endif
}

// V: smoothed, then fp16 [Nk_pad, D], or fp8 e4m3 transposed [D, Nk_pad] through shared memory
// so each channel's tokens leave as contiguous 16-byte stores.
template <int D>
__device__ void quantize_v_tile(const PrepassParams& p, TileScratch<D>& s, std::int64_t head,
                                std::int64_t k_block, TileValues<D>& t) {
  t.subtract(s.v_mean);
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
      float x[kChannelsPerThread];
      t.values(i, x);
      std::uint32_t words[4];
#pragma unroll
      for (int c = 0; c < 4; ++c) {
        words[c] = float_to_fp16_saturate(x[2 * c]) |
                   (static_cast<std::uint32_t>(float_to_fp16_saturate(x[2 * c + 1])) << 16);
      }
      *reinterpret_cast<uint4*>(out + t.local_row(i) * D + TileThreads<D>::channel()) =
          make_uint4(words[0], words[1], words[2], words[3]);
    }
    return;
  }
  float inv[kChannelsPerThread];
#pragma unroll
  for (int c = 0; c < kChannelsPerThread; ++c) inv[c] = s.v_inv[TileThreads<D>::channel() + c];
  // [D][rows + 4]: the pad spreads the byte stores of one row over the banks (with a pitch of
  // whole words the 16 lanes of a row hit one bank), and keeps 4-byte reads aligned.
  auto* staged = reinterpret_cast<std::uint8_t*>(s.rows);
  const int pitch = t.rows + 4;
#pragma unroll
  for (int i = 0; i < TileThreads<D>::kMaxIters; ++i) {
    if (!t.holds(i)) continue;
    float x[kChannelsPerThread];
    t.values(i, x);
#pragma unroll
    for (int c = 0; c < kChannelsPerThread; c += 2) {
      std::uint8_t* at = staged + (TileThreads<D>::channel() + c) * pitch + t.local_row(i);
      to_e4m3_pair(quant::fp8_scaled_input(x[c], inv[c]), quant::fp8_scaled_input(x[c + 1], inv[c + 1]), at[0], at[pitch]);
    }
  }
  __syncthreads();
  auto* out = buffer<std::uint8_t>(p, p.layout.v_fp8) + head * D * p.layout.k_pad + t.first;
  const int words_per_row = t.rows / 4;
  for (int word = threadIdx.x; word < D * words_per_row; word += kThreads) {
    const int d = word / words_per_row;
    const int at = (word % words_per_row) * 4;
    *reinterpret_cast<std::uint32_t*>(out + d * p.layout.k_pad + at) =
        *reinterpret_cast<const std::uint32_t*>(staged + d * pitch + at);
  }
}

// How launch 2 splits its work: each CTA quantizes kRowsPerCta consecutive rows (several tiles)
// of one kind and one head, so the head's statistics are rebuilt once per 512 rows, not per tile.
inline constexpr int kRowsPerCta = 512;

struct QuantizeGrid {
  std::int64_t q_blocks, k_blocks;  // tiles per head
  int q_per_cta, kv_per_cta;        // tiles per CTA
  std::int64_t q_ctas_per_head, kv_ctas_per_head, q_ctas, kv_ctas;

  SAGE_HD explicit QuantizeGrid(const PrepassParams& p)
      : q_blocks(p.layout.q_pad / p.tile.block_q),
        k_blocks(p.layout.k_pad / p.tile.block_k),
        q_per_cta(kRowsPerCta / p.tile.block_q),
        kv_per_cta(kRowsPerCta / p.tile.block_k),
        q_ctas_per_head((q_blocks + q_per_cta - 1) / q_per_cta),
        kv_ctas_per_head((k_blocks + kv_per_cta - 1) / kv_per_cta),
        q_ctas(p.layout.batch * p.layout.heads_q * q_ctas_per_head),
        kv_ctas(p.layout.batch * p.layout.heads_kv * kv_ctas_per_head) {}
  SAGE_HD std::int64_t ctas() const { return q_ctas + 2 * kv_ctas; }
};

// The pre-pass is memory-bound: loads in flight matter more than registers. Left alone ptxas
// took 219 registers for D=128, one CTA per SM, 3x slower than at this bound. Two CTAs of 128
// registers hold two tiles each (the one being quantized and the next one's loads): that beat
// three CTAs of 80 registers holding one.
inline constexpr int kQuantizeCtasPerSm = 2;

// __grid_constant__: the out-of-line stages take the parameters by reference; without it that
// address made every thread copy the 328-byte struct to local memory (1 GB of local stores per
// B=4 H=32 N=16k pre-pass) and read its fields back from there.
template <int D>
__global__ void __launch_bounds__(kThreads, kQuantizeCtasPerSm)
    quantize_kernel(const __grid_constant__ PrepassParams p) {
  __shared__ TileScratch<D> s;
  const QuantizeGrid grid(p);
  std::int64_t cta = blockIdx.x;
  const int kind = cta < grid.q_ctas ? 0 : (cta < grid.q_ctas + grid.kv_ctas ? 1 : 2);
  cta -= kind == 0 ? 0 : (kind == 1 ? grid.q_ctas : grid.q_ctas + grid.kv_ctas);
  const std::int64_t ctas_per_head = kind == 0 ? grid.q_ctas_per_head : grid.kv_ctas_per_head;
  const std::int64_t head = cta / ctas_per_head;
  const std::int64_t heads = kind == 0 ? p.layout.heads_q : p.layout.heads_kv;
  const std::int64_t kv_head =
      kind == 0 ? (head / heads) * p.layout.heads_kv + (head % heads) / (heads / p.layout.heads_kv)
                : head;
  const int per_cta = kind == 0 ? grid.q_per_cta : grid.kv_per_cta;
  const std::int64_t blocks = kind == 0 ? grid.q_blocks : grid.k_blocks;
  const std::int64_t first = (cta % ctas_per_head) * per_cta;
  const std::int64_t last = min(first + per_cta, blocks);
  const StridedInput& in = kind == 0 ? p.q : (kind == 1 ? p.k : p.v);
  TileValues<D> t;
  t.rows = kind == 0 ? p.tile.block_q : p.tile.block_k;
  t.len = kind == 0 ? p.layout.len_q : p.layout.len_kv;
  t.bf16 = p.bf16;
  t.first = first * t.rows;
  // The first tile's loads go out before the statistics (L2 reads that the tile does not need
  // until it is processed), so the two latencies overlap.
  load_tile(in, head / heads, head % heads, p.vector_loads, t);
  // Only what the tile kind reads: K needs k_mean, V its mean and scales, Q k_mean for the
  // LSE shift and smooth_q only.
  const bool need_k = kind == 1 || (kind == 0 && (p.want_lse || p.smooth_q));
  head_statistics<D>(p, kv_head, need_k, kind == 2, s.k_mean, s.v_mean, s.v_scale, s.v_inv);
  for (std::int64_t block = first; block < last; ++block) {
    // The next tile's loads are in flight while this one is quantized (measured on H100, B=4
    // H=32 N=16k D=128: 3.68 ms against 3.93 ms at 3 CTAs/SM without this overlap).
    TileValues<D> next = t;
    next.smoothed = false;
    if (block + 1 < last) {
      next.first = (block + 1) * t.rows;
      load_tile(in, head / heads, head % heads, p.vector_loads, next);
    }
    __syncthreads();  // statistics ready; the previous tile's shared scratch fully read
    if (kind == 0) quantize_q_tile(p, s, head, block, t);
    else if (kind == 1) quantize_k_tile(p, s, head, block, t);
    else quantize_v_tile(p, s, head, block, t);
    t = next;
  }
}

}  // namespace sageattn::cuda::prepass
