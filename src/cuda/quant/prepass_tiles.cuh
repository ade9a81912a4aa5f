// The three tile kinds of pre-pass launch 2 (see prepass_quantize.cuh), its work split and the
// kernel itself.
#pragma once

#include <cuda_fp8.h>

#include <type_traits>

#include "cuda/quant/prepass_quantize.cuh"

namespace sageattn::cuda::prepass {

// lse_shift = float(sm_scale * (q . k_mean) in fp64), channels summed in order like the CPU: the
// products are exact in fp64, so fused or not the sum rounds identically. Reads the tile's rows
// from its shared-memory stage.
// Optional stages (LSE, smooth_q) stay out of line: inlined, their registers would count against
// the occupancy of every tile of the memory-bound kernel. They take the tile's extent, never the
// TileValues: a reference to it would move the tile's registers to local memory.
template <int D>
__device__ __noinline__ void write_lse_shift(const PrepassParams& p, const TileScratch<D>& s,
                                             const std::uint16_t* stage, std::int64_t head,
                                             std::int64_t first, int rows) {
  // A thread per row. The lanes' rows are 2 * D bytes apart, so the same channel of a warp's 32
  // rows lies in one shared-memory bank (32-way conflicts); lane l reads channel t - l at step t
  // instead, which spreads the warp's reads over the banks (2-way at most) and still sums each row
  // in channel order. 31 extra steps per row.
  const int lane = threadIdx.x % 32;
  for (int warp_row = threadIdx.x - lane; warp_row < rows; warp_row += kThreads) {
    const int r = warp_row + lane;
    const bool live = r < rows && first + r < p.layout.len_q;
    double dot = 0.0;
    for (int t = 0; t < D + 31; ++t) {
      const int d = t - lane;
      if (live && d >= 0 && d < D) {
        dot += static_cast<double>(element_to_float(stage[r * D + d], p.bf16)) * s.k_mean[d];
      }
    }
    if (live) {
      buffer<float>(p, p.layout.lse_shift)[head * p.layout.len_q + first + r] =
          static_cast<float>(static_cast<double>(p.sm_scale) * dot);
    }
  }
}

// smooth_q, after the block's fp64 channel sums over its `count` real rows are in s.q_sums: the
// means into s.q_mean, and q_mean_logits[block, j] = float(mean . (k_j - k_mean) in fp64) *
// sm_scale * log2(e).
template <int D>
__device__ __noinline__ void smooth_q_block(const PrepassParams& p, TileScratch<D>& s,
                                            std::int64_t b, std::int64_t head_q,
                                            std::int64_t q_block, std::int64_t count) {
  for (int d = threadIdx.x; d < D; d += kThreads)
    s.q_mean[d] = quant::mean_from_sum(s.q_sums[d], count);
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
      for (int c = 0; c < kChannelsPerThread; ++c)
        dot += static_cast<double>(s.q_mean[d0 + c]) * (x[c] - s.k_mean[d0 + c]);
    }
    logits[j] = static_cast<float>(dot) * factor;
  }
}

// Q and K tiles share the code layout: codes [head][padded tokens][code_dim], scales
// [head][scale count] with a tile's groups consecutive; only the group rule differs.
template <int D, bool kBf16>
__device__ void quantize_codes(const PrepassParams& p, TileScratch<D>& s,
                               const TileValues<D, kBf16>& t, std::int64_t head, std::int64_t block,
                               bool is_q) {
  const int groups = is_q ? quant::q_groups_per_block(p.granularity, p.tile)
                          : quant::k_groups_per_block(p.granularity, p.tile);
  auto group_of = [&](int row) {
    const std::int64_t token = t.first + row;
    const int group = is_q ? quant::q_scale_group(token, p.granularity, p.tile)
                           : quant::k_scale_group(token, p.granularity, p.tile);
    return group - static_cast<int>(block) * groups;
  };
  const std::int64_t code_dim = p.qmax == quant::kInt4Max ? D / 2 : D;
  const std::int64_t pad = is_q ? p.layout.q_pad : p.layout.k_pad;
  const int scale_count = is_q ? p.q_scale_count : p.k_scale_count;
  // A thread's rows are kRows (16 or 32) apart: one K group at every granularity (per thread,
  // tokens group by (t % 8) / 2), one Q group only per block.
  const bool rows_share_group = !is_q || p.granularity == quant::Granularity::kPerBlock;
  quantize_tile(p, t, groups, group_of, rows_share_group, s.amax, s.inv, s.row_group,
                buffer<std::int8_t>(p, is_q ? p.layout.q_codes : p.layout.k_codes) +
                    (head * pad + t.first) * code_dim,
                buffer<float>(p, is_q ? p.layout.q_scales : p.layout.k_scales) +
                    head * scale_count + block * groups,
                is_q);
}

