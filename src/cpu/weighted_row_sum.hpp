// acc[d] += sum over j of w[j] * v[j * dim + d]: the P V product of one query row over a run of
// keys. Each acc[d] is summed in key order (the same result as the plain nested loop), but a
// group of channels stays in registers across all keys instead of being loaded and stored once
// per key, which is what bounds the plain loop.
#pragma once

namespace sageattn::cpu {

template <typename T>
void add_weighted_rows(const T* w, const T* v, int keys, int dim, T* acc) {
  constexpr int kLanes = 32;
  int d0 = 0;
  for (; d0 + kLanes <= dim; d0 += kLanes) {
    T lanes[kLanes];
    for (int t = 0; t < kLanes; ++t) lanes[t] = acc[d0 + t];
    for (int j = 0; j < keys; ++j) {
      const T* v_row = v + j * dim + d0;
      for (int t = 0; t < kLanes; ++t) lanes[t] += w[j] * v_row[t];
    }
    for (int t = 0; t < kLanes; ++t) acc[d0 + t] = lanes[t];
  }
  for (int d = d0; d < dim; ++d) {
    for (int j = 0; j < keys; ++j) acc[d] += w[j] * v[j * dim + d];
  }
}

}  // namespace sageattn::cpu
