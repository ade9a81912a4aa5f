// Which tokens share a quantization scale. The groups follow the MMA fragment layout of the kernel
// tile, so a thread's accumulator elements each need exactly one Q scale and one K scale:
//
//   Q tile of block_q rows, split into slabs of warp_q rows (one slab per warp);
//   K tile of block_k tokens.
//
//   per_block : Q token t -> t / block_q                     K token t -> t / block_k
//   per_warp  : Q token t -> t / warp_q                      K token t -> t / block_k
//   per_thread: Q token t -> (t / warp_q) * 8 + t % 8        K token t -> (t / block_k) * 4 +
//                                                                        (t % 8) / 2
//
// per_thread follows the m16n8 accumulator (mma.sync and wgmma alike): lane l holds rows l/4 and
// l/4 + 8 of each 16-row fragment, so within a warp's slab the rows congruent mod 8 meet in one
// thread; it holds columns 2*(l%4) and 2*(l%4)+1 of each 8-column fragment, so K tokens with equal
// (t % 8) / 2 meet in one thread. Group indices run per (batch, head) over the padded token range.
#pragma once

#include <cstdint>

#include "quant/host_device.hpp"

namespace sageattn::quant {

enum class Granularity : std::uint8_t { kPerBlock, kPerWarp, kPerThread };

struct TileShape {
  int block_q;  // Q rows per CTA
  int warp_q;   // Q rows per warp slab
  int block_k;  // K/V tokens per main-loop step
  // Whether the kernel, with fp8 P V, adds up the softmax denominator l from P as the P V MMA reads
  // it (e4m3) rather than from fp32 P. The Hopper kernel takes the row sums from its P V wgmma
  // (sm90/softmax.hpp). Not a token partition, but the one other arithmetic choice that tells the
  // kernel families apart: kept here so a tile shape names all the CPU emulation needs to follow
  // a kernel.
  bool pv_row_sums = false;
  // The head dim at which each online-softmax step spans two K/V tiles (2 * block_k keys: one row
  // maximum, one rescale of O and one P V accumulator per two tiles); 0: at none. K scale groups
  // stay per block_k tile. The Hopper kernel does it at hd128 (sm90/consumer.hpp).
  int paired_tiles_head_dim = 0;
};

inline constexpr int kThreadRowGroups = 8;  // distinct l/4 row groups of an m16n8 fragment
inline constexpr int kThreadColGroups = 4;  // distinct l%4 column pairs of an m16n8 fragment

SAGE_HD int ceil_div(std::int64_t a, int b) { return static_cast<int>((a + b - 1) / b); }

SAGE_HD int q_groups_per_block(Granularity g, TileShape t) {
  switch (g) {
    case Granularity::kPerBlock: return 1;
    case Granularity::kPerWarp: return t.block_q / t.warp_q;
    default: return (t.block_q / t.warp_q) * kThreadRowGroups;
  }
}

SAGE_HD int k_groups_per_block(Granularity g, TileShape) {
  return g == Granularity::kPerThread ? kThreadColGroups : 1;
}

SAGE_HD int q_scale_group(std::int64_t token, Granularity g, TileShape t) {
  switch (g) {
    case Granularity::kPerBlock: return static_cast<int>(token / t.block_q);
    case Granularity::kPerWarp: return static_cast<int>(token / t.warp_q);
    default:
      return static_cast<int>((token / t.warp_q) * kThreadRowGroups + token % kThreadRowGroups);
  }
}

SAGE_HD int k_scale_group(std::int64_t token, Granularity g, TileShape t) {
  if (g != Granularity::kPerThread) return static_cast<int>(token / t.block_k);
  return static_cast<int>((token / t.block_k) * kThreadColGroups + (token % 8) / 2);
}

// Scale counts per (batch, head): the token range padded up to whole tiles.
SAGE_HD int q_scale_count(std::int64_t tokens, Granularity g, TileShape t) {
  return ceil_div(tokens, t.block_q) * q_groups_per_block(g, t);
}
SAGE_HD int k_scale_count(std::int64_t tokens, Granularity g, TileShape t) {
  return ceil_div(tokens, t.block_k) * k_groups_per_block(g, t);
}

}  // namespace sageattn::quant
