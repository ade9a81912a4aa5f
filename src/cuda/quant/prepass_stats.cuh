// Pre-pass launch 1: per-chunk statistics of K and V (fp64 channel sums for the means, V's
// channel min/max for the fp8 scales), one CTA per (token chunk, batch x kv head).
#pragma once

#include "cuda/common/element_io.cuh"
#include "cuda/quant/prepass_common.cuh"

namespace sageattn::cuda::prepass {

// Sums of the CTA's per-thread partials into shared memory; exact, so atomics keep the bits.
template <int D>
__device__ void reduce_channel_sums(const double (&partial)[kChannelsPerThread], double* sums) {
#pragma unroll
  for (int i = 0; i < kChannelsPerThread; ++i) atomicAdd(&sums[TileThreads<D>::channel() + i], partial[i]);
}

inline constexpr int kStatsCtasPerSm = 2;  // memory-bound: occupancy before registers

template <int D>
__global__ void __launch_bounds__(kThreads, kStatsCtasPerSm) stats_kernel(PrepassParams p) {
  using Threads = TileThreads<D>;
  __shared__ double k_sums[D];
  __shared__ double v_sums[D];
  __shared__ float v_min[D];
  __shared__ float v_max[D];
  const int chunk = blockIdx.x;
  const std::int64_t kv_head = blockIdx.y;
  const std::int64_t b = kv_head / p.layout.heads_kv;
  const std::int64_t h = kv_head % p.layout.heads_kv;
  for (int d = threadIdx.x; d < D; d += kThreads) {
    k_sums[d] = 0.0;
    v_sums[d] = 0.0;
    v_min[d] = INFINITY;
    v_max[d] = -INFINITY;
  }
  __syncthreads();

  const std::int64_t begin = chunk * p.layout.stats_chunk_len;
  const std::int64_t end = min(p.layout.len_kv, begin + p.layout.stats_chunk_len);
  double k_partial[kChannelsPerThread] = {};
  double v_partial[kChannelsPerThread] = {};
  float lo[kChannelsPerThread];
  float hi[kChannelsPerThread];
#pragma unroll
  for (int i = 0; i < kChannelsPerThread; ++i) {
    lo[i] = INFINITY;
    hi[i] = -INFINITY;
  }
  const bool need_v = p.smooth_v || p.fp8_v;
#pragma unroll 4
  for (std::int64_t n = begin + Threads::row(); n < end; n += Threads::kRows) {
    float x[kChannelsPerThread];
    if (p.smooth_k) {
      load8(token_row(p.k, b, h, n) + Threads::channel(), p.vector_loads, p.bf16, x);
#pragma unroll
      for (int i = 0; i < kChannelsPerThread; ++i) k_partial[i] += x[i];
    }
    if (need_v) {
      load8(token_row(p.v, b, h, n) + Threads::channel(), p.vector_loads, p.bf16, x);
#pragma unroll
      for (int i = 0; i < kChannelsPerThread; ++i) {
        v_partial[i] += x[i];
        lo[i] = fminf(lo[i], x[i]);
        hi[i] = fmaxf(hi[i], x[i]);
      }
    }
  }
  reduce_channel_sums<D>(k_partial, k_sums);
  reduce_channel_sums<D>(v_partial, v_sums);
  // Min/max of signed floats has no shared-memory atomic: fold the rows of each warp with
  // shuffles, then let the warps update the channels one after the other.
#pragma unroll
  for (int i = 0; i < kChannelsPerThread; ++i) {
    float wl = lo[i];
    float wh = hi[i];
    for (int offset = Threads::kLanesPerRow; offset < 32; offset *= 2) {
      wl = fminf(wl, __shfl_xor_sync(0xFFFFFFFFu, wl, offset));
      wh = fmaxf(wh, __shfl_xor_sync(0xFFFFFFFFu, wh, offset));
    }
    lo[i] = wl;
    hi[i] = wh;
  }
  const int warp = threadIdx.x / 32;
  for (int w = 0; w < kThreads / 32; ++w) {
    if (warp == w && threadIdx.x % 32 < Threads::kLanesPerRow) {
#pragma unroll
      for (int i = 0; i < kChannelsPerThread; ++i) {
        const int d = Threads::channel() + i;
        v_min[d] = fminf(v_min[d], lo[i]);
        v_max[d] = fmaxf(v_max[d], hi[i]);
      }
    }
    __syncthreads();
  }

  const StatsView stats = stats_view(p);
  for (int d = threadIdx.x; d < D; d += kThreads) {
    const std::size_t at = (static_cast<std::size_t>(kv_head) * p.layout.stats_chunks + chunk) * D + d;
    stats.k_sum[at] = k_sums[d];
    stats.v_sum[at] = v_sums[d];
    stats.v_min[at] = v_min[d];
    stats.v_max[at] = v_max[d];
  }
}

}  // namespace sageattn::cuda::prepass
