// Pre-pass launch 2, per tile of Q (block_q rows), of K or of V (block_k rows) staged in shared
// memory: smooth, quantize and write the tile in the layout of quantized_layout.hpp, with the
// arithmetic of cpu/emulation_stages.hpp. Each CTA takes several consecutive tiles of one kind and
// head (prepass_tiles.cuh) and rebuilds the head's statistics from launch 1's partials once.
#pragma once

#include "cuda/common/element_io.cuh"
#include "cuda/quant/prepass_common.cuh"
#include "cuda/quant/tile_copy.cuh"
#include "quant/fp8_e4m3.hpp"
#include "quant/granularity.hpp"

namespace sageattn::cuda::prepass {

inline constexpr int kMaxGroupsPerTile = 64;  // q_groups_per_block of kTileSm90 per_thread

template <int D>
struct TileScratch {
  float k_mean[D], v_mean[D], v_scale[D], v_inv[D];
  float amax[kMaxGroupsPerTile];
  float inv[kMaxGroupsPerTile];  // qmax / amax of each group: codes multiply, never divide
  int row_group[kMaxTileRows];   // scale group of each tile row, evaluated once per tile
  double q_sums[D];
  float q_mean[D];
};

// A tile staged in shared memory ([rows][D] 16-bit, tile_copy.cuh), seen by thread row
// r + i * kRows, channels channel()..+7. Values are rebuilt on demand, minus the thread's 8
// channel means (registers, read once per tile) on the real rows; the same fp32 subtraction each
// time, so every use sees the same bits.
// The element type is a template parameter: the kernel picks the instantiation once per launch
// (quantize_kernel), and no row of a tile pays a branch on it.
template <int D, bool kBf16>
struct TileValues {
  static constexpr bool bf16 = kBf16;
  std::uint16_t* stage;  // written back by the V path once the tile is read
  std::int64_t first;
  int rows;
  int real_rows;  // rows before the sequence end: min(rows, len - first), 32-bit
  bool smoothed = false;
  float mean[kChannelsPerThread];
  __device__ int local_row(int i) const {
    return TileThreads<D>::row() + i * TileThreads<D>::kRows;
  }
  // Passes of the CTA over the tile (rows is a multiple of kRows). Row loops run to passes(); run
  // to the largest tile's pass count with a test per row, they paid a branch and its
  // reconvergence per row.
  __device__ int passes() const { return rows / TileThreads<D>::kRows; }
  __device__ bool real(int i) const { return local_row(i) < real_rows; }
  // `channel_means` is shared memory, [D].
  __device__ void subtract(const float* channel_means) {
    smoothed = true;
#pragma unroll
    for (int c = 0; c < kChannelsPerThread; ++c)
      mean[c] = channel_means[TileThreads<D>::channel() + c];
  }
  // The row's 8 staged 16-bit values, two a word, as stored (not smoothed).
  __device__ uint4 words(int i) const {
    return *reinterpret_cast<const uint4*>(stage + local_row(i) * D + TileThreads<D>::channel());
  }
  __device__ void values(int i, float (&x)[kChannelsPerThread]) const {
    const bool minus = smoothed && real(i);
    read8_floats(stage + local_row(i) * D + TileThreads<D>::channel(), bf16, x);
    if (minus) {
#pragma unroll
      for (int c = 0; c < kChannelsPerThread; ++c) x[c] -= mean[c];
    }
  }
};

// The fp32 bits of quant::quantize_symmetric(x, inv, qmax) + 1.5 * 2^23, whose low byte is the
// code in two's complement: for |x * inv| <= 2^22 the sum keeps the integer part in the low
// mantissa bits, and one FFMA rounds the exact product to the nearest integer, ties to even, as the
// CPU's fp64 rint does (quant/int_quant.hpp). No clamp: every x of a group has |x| <= amax, so
// |x * inv| <= qmax (1 + 2^-24). inv = 0 (a group maximum of 0, infinity or NaN) gives code 0 for
// finite x; a non-finite x has inv = 0 and is zeroed by the caller (its FFMA is NaN).
__device__ __forceinline__ std::uint32_t code_bits(float x, float inv) {
  return __float_as_uint(__fmaf_rn(x, inv, 12582912.0f));
}

// |x| of an fp16 or a bf16 value orders like its bits with the sign cleared, NaN above infinity,
// so the largest magnitudes of a row's 8 staged values are unsigned 16-bit SIMD maxima: the two
// halves of the result hold those of the even and the odd channels.
__device__ __forceinline__ std::uint32_t magnitude_max_bits(const uint4& w) {
  constexpr std::uint32_t kMagnitude = 0x7FFF7FFFu;
  return __vmaxu2(__vmaxu2(w.x & kMagnitude, w.y & kMagnitude),
                  __vmaxu2(w.z & kMagnitude, w.w & kMagnitude));
}

// Per-channel range (largest and smallest value, NaN-propagating) of staged rows, two channels a
// word: the smoothed maximum |x - mean| of a channel is max(hi - mean, mean - lo), because fp32
// rounding is monotonic (the CPU subtracts first and then scans: the same fp32 value).
struct ChannelRange {
  std::uint32_t hi[kChannelsPerThread / 2], lo[kChannelsPerThread / 2];