// The tile functions below get their tile already staged (tile_copy.cuh) and its head's statistics
// in shared memory.
template <int D, bool kBf16>
__device__ void quantize_q_tile(const PrepassParams& p, TileScratch<D>& s, std::int64_t head,
                                std::int64_t q_block, TileValues<D, kBf16>& t) {
  const std::int64_t b = head / p.layout.heads_q;
  const std::int64_t h = head % p.layout.heads_q;
  if (p.want_lse) write_lse_shift(p, s, t.stage, head, t.first, t.rows);
  if (p.smooth_q) {
    for (int d = threadIdx.x; d < D; d += kThreads) s.q_sums[d] = 0.0;
    __syncthreads();
#pragma unroll 2
    for (int i = 0; i < t.passes(); ++i) {
      if (!t.real(i)) continue;
      float x[kChannelsPerThread];
      t.values(i, x);
#pragma unroll
      for (int c = 0; c < kChannelsPerThread; ++c)
        atomicAdd(&s.q_sums[TileThreads<D>::channel() + c], static_cast<double>(x[c]));
    }
    __syncthreads();
    smooth_q_block(p, s, b, h, q_block, t.real_rows);
    t.subtract(s.q_mean);
  }

  quantize_codes(p, s, t, head, q_block, true);
}

template <int D, bool kBf16>
__device__ void quantize_k_tile(const PrepassParams& p, TileScratch<D>& s, std::int64_t head,
                                std::int64_t k_block, TileValues<D, kBf16>& t) {
  t.subtract(s.k_mean);
  if (k_block == 0) {
    for (int d = threadIdx.x; d < D; d += kThreads)
      buffer<float>(p, p.layout.k_mean)[head * D + d] = s.k_mean[d];
  }
  quantize_codes(p, s, t, head, k_block, false);
}

// Two channels to e4m3, a in the low byte: the sm89+ conversion instruction, or the same
// rounding in software.
__device__ inline std::uint32_t to_e4m3_pair(float a, float b) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 890
  return static_cast<std::uint16_t>(
      __nv_cvt_float2_to_fp8x2(make_float2(a, b), __NV_SATFINITE, __NV_E4M3));
#else
  return quant::float_to_e4m3(a) | static_cast<std::uint32_t>(quant::float_to_e4m3(b)) << 8;
#endif
}

