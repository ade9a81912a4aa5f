// Pre-pass launch 1: per-chunk statistics of K and V (fp64 channel sums for the means, V's
// channel min/max for the fp8 scales), one CTA per (token chunk, batch x kv head). The chunk
// streams through shared memory in tiles of kStatsTileRows rows, the next tile's copies in flight
// while this one is added up (tile_copy.cuh).
#pragma once

#include "cuda/common/element_io.cuh"
#include "cuda/quant/prepass_common.cuh"
#include "cuda/quant/tile_copy.cuh"

namespace sageattn::cuda::prepass {

inline constexpr int kStatsCtasPerSm = 3;
inline constexpr int kStatsTileRows = 64;

// Shared memory of the statistics launch: two stages of a K tile and a V tile. After the last
// tile the same bytes hold the per-thread partials for the reduction over the CTA.
template <int D>
struct StatsSmem {
  alignas(16) std::uint16_t k[2][kStatsTileRows * D];
  alignas(16) std::uint16_t v[2][kStatsTileRows * D];
};

// One thread's running statistics over its channels channel()..+7 and rows row() + i * kRows.
struct ChannelStats {
  double k_sum[kChannelsPerThread] = {};
  double v_sum[kChannelsPerThread] = {};
  float v_min[kChannelsPerThread];
  float v_max[kChannelsPerThread];

  __device__ ChannelStats() {
#pragma unroll
    for (int i = 0; i < kChannelsPerThread; ++i) {
      v_min[i] = INFINITY;
      v_max[i] = -INFINITY;
    }
  }