  __device__ explicit ChannelRange(bool bf16) {
    const std::uint32_t minus_inf = bf16 ? 0xFF80FF80u : 0xFC00FC00u;
    const std::uint32_t plus_inf = bf16 ? 0x7F807F80u : 0x7C007C00u;
#pragma unroll
    for (int c = 0; c < kChannelsPerThread / 2; ++c) {
      hi[c] = minus_inf;
      lo[c] = plus_inf;
    }
  }

  __device__ void add(const uint4& row, bool bf16) {
    const std::uint32_t w[kChannelsPerThread / 2] = {row.x, row.y, row.z, row.w};
    if (bf16) {
#pragma unroll
      for (int c = 0; c < kChannelsPerThread / 2; ++c) {
        hi[c] = as_bits(__hmax2_nan(as_bf16x2(hi[c]), as_bf16x2(w[c])));
        lo[c] = as_bits(__hmin2_nan(as_bf16x2(lo[c]), as_bf16x2(w[c])));
      }
    } else {
#pragma unroll
      for (int c = 0; c < kChannelsPerThread / 2; ++c) {
        hi[c] = as_bits(__hmax2_nan(as_half2(hi[c]), as_half2(w[c])));
        lo[c] = as_bits(__hmin2_nan(as_half2(lo[c]), as_half2(w[c])));
      }
    }
  }

  // max over the channels of |x - mean|, NaN if any value was; 0 for no rows (the ranges stay
  // empty: -inf - mean and mean - inf).
  __device__ float smoothed_amax(const float (&mean)[kChannelsPerThread], bool bf16) const {
    float amax = 0.0f;
#pragma unroll
    for (int c = 0; c < kChannelsPerThread; ++c) {
      const int shift = 16 * (c % 2);
      const float high = element_to_float(static_cast<std::uint16_t>(hi[c / 2] >> shift), bf16);
      const float low = element_to_float(static_cast<std::uint16_t>(lo[c / 2] >> shift), bf16);
      amax = quant::max_nan(amax, quant::max_nan(high - mean[c], mean[c] - low));
    }
    return amax;
  }

