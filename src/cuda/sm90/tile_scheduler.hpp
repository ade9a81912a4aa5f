// Which (batch*head, query tile) a CTA computes, and the K/V tiles it visits.
//
// CTAs are numbered head-major so the CTAs resident at one time share a few heads and their K/V
// stay in L2 (head-minor order would stream every head's K/V from HBM once per query tile). With
// the causal mask, a head's last query tiles see the most keys: they are issued first so the short
// tiles fill the tail of the grid.
#pragma once

#include <algorithm>

#include "cuda/sm90/kernel_traits.hpp"
#include "cuda/sm90/params.hpp"

namespace sageattn::cuda::sm90 {

struct WorkTile {
  int head;    // b * heads_q + h
  int q_tile;  // query rows [q_tile * kBlockQ, +kBlockQ)
  int kv_tiles;
  // Keys [0, unmasked_end) are visible to every row of the tile; tiles past it need the mask.
  int unmasked_end;
};

__device__ __forceinline__ WorkTile work_tile_of(const KernelParams& p, int linear) {
  WorkTile w{};
  w.head = linear / p.q_tiles;
  const int within = linear % p.q_tiles;
  w.q_tile = p.causal ? p.q_tiles - 1 - within : within;
  const int q0 = w.q_tile * kBlockQ;
  int kv_end = p.len_kv;
  w.unmasked_end = p.len_kv;
  if (p.causal) {
    // Bottom-right alignment: row i sees keys j <= i + (len_kv - len_q).
    const int offset = p.len_kv - p.len_q;
    const int last_row = min(q0 + kBlockQ, p.len_q) - 1;
    kv_end = max(0, min(p.len_kv, last_row + offset + 1));
    w.unmasked_end = max(0, min(p.len_kv, q0 + offset + 1));
  }
  w.kv_tiles = (kv_end + kBlockK - 1) / kBlockK;
  return w;
}

}  // namespace sageattn::cuda::sm90
