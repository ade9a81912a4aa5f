// A dot product in one fixed summation order that the compiler can vectorise: eight interleaved
// partial sums, added at the end. (A plain sequential float sum cannot be reordered without
// -ffast-math, so it stays scalar; a fixed order keeps the results reproducible.)
#pragma once

namespace sageattn::cpu {

template <typename T>
T fixed_order_dot(const T* a, const T* b, int n) {
  constexpr int kLanes = 8;
  T partial[kLanes] = {};
  int d = 0;
  for (; d + kLanes <= n; d += kLanes) {
    for (int t = 0; t < kLanes; ++t) partial[t] += a[d + t] * b[d + t];
  }
  T sum = 0;
  for (T p : partial) sum += p;
  for (; d < n; ++d) sum += a[d] * b[d];
  return sum;
}

}  // namespace sageattn::cpu