 private:
  static __device__ __nv_bfloat162 as_bf16x2(std::uint32_t w) {
    return *reinterpret_cast<const __nv_bfloat162*>(&w);
  }
  static __device__ __half2 as_half2(std::uint32_t w) {
    return *reinterpret_cast<const __half2*>(&w);
  }
  template <typename Pair>
  static __device__ std::uint32_t as_bits(Pair pair) {
    return *reinterpret_cast<const std::uint32_t*>(&pair);
  }
};

// The group maxima of a tile (quantize_tile's first pass) into amax[row_group[row]], which holds 0.
// Three ways, by what the rows need:
// - unsmoothed: each row's largest magnitude from the raw bits (magnitude_max_bits), two rows
//   reduced over their lanes in one 16x2 word;
// - smoothed, all of the thread's rows in one group (K at every granularity, Q per block): the
//   per-channel range over the thread's real rows, the mean subtracted once per channel;
// - smoothed, one group per row (Q with smooth_q per warp or per thread): |x - mean| per value.
// Padded rows count as 0 (the CPU's zero padding) or not at all; neither changes a maximum >= 0.
template <int D, bool kBf16>
__device__ void group_maxima(const TileValues<D, kBf16>& t, bool rows_share_group,
                             const int* row_group, float* amax) {
  using Threads = TileThreads<D>;
  const bool leader = threadIdx.x % Threads::kLanesPerRow == 0;
  if (!t.smoothed) {
    static_assert(64 % (2 * Threads::kRows) == 0, "a tile's rows come in pairs of passes");
#pragma unroll 2
    for (int i = 0; i < t.passes(); i += 2) {
      const std::uint32_t a = magnitude_max_bits(t.words(i));
      const std::uint32_t b = magnitude_max_bits(t.words(i + 1));
      // Row i's two maxima in the low halves of the operands, row i + 1's in the high halves.
      std::uint32_t both = __vmaxu2(__byte_perm(a, b, 0x5410), __byte_perm(a, b, 0x7632));
#pragma unroll
      for (int offset = Threads::kLanesPerRow / 2; offset > 0; offset /= 2)
        both = __vmaxu2(both, __shfl_xor_sync(0xFFFFFFFFu, both, offset));
      if (leader) {
        atomic_max_nonnegative(&amax[row_group[t.local_row(i)]],
                               element_to_float(static_cast<std::uint16_t>(both), t.bf16));
        atomic_max_nonnegative(&amax[row_group[t.local_row(i + 1)]],
                               element_to_float(static_cast<std::uint16_t>(both >> 16), t.bf16));
      }
    }
    return;
  }
  if (rows_share_group) {
    ChannelRange range(t.bf16);
#pragma unroll 2
    for (int i = 0; i < t.passes(); ++i) {
      if (t.real(i)) range.add(t.words(i), t.bf16);
    }
    float thread_max = range.smoothed_amax(t.mean, t.bf16);
#pragma unroll
    for (int offset = Threads::kLanesPerRow / 2; offset > 0; offset /= 2)
      thread_max = quant::max_nan(thread_max, __shfl_xor_sync(0xFFFFFFFFu, thread_max, offset));
    if (leader) atomic_max_nonnegative(&amax[row_group[t.local_row(0)]], thread_max);
    return;
  }
#pragma unroll 2
  for (int i = 0; i < t.passes(); ++i) {
    float x[kChannelsPerThread];
    t.values(i, x);
    const float row_max = row_amax<D>(x);
    if (leader) atomic_max_nonnegative(&amax[row_group[t.local_row(i)]], row_max);
  }
}

// quantize_tile's second pass: the codes of the tile's rows (INT8 one a byte, INT4 two a byte, even
// channel low) from the groups' inverse scales. kInt4 and kSharedInv (all of a thread's rows in one
// group, so one inverse scale per tile) are template parameters: the row loop tests neither, and
// the row's address advances by a constant.
template <bool kInt4, bool kSharedInv, int D, bool kBf16>
__device__ void write_codes(const TileValues<D, kBf16>& t, const float* inv, const int* row_group,
                            std::int8_t* codes) {
  using Threads = TileThreads<D>;
  constexpr int kCodeDim = kInt4 ? D / 2 : D;
  const float shared_inv = kSharedInv ? inv[row_group[t.local_row(0)]] : 0.0f;
  std::int8_t* row =
      codes + t.local_row(0) * kCodeDim + (kInt4 ? Threads::channel() / 2 : Threads::channel());
#pragma unroll 2
  for (int i = 0; i < t.passes(); ++i, row += Threads::kRows * kCodeDim) {
    const float row_inv = kSharedInv ? shared_inv : inv[row_group[t.local_row(i)]];
    float x[kChannelsPerThread];
    t.values(i, x);
    std::uint32_t q[kChannelsPerThread];
#pragma unroll
    for (int c = 0; c < kChannelsPerThread; ++c) q[c] = code_bits(x[c], row_inv);
    // A group of maximum 0, infinity or NaN has inv = 0 and codes 0.
    const bool zero = !(row_inv > 0.0f);
    if constexpr (kInt4) {
      std::uint32_t packed = 0;
#pragma unroll
      for (int c = 0; c < kChannelsPerThread; ++c) packed |= (q[c] & 0xF) << (4 * c);
      *reinterpret_cast<std::uint32_t*>(row) = zero ? 0 : packed;
    } else {
      // The low bytes of four codes into one word: two pairs, then the pairs.
      const std::uint32_t lo =
          __byte_perm(__byte_perm(q[0], q[1], 0x0040), __byte_perm(q[2], q[3], 0x0040), 0x5410);
      const std::uint32_t hi =
          __byte_perm(__byte_perm(q[4], q[5], 0x0040), __byte_perm(q[6], q[7], 0x0040), 0x5410);
      *reinterpret_cast<uint2*>(row) = zero ? make_uint2(0, 0) : make_uint2(lo, hi);
    }
  }
}

// Symmetric quantization of the tile: group maxima in shared memory, then codes (INT8 one a byte,
// INT4 two a byte, even channel low) into `codes` (the tile's first row) and the group scales.
// group_of(local row) gives the group within the tile; rows_share_group says that the rows of one
// thread (local rows congruent mod TileThreads::kRows) always fall in one group.
template <int D, bool kBf16, typename GroupOf>
__device__ void quantize_tile(const PrepassParams& p, const TileValues<D, kBf16>& t, int groups,
                              GroupOf group_of, bool rows_share_group, float* amax, float* inv,
                              int* row_group, std::int8_t* codes, float* scales,
                              bool fold_sm_scale) {
  for (int g = threadIdx.x; g < groups; g += kThreads) amax[g] = 0.0f;
  // The group rule (64-bit token arithmetic) once per row rather than once per thread and row.
  for (int row = threadIdx.x; row < t.rows; row += kThreads) row_group[row] = group_of(row);
  __syncthreads();
  // The row loops here and in the V paths are unrolled by two, not fully: fully unrolled, each
  // tile kind's copy made the launch 160 KB of code (114 KB now), and its warps stalled on
  // instruction fetch (16 % of stall samples, ncu, H100, hd128 N = 1k).
  group_maxima(t, rows_share_group, row_group, amax);
  __syncthreads();
  // One division per group, here, instead of one per element.
  for (int g = threadIdx.x; g < groups; g += kThreads) {
    const float scale = quant::symmetric_scale(amax[g], p.qmax);
    scales[g] = fold_sm_scale ? quant::fold_q_scale(scale, p.sm_scale) : scale;
    inv[g] = quant::symmetric_inverse_scale(amax[g], p.qmax);
  }
  __syncthreads();
  const bool int4 = p.qmax == quant::kInt4Max;
  if (int4 && rows_share_group)
    write_codes<true, true>(t, inv, row_group, codes);
  else if (int4)
    write_codes<true, false>(t, inv, row_group, codes);
  else if (rows_share_group)
    write_codes<false, true>(t, inv, row_group, codes);
  else
    write_codes<false, false>(t, inv, row_group, codes);
}

}  // namespace sageattn::cuda::prepass
