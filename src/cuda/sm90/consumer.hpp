// A consumer warpgroup: 64 query rows against every K/V tile of the work tile.
//   S  = Q K^T       INT8 wgmma m64n128k32, Q and K from shared memory, s32 accumulator
//   P  = softmax     dequantised in registers (softmax.hpp), packed to e4m3 A fragments
//   Ot = P V         FP8 wgmma m64n(D+8)k32, P from registers, V^T from shared memory, a fresh
//                    f32 accumulator per softmax step (the two-level accumulation: the tensor
//                    core's fp8 accumulate keeps fewer mantissa bits than fp32 over long
//                    sequences); its last 8 columns are P's row sums (ones after V^T)
//   O  = O * alpha + Ot   in fp32 registers (one FFMA per element)
#pragma once

#include "cuda/common/mbarrier.hpp"
#include "cuda/common/wgmma.hpp"
#include "cuda/sm90/epilogue.hpp"
#include "cuda/sm90/issue_turns.hpp"
#include "cuda/sm90/kernel_traits.hpp"
#include "cuda/sm90/softmax.hpp"
#include "cuda/sm90/tile_scheduler.hpp"

namespace sageattn::cuda::sm90 {

// The first row of a [tiles][n] array, as a [1][n] array (a one-tile softmax step).
template <typename T, int kTiles, int kN>
__device__ __forceinline__ T (&first_of(T (&a)[kTiles][kN]))[1][kN] {
  return reinterpret_cast<T(&)[1][kN]>(a);
}

template <int kHeadDim>
__device__ __forceinline__ void qk_gemm(std::uint64_t desc_q, std::uint64_t desc_k,
                                        std::int32_t (&s)[kSFragment]) {
  constexpr int kSteps = kHeadDim / kKStep;
  std::uint64_t desc_a[kSteps], desc_b[kSteps];
#pragma unroll
  for (int kk = 0; kk < kSteps; ++kk) {
    desc_a[kk] = device::advance_descriptor(desc_q, kk * kKStep);
    desc_b[kk] = device::advance_descriptor(desc_k, kk * kKStep);
  }
  if constexpr (kHeadDim == 128) {
    device::wgmma_s8_m64n128_k128(s, desc_a, desc_b);
  } else {
    device::wgmma_s8_m64n128_k64(s, desc_a, desc_b);
  }
}

// The PV wgmma descriptors of one stage's V^T tile, one per k-step.
template <int kHeadDim>
__device__ __forceinline__ void pv_descriptors(const std::uint8_t* v_tile,
                                               std::uint64_t (&desc_b)[kPvSteps]) {
  const std::uint64_t desc_v = device::make_smem_descriptor(v_tile, device::SmemSwizzle::k128B,
                                                            kVGroupStride);
#pragma unroll
  for (int kk = 0; kk < kPvSteps; ++kk)
    desc_b[kk] = device::advance_descriptor(desc_v, kk * kKStep);
  device::fence_registers(desc_b);
}

// P V (N = kPvColumns = D + 8): D columns, then the row sums of P in the accumulator's last 4
// registers, 2 per row, the thread's two ones columns of the row (kernel_traits.hpp). With
// kAccumulate (a step's second tile) the product adds to acc.
template <int kPvColumns, bool kAccumulate>
__device__ __forceinline__ void pv_gemm(std::uint32_t (&p_fp8)[kPvSteps][4],
                                        const std::uint64_t (&desc_b)[kPvSteps],
                                        float (&acc)[kPvColumns / 2]) {
  static_assert(kPvColumns == 136 || (kPvColumns == 72 && !kAccumulate),
                "P V chains with row sums: hd128 (one or two tiles per step), hd64 (one)");
  if constexpr (kPvColumns == 136) {
    device::wgmma_e4m3_m64n136_k128<kAccumulate>(acc, p_fp8, desc_b);
  } else {
    device::wgmma_e4m3_m64n72_k128(acc, p_fp8, desc_b);
  }
}

// Why no software pipeline inside a warpgroup (FA3 issues Q K^T of tile i+1 before P V of tile i
// and overlaps its softmax with that P V): at hd128 it needs S, the PV accumulator, O and two P
// fragments live at once, over the 240 registers of a consumer thread. With the PV split into two
// D/2 halves (a 32-register accumulator) it fits without spills, but measured +1% at hd128 16k
// and 2-5% slower at hd64 and at 1k (bench/NOTES.md, v6). Instead the consumer warpgroups take
// turns at the tensor core (issue_turns.hpp): one's softmax runs while another's GEMMs do.
// `consumer` is the warpgroup's index among the consumers; `thread` its thread index (0..127).
// `work_index` counts the work tiles this CTA computed before `w`, `kv_base` the K/V tiles it
// consumed: they place `w` in the Q and K/V rings.
template <int kHeadDim, int kConsumers, typename Out>
__device__ __forceinline__ void consume(
    const KernelParams& p, const WorkTile& w,
    typename KernelTraits<kHeadDim, kConsumers>::SharedStorage& smem, int consumer, int thread,
    int work_index, int kv_base) {
  using Traits = KernelTraits<kHeadDim, kConsumers>;
  const int warp = thread / 32;
  const int lane = thread % 32;
  const int lane_t = lane % 4;
  const int q0 = w.q_tile * Traits::kBlockQ;
  const int rows[2] = {q0 + consumer * kRowsPerConsumer + warp * 16 + lane / 4,
                       q0 + consumer * kRowsPerConsumer + warp * 16 + lane / 4 + 8};
  const int kv_head = kv_head_of(p, w.head);
  // Rows g and g+8 share their Q scale group at every granularity (granularity.hpp, warp_q = 16).
  // A query tile larger than the pre-pass's blocks (hd64) can reach past q_pad: those rows are
  // computed from whatever Q bytes lie there but never stored, and read a real row's scale so the
  // read stays inside the head's scales.
  const int scale_row =
      Traits::kBlockQ > kTile.block_q ? min(rows[0], p.len_q - 1) : rows[0];
  const float q_scale = p.q_scales[static_cast<std::int64_t>(w.head) * p.q_scale_count +
                                   quant::q_scale_group(scale_row, p.granularity, kTile)];
  const float* k_scales = p.k_scales + static_cast<std::int64_t>(kv_head) * p.k_scale_count;
  // K scale of this thread's keys: group tile * k_groups_per_tile + k_group_in_tile[j0] (the same
  // as quant::k_scale_group of the key, without its divisions in the loop).
  const int k_groups_per_tile = quant::k_groups_per_block(p.granularity, kTile);
  int k_group_in_tile[2];
#pragma unroll
  for (int j0 = 0; j0 < 2; ++j0) {
    k_group_in_tile[j0] =
        quant::k_scale_group(key_of_slot(8 * j0 + 2 * lane_t), p.granularity, kTile);
  }
  const int causal_offset = p.len_kv - p.len_q;
  int row_limit[2];
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    row_limit[h] = p.causal ? min(p.len_kv, rows[h] + causal_offset + 1) : p.len_kv;
  }

