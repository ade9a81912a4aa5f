// Shared-memory tiles of the mma.sync kernel and their cp.async loads. Every row is padded by 16
// bytes: the 8 row addresses of one ldmatrix then start 4 banks apart (row pitch = 4 mod 32
// words for all pitches used here), so each 8x16-byte matrix is read without bank conflicts.
#pragma once

#include <cstdint>

#include "cuda/common/mma.cuh"
#include "cuda/sm80/params.hpp"

namespace sageattn::cuda::sm80 {

inline constexpr int kRowPad = 16;

template <int D, QkCodes kQk, PvMode kPv>
struct SmemLayout {
  static constexpr int kCodeBytes = kQk == QkCodes::kInt4 ? D / 2 : D;
  static constexpr int kCodePitch = kCodeBytes + kRowPad;
  static constexpr bool kFp8 = kPv == PvMode::kFp8;
  // fp8 V is stored transposed ([D][keys]); fp16 V token-major ([keys][D]).
  static constexpr int kVRows = kFp8 ? D : kTile.block_k;
  static constexpr int kVRowBytes = kFp8 ? kTile.block_k : 2 * D;
  static constexpr int kVPitch = kVRowBytes + kRowPad;

  static constexpr int kQBytes = kTile.block_q * kCodePitch;
  static constexpr int kKBytes = kTile.block_k * kCodePitch;
  static constexpr int kVBytes = kVRows * kVPitch;
  static constexpr int kStages = 2;  // double buffer: tile j+1 loads while tile j computes
  static constexpr int kTotal = kQBytes + kStages * (kKBytes + kVBytes);

  static __device__ std::uint8_t* q(std::uint8_t* base) { return base; }
  static __device__ std::uint8_t* k(std::uint8_t* base, int stage) {
    return base + kQBytes + stage * kKBytes;
  }
  static __device__ std::uint8_t* v(std::uint8_t* base, int stage) {
    return base + kQBytes + kStages * kKBytes + stage * kVBytes;
  }
};

// rows x row_bytes from a dense global block (row stride global_pitch) into a padded smem tile.
// Each thread keeps one column and steps through rows: the addresses are one base plus constant
// multiples, so they cost no registers to keep across the main loop.
template <int kRows, int kRowBytes, int kPitch>
__device__ __forceinline__ void load_tile_async(std::uint8_t* smem, const std::uint8_t* global,
                                                std::int64_t global_pitch) {
  constexpr int kChunksPerRow = kRowBytes / 16;
  constexpr int kRowsPerPass = kThreads / kChunksPerRow;
  static_assert(kThreads % kChunksPerRow == 0 && kRows % kRowsPerPass == 0);
  const int row = threadIdx.x / kChunksPerRow;
  const int col = (threadIdx.x % kChunksPerRow) * 16;
  smem += row * kPitch + col;
  global += row * global_pitch + col;
#pragma unroll
  for (int i = 0; i < kRows / kRowsPerPass; ++i) {
    cp_async_16(smem + i * kRowsPerPass * kPitch, global + i * kRowsPerPass * global_pitch);
  }
}

}  // namespace sageattn::cuda::sm80