// V in e4m3, transposed ([D][k_pad]: tokens contiguous per channel) through the tile's own stage.
// Each thread converts 4 consecutive rows x its 8 channels, so every channel's 4 codes leave as one
// 32-bit shared store; the stage holds [D][rows/4] words with word q of channel ch at
// q ^ swizzle(ch), swizzle(ch) = (ch / 8) % (rows / 4). The 16 (D=128) or 8 (D=64) channel groups
// of a warp then hit distinct banks, and the lane groups' quads are spaced by kLanesPerRow so their
// swizzled words stay apart too (a byte per store with a padded pitch was 4-way conflicted and
// 64 stores per thread and tile). Rows are read back 16 bytes at a time, unswizzled in registers.
template <int D, bool kBf16>
__device__ void write_v_fp8_tile(const PrepassParams& p, const TileScratch<D>& s, std::int64_t head,
                                 const TileValues<D, kBf16>& t) {
  constexpr int kLanes = TileThreads<D>::kLanesPerRow;
  // 8 warps x (32 / kLanes) lane groups cover 256 / kLanes quads of 4 rows per pass.
  constexpr int kQuadIters = kLanes / 8;
  const int warp = threadIdx.x / 32;
  const int group = threadIdx.x % 32 / kLanes;
  const int channel = TileThreads<D>::channel();
  // block_k is 64 or 128 (quant/tile_shapes.hpp): quads and chunks per channel are powers of two,
  // so the index arithmetic below is masks and shifts (a runtime division per 16-byte chunk was 6 %
  // of the launch's instructions).
  const int quads = t.rows / 4;
  const int swizzle = (channel / kChannelsPerThread) & (quads - 1);
  float inv[kChannelsPerThread];
#pragma unroll
  for (int c = 0; c < kChannelsPerThread; ++c) inv[c] = s.v_inv[channel + c];
  // The codes wait in registers while the CTA finishes reading the tile. Rows convert in pairs:
  // one cvt gives a channel's codes of two rows (the first row low), one byte_perm joins the
  // quad's two pairs. Without smooth_v the mean is 0 and x - 0 = x: the subtraction is left out
  // rather than predicated off (64 FADDs per thread and tile still issued, ncu, H100).
  std::uint32_t codes[kQuadIters][kChannelsPerThread] = {};
  const auto convert = [&](auto smoothed) {
#pragma unroll
    for (int i = 0; i < kQuadIters; ++i) {
      const int quad = warp + kLanes * group + 8 * i;
      if (quad >= quads) continue;
#pragma unroll
      for (int r = 0; r < 4; r += 2) {
        float x[2][kChannelsPerThread];
#pragma unroll
        for (int k = 0; k < 2; ++k) {
          const int row = 4 * quad + r + k;
          read8_floats(t.stage + row * D + channel, t.bf16, x[k]);
          if (decltype(smoothed)::value && row < t.real_rows) {
#pragma unroll
            for (int c = 0; c < kChannelsPerThread; ++c) x[k][c] -= t.mean[c];
          }
        }
#pragma unroll
        for (int c = 0; c < kChannelsPerThread; ++c) {
          const std::uint32_t pair = to_e4m3_pair(quant::fp8_scaled_input(x[0][c], inv[c]),
                                                  quant::fp8_scaled_input(x[1][c], inv[c]));
          codes[i][c] = r == 0 ? pair : __byte_perm(codes[i][c], pair, 0x5410);
        }
      }
    }
  };
  if (t.smoothed)
    convert(std::true_type{});
  else
    convert(std::false_type{});
  __syncthreads();
  auto* staged = reinterpret_cast<std::uint32_t*>(t.stage);
#pragma unroll
  for (int i = 0; i < kQuadIters; ++i) {
    const int quad = warp + kLanes * group + 8 * i;
    if (quad >= quads) continue;
#pragma unroll
    for (int c = 0; c < kChannelsPerThread; ++c)
      staged[(channel + c) * quads + (quad ^ swizzle)] = codes[i][c];
  }
  __syncthreads();
  // 16-byte chunk m of channel d. kThreads is a multiple of the chunks per channel, so a thread
  // keeps its m and steps d by 32 (rows = 128) or 64 (rows = 64), which moves the channel's
  // swizzle z by a multiple of 4: z % 4, the order of the words within the chunk, is fixed per
  // thread, and both addresses advance by constants.
  const int chunks_per_channel = quads / 4;
  const int chunk_shift = __ffs(chunks_per_channel) - 1;
  const int m = threadIdx.x & (chunks_per_channel - 1);
  const int first_d = threadIdx.x >> chunk_shift;
  const int d_step = kThreads >> chunk_shift;
  const int word_order = (first_d / kChannelsPerThread) & 3;
  const std::uint32_t* from = staged + first_d * quads;
  std::uint8_t* to = buffer<std::uint8_t>(p, p.layout.v_fp8) + head * D * p.layout.k_pad + t.first +
                     first_d * p.layout.k_pad + 16 * m;
  for (int d = first_d; d < D; d += d_step) {
    const int z = (d / kChannelsPerThread) & (quads - 1);
    // Logical words 4m..4m+3 sit in the aligned group m ^ (z / 4), word k at k ^ (z % 4).
    const uint4 w = *reinterpret_cast<const uint4*>(from + 4 * (m ^ (z >> 2)));
    const uint4 odd = (word_order & 1) ? make_uint4(w.y, w.x, w.w, w.z) : w;
    const uint4 row = (word_order & 2) ? make_uint4(odd.z, odd.w, odd.x, odd.y) : odd;
    *reinterpret_cast<uint4*>(to) = row;
    from += d_step * quads;
    to += d_step * p.layout.k_pad;
  }
}