  const int q_buffer = work_index % Traits::kQBuffers;
  const std::uint64_t desc_q =
      device::make_smem_descriptor(smem.q[q_buffer] + consumer * kRowsPerConsumer * kHeadDim,
                                   Traits::kQkSwizzle, Traits::kQkGroupStride);
  // Ring slot and phase of the work tile's K/V tile `tile` (unsigned: a mask and a shift).
  const auto stage_of = [&](int tile) {
    return static_cast<int>(static_cast<unsigned>(kv_base + tile) % Traits::kStages);
  };
  const auto parity = [&](int tile) {
    return (static_cast<unsigned>(kv_base + tile) / Traits::kStages) & 1;
  };
  const auto desc_k = [&](int tile) {
    return device::make_smem_descriptor(smem.k[stage_of(tile)], Traits::kQkSwizzle,
                                        Traits::kQkGroupStride);
  };
  constexpr int kStep = Traits::kTilesPerStep;
  OnlineSoftmax softmax;
  float o[kHeadDim / 2];
#pragma unroll
  for (int i = 0; i < kHeadDim / 2; ++i) o[i] = 0.0f;
  std::int32_t s[kStep][kSFragment];
  std::uint32_t p_fp8[kStep][kPvSteps][4];
  float alpha[2];
  // Calls f(t) for the tiles t of a step of `tiles` tiles (unrolled over kStep; the first always).
  const auto for_each_step_tile = [](int tiles, auto&& f) {
#pragma unroll
    for (int t = 0; t < kStep; ++t) {
      if (t > 0 && t >= tiles) break;
      f(t);
    }
  };
  // The K scales of the thread's two K scale groups (even / odd S column chunks) of the tiles
  // `tile` .. `tile` + `tiles` - 1.
  const auto load_k_scales = [&](int tile, int tiles, auto& k_scale) {
    for_each_step_tile(tiles, [&](int t) {
#pragma unroll
      for (int j0 = 0; j0 < 2; ++j0) {
        k_scale[t][j0] = k_scales[(tile + t) * k_groups_per_tile + k_group_in_tile[j0]];
      }
    });
  };
  // Tiles in the step that starts at `tile`: two at hd128 when both need no mask, else one (a
  // masked step of two would run the masked softmax on a tile that needs none; pairs across the
  // diagonal measured 5 % slower at causal 1k, NOTES v12).
  const auto step_tiles = [&](int tile) {
    return kStep > 1 && tile + 1 < w.kv_tiles && (tile + 2) * kBlockK <= w.unmasked_end ? 2 : 1;
  };
  // S of the step starting at `tile` to P. At hd128 a one-tile step takes the masked softmax
  // even where its tile needs no mask (a causal tile just below the diagonal, or the last of an
  // odd count): a third softmax body (one tile, unmasked) made ptxas spill an O register around
  // every step's fold, and measured slower than the masked body on those few tiles (NOTES, v12).
  const auto softmax_step = [&](int tile, int tiles, const float (&k_scale)[kStep][2]) {
    if constexpr (kStep > 1) {
      if (tiles > 1) {
        const float qk_scale[2][2] = {{q_scale * k_scale[0][0], q_scale * k_scale[0][1]},
                                      {q_scale * k_scale[1][0], q_scale * k_scale[1][1]}};
        const int unused_limit[2][2] = {};
        softmax.template step<false>(s, qk_scale, unused_limit, lane_t, p_fp8, alpha);
        return;
      }
    }
    const int key0 = tile * kBlockK;
    const float qk_scale[1][2] = {{q_scale * k_scale[0][0], q_scale * k_scale[0][1]}};
    const int key_limit[1][2] = {{row_limit[0] - key0, row_limit[1] - key0}};
    if (kStep > 1 || key0 + kBlockK > w.unmasked_end) {
      softmax.template step<true>(first_of(s), qk_scale, key_limit, lane_t, first_of(p_fp8), alpha);
    } else {
      softmax.template step<false>(first_of(s), qk_scale, key_limit, lane_t, first_of(p_fp8),
                                   alpha);
    }
  };

