// Which (batch*head, query tile) a work tile is, and the K/V tiles it visits.
//
// The grid is persistent (one CTA per SM, launch.cu): the G = gridDim.x CTAs take the work tiles
// in rounds of G, CTA b the b-th tile of even rounds and the (G-1-b)-th of odd ones. Its producer
// loads the next work tile's Q and first K/V tiles while the consumers finish the current one and
// write its output, instead of a fresh CTA starting cold. Work tiles are numbered head-major so
// the tiles in flight at one time share a few heads and their K/V stay in L2 (head-minor order
// would stream every head's K/V from HBM once per query tile). With the causal mask, a head's last
// query tiles see the most keys and come first: the tiles of a round shrink from one CTA to the
// next, and the alternating direction pairs each CTA's long tiles with short ones.
#pragma once

#include <algorithm>

#include "cuda/sm90/kernel_traits.hpp"
#include "cuda/sm90/params.hpp"

namespace sageattn::cuda::sm90 {

struct WorkTile {
  int head;    // b * heads_q + h
  int q_tile;  // query rows [q_tile * kBlockQ, +kBlockQ) of the kernel's KernelTraits
  int kv_tiles;
  // Keys [0, unmasked_end) are visible to every row of the tile; tiles past it need the mask.
  int unmasked_end;
};

template <int kBlockQ>
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

// Calls f(work tile, its index among this CTA's work tiles) for each work tile of this CTA, in
// order. The producer and the consumers walk the same sequence.
template <int kBlockQ, typename F>
__device__ __forceinline__ void for_each_work_tile(const KernelParams& p, F&& f) {
  const int ctas = static_cast<int>(gridDim.x);
  const int cta = static_cast<int>(blockIdx.x);
  int work_index = 0;
  for (int first = 0; first < p.work_tiles; first += ctas) {
    const bool backwards = (first / ctas) % 2 == 1;
    const int linear = first + (backwards ? ctas - 1 - cta : cta);
    if (linear < p.work_tiles) f(work_tile_of<kBlockQ>(p, linear), work_index++);
  }
}

}  // namespace sageattn::cuda::sm90