// V: smoothed, then fp16 [Nk_pad, D], or fp8 e4m3 transposed [D, Nk_pad] through shared memory
// so each channel's tokens leave as contiguous 16-byte stores.
template <int D, bool kBf16>
__device__ void quantize_v_tile(const PrepassParams& p, TileScratch<D>& s, std::int64_t head,
                                std::int64_t k_block, TileValues<D, kBf16>& t) {
  if (p.smooth_v) t.subtract(s.v_mean);  // the mean is 0 otherwise
  if (k_block == 0) {
    for (int d = threadIdx.x; d < D; d += kThreads) {
      buffer<float>(p, p.layout.v_mean)[head * D + d] = s.v_mean[d];
      buffer<float>(p, p.layout.v_scales)[head * D + d] = s.v_scale[d];
    }
  }
  if (!p.fp8_v) {
    auto* out = buffer<std::uint16_t>(p, p.layout.v_fp16) + (head * p.layout.k_pad + t.first) * D;
#pragma unroll 2
    for (int i = 0; i < t.passes(); ++i) {
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
  write_v_fp8_tile(p, s, head, t);
}

// Shared memory of launch 2: a ring of tile stages (the tile being quantized and the next one's
// copies in flight) and the per-head / per-tile scratch. At D=128, 68 KB: three CTAs per SM.
// Three stages (100 KB, two CTAs per SM) measured slower on H100: quantize launch 78 -> 88 us at
// hd128 N = 1k (bench/NOTES.md, v14).
inline constexpr int kQuantizeStages = 2;
template <int D>
struct QuantizeSmem {
  alignas(16) std::uint16_t stages[kQuantizeStages][kMaxTileRows * D];
  TileScratch<D> scratch;
};
inline constexpr int kQuantizeCtasPerSm = 3;

// __grid_constant__: the out-of-line stages take the parameters by reference; without it that
// address made every thread copy the 328-byte struct to local memory (1 GB of local stores per
// B=4 H=32 N=16k pre-pass) and read its fields back from there.
// One instantiation per element type (kBf16 = p.bf16): a branch on it inside the tile loop cost
// 3-4 instructions per row and pass; both element types' tile code in one kernel made ptxas spill
// the loop state (40 bytes).
template <int D, bool kBf16>
__global__ void __launch_bounds__(kThreads, kQuantizeCtasPerSm)
    quantize_kernel(const __grid_constant__ PrepassParams p) {
  extern __shared__ __align__(16) unsigned char smem_bytes[];
  auto& smem = *reinterpret_cast<QuantizeSmem<D>*>(smem_bytes);
  TileScratch<D>& s = smem.scratch;
  // The attention kernel may be scheduled now: its CTAs wait for this launch to finish before
  // they read the workspace, and take the SMs this launch frees (launch_kernel.cuh).
  allow_dependent_launch();
  // CTA, head and tile indices in 32 bits (the grid and the heads number < 2^31), the split
  // computed on the host: 64-bit divisions here were 6 % of the launch's instructions at N = 1k,
  // and 64-bit loop state took registers that the 80-register budget of 3 CTAs per SM does not
  // have (spills at the loop header, ncu, H100, hd128 N = 1k).
  const QuantizeGrid& grid = p.quantize_grid;
  int cta = static_cast<int>(blockIdx.x);
  const int kind = cta < grid.q_ctas ? 0 : (cta < grid.q_ctas + grid.kv_ctas ? 1 : 2);
  cta -= kind == 0 ? 0 : (kind == 1 ? grid.q_ctas : grid.q_ctas + grid.kv_ctas);
  const int ctas_per_head = kind == 0 ? grid.q_ctas_per_head : grid.kv_ctas_per_head;
  const int head = cta / ctas_per_head;  // batch * heads + head within the batch
  const int heads = static_cast<int>(kind == 0 ? p.layout.heads_q : p.layout.heads_kv);
  const int b = head / heads;
  const int h = head - b * heads;
  const int heads_kv = static_cast<int>(p.layout.heads_kv);
  const int kv_head = kind == 0 ? b * heads_kv + h / (heads / heads_kv) : head;
  const int per_cta = kind == 0 ? grid.q_per_cta : grid.kv_per_cta;
  const int blocks = kind == 0 ? grid.q_blocks : grid.k_blocks;
  const int first = (cta - head * ctas_per_head) * per_cta;
  const int last = min(first + per_cta, blocks);
  const HeadRows in = head_rows(kind == 0 ? p.q : (kind == 1 ? p.k : p.v), b, h);
  const int rows = kind == 0 ? p.tile.block_q : p.tile.block_k;
  const std::int64_t len = kind == 0 ? p.layout.len_q : p.layout.len_kv;
  const std::uint64_t last_use = l2_evict_first_policy();
  auto copy = [&](int block) {
    if (block < last) {
      copy_tile<D>(in, static_cast<std::int64_t>(block) * rows, rows, len, p.vector_loads,
                   smem.stages[(block - first) % kQuantizeStages], last_use);
    }
    commit_copies();
  };
  // The first tiles' copies go out before the statistics (L2 reads that the tiles do not need
  // until they are processed), so the latencies overlap; the last stage is free until the loop
  // starts, so the statistics combine their partials there. The loop's copies leave one group
  // per iteration (empty past the last tile), so one wait count serves every tile: with the two
  // branches of waits ptxas spilled 40 bytes at the loop header (none now).
  for (int k = 0; k < kQuantizeStages - 1; ++k) copy(first + k);
  // Only what the tile kind reads: K needs k_mean, V its mean and scales, Q k_mean for the
  // LSE shift and smooth_q only.
  const bool need_k = kind == 1 || (kind == 0 && (p.want_lse || p.smooth_q));
  if (need_k || kind == 2) wait_for_prerequisite_grid();
  head_statistics<D>(p, kv_head, need_k, kind == 2, s.k_mean, s.v_mean, s.v_scale, s.v_inv,
                     smem.stages[kQuantizeStages - 1]);
  __syncthreads();  // statistics written, their partials read: the last stage is free
  for (int block = first; block < last; ++block) {
    copy(block + kQuantizeStages - 1);
    wait_copies<kQuantizeStages - 1>();
    __syncthreads();  // every thread's copies of this tile have landed
    TileValues<D, kBf16> t;
    t.stage = smem.stages[(block - first) % kQuantizeStages];
    t.first = static_cast<std::int64_t>(block) * rows;
    t.rows = rows;
    t.real_rows = static_cast<int>(
        max(static_cast<std::int64_t>(0), min(static_cast<std::int64_t>(rows), len - t.first)));
    if (kind == 0)
      quantize_q_tile(p, s, head, block, t);
    else if (kind == 1)
      quantize_k_tile(p, s, head, block, t);
    else
      quantize_v_tile(p, s, head, block, t);
    __syncthreads();  // the stage and the tile scratch are read before they are refilled
  }
}

}  // namespace sageattn::cuda::prepass