  device::mbarrier_wait(&smem.q_full[q_buffer],
                        static_cast<std::uint32_t>(work_index / Traits::kQBuffers) & 1);

  // The per-step PV accumulator: an in/out operand of the wgmma chain (wgmma.hpp), so defined once.
  constexpr int kAccRegisters = Traits::kPvColumns / 2;
  float acc[kAccRegisters];
#pragma unroll
  for (int i = 0; i < kAccRegisters; ++i) acc[i] = 0.0f;

  const auto issue_qk = [&](int tile, std::int32_t (&s_tile)[kSFragment]) {
    device::mbarrier_wait(&smem.k_full[stage_of(tile)], parity(tile));
    qk_gemm<kHeadDim>(desc_q, desc_k(tile), s_tile);
  };
  // P V of the step's `tiles` tiles into acc. All V descriptors are computed before the first
  // issue (wgmma.hpp).
  const auto issue_pv = [&](int tile, int tiles) {
    std::uint64_t desc_v[kStep][kPvSteps];
#pragma unroll
    for (int t = 0; t < kStep; ++t) pv_descriptors<kHeadDim>(smem.v[stage_of(tile + t)], desc_v[t]);
    device::mbarrier_wait(&smem.v_full[stage_of(tile)], parity(tile));
    pv_gemm<Traits::kPvColumns, false>(p_fp8[0], desc_v[0], acc);
    if constexpr (kStep > 1) {
      if (tiles > 1) {
        device::mbarrier_wait(&smem.v_full[stage_of(tile + 1)], parity(tile + 1));
        pv_gemm<Traits::kPvColumns, true>(p_fp8[1], desc_v[1], acc);
      }
    }
  };
  // Once P V of the step is complete: its stages are released, O = O * alpha + acc and
  // l = l * alpha + the row sums of P.
  const auto fold_pv = [&](int tile, int tiles) {
    device::fence_registers(acc);
    // (A one-tile step leaves the second P undefined: not fenced.)
    for_each_step_tile(tiles, [&](int t) {
#pragma unroll
      for (int kk = 0; kk < kPvSteps; ++kk) device::fence_registers(p_fp8[t][kk]);
    });
    __syncwarp();
    if (lane == 0) {
      for_each_step_tile(tiles, [&](int t) {
        device::mbarrier_arrive(&smem.kv_empty[stage_of(tile + t)]);
      });
    }
#pragma unroll
    for (int i = 0; i < kHeadDim / 2; ++i) o[i] = fmaf(o[i], alpha[(i >> 1) & 1], acc[i]);
    softmax.add_pv_row_sums(acc[kHeadDim / 2], acc[kHeadDim / 2 + 2], alpha);
  };
  // A warpgroup's turn (issue_turns.hpp) is the P V of its previous step, the wait for it, the
  // fold and the Q K^T issue of its next step; its softmax runs between turns, while the other
  // consumers' GEMMs occupy the tensor core. Left to the warp schedulers, the warpgroups drifted
  // into phase (a trace of one CTA at hd128 16k: their softmax overlapped half the time, sharing
  // the exp2 unit while the tensor core idled): the turns measured 2-5 % faster at most shapes
  // (bench/NOTES.md, v13). Issuing the next Q K^T before the wait for P V (so it runs during the
  // fold) does not fit at hd128 (P, the PV accumulator, O and S live at once: ptxas serialises the
  // wgmmas); one tile ahead measured 3-9 % slower in v7.
  // A step of two tiles at hd128 halves the per-step costs that do not scale with its keys: the
  // row maxima and their shuffles, alpha, the fold of O (64 FFMA), the waits and the barrier
  // arrivals (bench/NOTES.md, v12). hd64's three consumers have no registers for a second S.
  // The K scales of a step are read right after its Q K^T issue: read after the wgmma wait (a
  // compiler barrier), their L1 or L2 latency stood between Q K^T and the softmax of every tile
  // (ncu at N = 1k: a third of the stalls were on global loads).
  const IssueTurns<kConsumers> turns(consumer);
  // P V of the step of `tiles` tiles that ends before `end`, then its fold.
  const auto finish_step = [&](int end, int tiles) {
    issue_pv(end - tiles, tiles);
    device::wgmma_wait<0>();
    fold_pv(end - tiles, tiles);
  };
  int previous_tiles = 0;  // of the step before `tile`
  for (int tile = 0, tiles = 0; tile < w.kv_tiles; tile += tiles) {
    tiles = step_tiles(tile);
    float k_scale[kStep][2] = {};
    turns.wait();
    if (previous_tiles > 0) finish_step(tile, previous_tiles);
    issue_qk(tile, s[0]);
    if constexpr (kStep > 1) {
      if (tiles > 1) issue_qk(tile + 1, s[1]);
    }
    turns.pass();
    load_k_scales(tile, tiles, k_scale);
    device::wgmma_wait<0>();
    for_each_step_tile(tiles, [&](int t) { device::fence_registers(s[t]); });
    softmax_step(tile, tiles, k_scale);
    previous_tiles = tiles;
  }
  turns.wait();
  if (previous_tiles > 0) finish_step(w.kv_tiles, previous_tiles);
  turns.pass();
  // Q is read by Q K^T only: the producer may load the next work tile's Q during the epilogue.
  __syncwarp();
  if (lane == 0) device::mbarrier_arrive(&smem.q_empty[q_buffer]);
  store_rows<kHeadDim, Out>(p, w.head, kv_head, rows, softmax, o, lane_t);
}

}  // namespace sageattn::cuda::sm90
