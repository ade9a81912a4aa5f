// The Hopper kernel's tile choices and shared-memory layout, in one place.
//
// A work tile is kBlockQ query rows of one (batch, head); a CTA computes its work tiles one after
// another (tile_scheduler.hpp) with one consumer warpgroup per 64 rows (one wgmma M = 64 slab:
// two, or three at hd64, launch.cu) and one producer warpgroup whose first thread issues the TMA
// loads. K/V tiles of kBlockK = 128 keys stream through a ring of kStages buffers.
//
// Shared-memory operand layouts (all K-major, as 8-bit wgmma requires, swizzled by TMA):
//   Q  [kBlockQ rows][D bytes]   row = query token;   swizzle width = D bytes (128B or 64B)
//   K  [128 rows][D bytes]       row = key slot;      row r holds key key_of_slot(r) (below)
//   Vt [D rows][128 bytes]       row = channel;       bytes = keys in natural order, 128B swizzle
//        + 8 rows of e4m3 ones after each stage's tile (kRowSumRows): P V's extra 8 columns are
//        the row sums of P (softmax.hpp)
#pragma once

#include <cstddef>
#include <cstdint>

#include "cuda/common/wgmma.hpp"
#include "quant/tile_shapes.hpp"

namespace sageattn::cuda::sm90 {

// The pre-pass's token groups (Q and K scales); the kernel's query tile may be larger than
// kTile.block_q (hd64), its Q scales are looked up per row.
inline constexpr quant::TileShape kTile = quant::kTileSm90;
inline constexpr int kBlockK = kTile.block_k;
inline constexpr int kWarpgroupThreads = 128;
inline constexpr int kRowsPerConsumer = 64;  // one consumer warpgroup = one m64 wgmma slab
inline constexpr int kProducerRegisters = 24;
inline constexpr int kKStep = 32;  // k of one 8-bit wgmma
inline constexpr std::uint32_t kVGroupStride = 8 * kBlockK;  // bytes between 8-row groups of V^T
// One more 8-row group of V^T whose bytes are all e4m3 1.0 (0x38): P V with N = D + 8 gives the
// row sums of P in its last 8 columns, which saves the softmax an FADD per probability. On H100:
// hd64 -6 to -7 % of the kernel's time at 4k-16k (bench/NOTES.md, v11); hd128 -4 to -6 % once the
// consumers take turns at the tensor core (v13; without the turns its longer P V on each
// warpgroup's own critical path cost more than the FADDs, v11).
inline constexpr int kRowSumRows = 8;
inline constexpr std::uint8_t kE4m3One = 0x38;

// Consumer warpgroups per CTA: two, or three at hd64 only (three hd128 consumers would not fit
// their accumulators in the register file). Checked at compile time and at launch.
inline constexpr int kMaxConsumers = 3;
__host__ __device__ constexpr bool consumers_supported(int head_dim, int consumers) {
  return consumers == 2 || (consumers == kMaxConsumers && head_dim == 64);
}

static_assert(kTile.warp_q == 16, "per-warp Q scales follow the 16-row wgmma slab of a warp");
static_assert(kBlockK == 128, "S = Q K^T is one m64n128 wgmma chain; V^T rows are 128 bytes");

// The S accumulator gives lane l columns 8j + 2(l%4) + {0,1}; the fp8 A fragment of the PV wgmma
// wants k = 4(l%4)..+3 and 16 + 4(l%4)..+3 of each 32-key step. Instead of shuffling P between
// lanes, the K tile is loaded with its rows permuted (TMA walks a 5-D view of K) so that the key
// in S column c is exactly the key the A fragment expects at that register byte:
//   c = e + 2t + 8 j0 + 16 u   holds key   e + 2 j0 + 4t + 16 u   (e, j0 in {0,1}, t in 0..3).
__host__ __device__ constexpr int key_of_slot(int c) {
  return (c & 1) | (((c >> 3) & 1) << 1) | (((c >> 1) & 3) << 2) | ((c >> 4) << 4);
}

// kConsumers consumer warpgroups: 2, or 3 at hd64 (whose Q K^T and P V take half the tensor time
// of hd128's while the softmax of a 64 x 128 slab costs the same, so two warpgroups leave the
// tensor core idle while both are in their softmax; launch.cu says when).
template <int kHeadDim, int kConsumers>
struct KernelTraits {
  static_assert(kHeadDim == 64 || kHeadDim == 128, "head dim 64 or 128");
  static_assert(consumers_supported(kHeadDim, kConsumers),
                "three consumers fit the register file at hd64 only");
  static constexpr int kHeadDimV = kHeadDim;
  static constexpr int kConsumerWarpgroups = kConsumers;
  static constexpr int kBlockQ = kRowsPerConsumer * kConsumerWarpgroups;
  static constexpr int kThreads = kWarpgroupThreads * (1 + kConsumerWarpgroups);
  static constexpr int kConsumerWarps = kConsumerWarpgroups * kWarpgroupThreads / 32;
  // Register split after setmaxnreg: the producer needs a handful, the consumers hold the S, O and
  // per-step PV accumulators. 24 * 128 + 240 * 256 (two consumers) or 24 * 128 + 160 * 384 (three)
  // fits the 64K-register file.
  static constexpr int kConsumerRegisters = kConsumerWarpgroups == 3 ? 160 : 240;
  // K/V tiles per softmax step: two at the head dim kTile names (hd128; consumer.hpp says why).
  static constexpr int kTilesPerStep = kTile.paired_tiles_head_dim == kHeadDim ? 2 : 1;
  // K/V stages: the next step's tiles load while this one computes. hd128 holds two steps (a third
  // measured within 1 %, NOTES v13); hd64's one-tile steps hold three tiles, 1.5-3 % faster than
  // two with the consumers taking turns (v13; no faster before them, v7).
  static constexpr int kStages = kTilesPerStep == 2 ? 4 : 3;
  // Q and K rows are kHeadDim bytes: the swizzle spans one row.
  static constexpr device::SmemSwizzle kQkSwizzle =
      kHeadDim == 128 ? device::SmemSwizzle::k128B : device::SmemSwizzle::k64B;
  static constexpr std::uint32_t kQkGroupStride = 8 * kHeadDim;  // bytes between 8-row groups
  static constexpr int kQBytes = kBlockQ * kHeadDim;
  static constexpr int kKBytes = kBlockK * kHeadDim;
  static constexpr int kVBytes = kHeadDim * kBlockK;  // what TMA writes into a V stage
  static_assert(kTile.pv_row_sums, "the softmax takes l from the P V wgmma (softmax.hpp)");
  static constexpr int kVStageBytes = kVBytes + kRowSumRows * kBlockK;
  static constexpr int kPvColumns = kHeadDim + kRowSumRows;  // N of the P V wgmma

  // Offsets are multiples of 1024 bytes: the swizzle pattern repeats every 1024 bytes and the
  // wgmma descriptors assume a tile starts at phase 0.
  // Q is double-buffered: a persistent CTA loads the Q tile of its next work tile while it still
  // computes the current one (tile_scheduler.hpp).
  static constexpr int kQBuffers = 2;
  struct SharedStorage {
    alignas(1024) std::uint8_t q[kQBuffers][kQBytes];
    alignas(1024) std::uint8_t k[kStages][kKBytes];
    alignas(1024) std::uint8_t v[kStages][kVStageBytes];
    std::uint64_t q_full[kQBuffers];
    std::uint64_t q_empty[kQBuffers];
    std::uint64_t k_full[kStages];
    std::uint64_t v_full[kStages];
    std::uint64_t kv_empty[kStages];
  };
  // Dynamic shared memory is only 16-byte aligned: the kernel rounds its base up to 1024.
  static constexpr std::size_t kSmemBytes = sizeof(SharedStorage) + 1024;
};

}  // namespace sageattn::cuda::sm90