  // Folds the rows of a warp: lanes kLanesPerRow apart hold the same channels.
  template <int D>
  __device__ void fold_warp() {
#pragma unroll
    for (int c = 0; c < kChannelsPerThread; ++c) {
#pragma unroll
      for (int offset = TileThreads<D>::kLanesPerRow; offset < 32; offset *= 2) {
        k_sum[c] += __shfl_xor_sync(0xFFFFFFFFu, k_sum[c], offset);
        v_sum[c] += __shfl_xor_sync(0xFFFFFFFFu, v_sum[c], offset);
        v_min[c] = fminf(v_min[c], __shfl_xor_sync(0xFFFFFFFFu, v_min[c], offset));
        v_max[c] = fmaxf(v_max[c], __shfl_xor_sync(0xFFFFFFFFu, v_max[c], offset));
      }
    }
  }
};

// Adds a staged tile's real rows into `stats`: only the statistics the options use (fp64
// conversions and adds run at 1/4 and 1/2 of the fp32 rate, and V's sum is unused without
// smooth_v, the default). Rows past the sequence end were staged as zeros: they leave the sums
// alone, and V's min/max skips them.
template <int D>
__device__ void add_tile(const PrepassParams& p, const std::uint16_t* k, const std::uint16_t* v,
                         int real_rows, ChannelStats& stats) {
  using Threads = TileThreads<D>;
#pragma unroll
  for (int i = 0; i < kStatsTileRows / Threads::kRows; ++i) {
    const int row = Threads::row() + i * Threads::kRows;
    const int at = row * D + Threads::channel();
    float x[kChannelsPerThread];
    if (p.smooth_k) {
      read8_floats(k + at, p.bf16, x);
#pragma unroll
      for (int c = 0; c < kChannelsPerThread; ++c) stats.k_sum[c] += x[c];
    }
    if (!p.smooth_v && !p.fp8_v) continue;
    read8_floats(v + at, p.bf16, x);
#pragma unroll
    for (int c = 0; c < kChannelsPerThread; ++c) {
      if (p.smooth_v) stats.v_sum[c] += x[c];
      if (row < real_rows) {
        stats.v_min[c] = fminf(stats.v_min[c], x[c]);
        stats.v_max[c] = fmaxf(stats.v_max[c], x[c]);
      }
    }
  }
}

template <int D>
__global__ void __launch_bounds__(kThreads, kStatsCtasPerSm)
    stats_kernel(const __grid_constant__ PrepassParams p) {
  using Threads = TileThreads<D>;
  extern __shared__ __align__(16) unsigned char smem_bytes[];
  auto& smem = *reinterpret_cast<StatsSmem<D>*>(smem_bytes);
  const int chunk = blockIdx.x;
  const std::int64_t kv_head = blockIdx.y;
  const std::int64_t b = kv_head / p.layout.heads_kv;
  const std::int64_t h = kv_head % p.layout.heads_kv;
  const std::int64_t begin = chunk * p.layout.stats_chunk_len;
  const std::int64_t end = min(p.layout.len_kv, begin + p.layout.stats_chunk_len);
  const bool need_v = p.smooth_v || p.fp8_v;
  const HeadRows k_rows = head_rows(p.k, b, h);
  const HeadRows v_rows = head_rows(p.v, b, h);
  const std::uint64_t normal = l2_evict_normal_policy();
  auto copy = [&](std::int64_t first, int stage) {
    if (p.smooth_k) {
      copy_tile<D>(k_rows, first, kStatsTileRows, end, p.vector_loads, smem.k[stage], normal);
    }
    if (need_v) {
      copy_tile<D>(v_rows, first, kStatsTileRows, end, p.vector_loads, smem.v[stage], normal);
    }
    commit_copies();
  };

  // The quantize launch may now be scheduled beside this one (prepass.cu, dependent_launch.hpp).
  allow_dependent_launch();
  ChannelStats stats;
  if (begin < end) copy(begin, 0);  // the last chunks can be empty (quantized_layout.hpp)
  int stage = 0;
  for (std::int64_t first = begin; first < end; first += kStatsTileRows, stage ^= 1) {
    if (first + kStatsTileRows < end) {
      copy(first + kStatsTileRows, stage ^ 1);
      wait_copies<1>();
    } else {
      wait_copies<0>();
    }
    __syncthreads();  // every thread's copies of this tile have landed
    add_tile<D>(p, smem.k[stage], smem.v[stage], static_cast<int>(end - first), stats);
    __syncthreads();  // the stage is read before the next iteration refills it
  }

  // The rows of a warp fold through shuffles (lanes kLanesPerRow apart share channels), each
  // warp's partials go to the stage memory, then one thread per channel adds up the warps. The
  // fp64 sums are exact (prepass_common.cuh), so the order does not change the bits.
  // A lane's 8 channels sit kPartPitch = 9 elements apart from the next lane's: with a pitch of 8
  // the 16 lanes of one store hit the same banks (8-way for the doubles), which made the
  // launch's shared-memory wavefronts half excess (ncu, N = 1k: 1.3M of 2.8M).
  stats.fold_warp<D>();
  constexpr int kWarps = kThreads / 32;
  constexpr int kPartPitch = kChannelsPerThread + 1;
  constexpr int kWarpPart = Threads::kLanesPerRow * kPartPitch;
  const auto part_at = [](int warp, int channel) {
    return warp * kWarpPart + channel / kChannelsPerThread * kPartPitch +
           channel % kChannelsPerThread;
  };
  auto* k_part = reinterpret_cast<double*>(smem_bytes);  // [kWarps][kWarpPart] each
  double* v_part = k_part + kWarps * kWarpPart;
  auto* min_part = reinterpret_cast<float*>(v_part + kWarps * kWarpPart);
  float* max_part = min_part + kWarps * kWarpPart;
  static_assert(sizeof(StatsSmem<D>) >= kWarps * kWarpPart * (8 + 8 + 4 + 4),
                "partials fit the stages");
  const int warp = threadIdx.x / 32;
  if (threadIdx.x % 32 < Threads::kLanesPerRow) {
#pragma unroll
    for (int c = 0; c < kChannelsPerThread; ++c) {
      const int at = part_at(warp, Threads::channel() + c);
      k_part[at] = stats.k_sum[c];
      v_part[at] = stats.v_sum[c];
      min_part[at] = stats.v_min[c];
      max_part[at] = stats.v_max[c];
    }
  }
  __syncthreads();
  const StatsView out = stats_view(p);
  for (int d = threadIdx.x; d < D; d += kThreads) {
    double k_sum = 0.0;
    double v_sum = 0.0;
    float v_min = INFINITY;
    float v_max = -INFINITY;
    for (int w = 0; w < kWarps; ++w) {
      const int at = part_at(w, d);
      k_sum += k_part[at];
      v_sum += v_part[at];
      v_min = fminf(v_min, min_part[at]);
      v_max = fmaxf(v_max, max_part[at]);
    }
    const std::size_t at =
        (static_cast<std::size_t>(kv_head) * p.layout.stats_chunks + chunk) * D + d;
    out.k_sum[at] = k_sum;
    out.v_sum[at] = v_sum;
    out.v_min[at] = v_min;
    out.v_max[at] = v_max;
  }
}

}  // namespace sageattn::cuda::prepass
