#include "cpu/exact_attention.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "cpu/fixed_order_dot.hpp"

namespace sageattn::cpu {

void exact_attention_rows(const ExactAttentionRows& in, double* out, double* lse) {
  if (in.rows == 0) return;
  const int dim = in.head_dim;
  std::vector<std::int64_t> visible(static_cast<std::size_t>(in.rows));
  for (std::int64_t r = 0; r < in.rows; ++r) {
    const std::int64_t last_key = in.first_row + r + (in.len_kv - in.len_q);
    visible[r] = in.causal ? std::clamp<std::int64_t>(last_key + 1, 0, in.len_kv) : in.len_kv;
  }
  const std::int64_t keys = *std::max_element(visible.begin(), visible.end());

  // Logits of all rows, key-major in the outer loop so each K row and V row is read once per
  // block of query rows rather than once per row.
  std::vector<double> weights(static_cast<std::size_t>(in.rows * keys));
  for (std::int64_t j = 0; j < keys; ++j) {
    for (std::int64_t r = 0; r < in.rows; ++r) {
      if (j < visible[r])
        weights[r * keys + j] = in.sm_scale * fixed_order_dot(in.q + r * dim, in.k + j * dim, dim);
    }
  }
  std::vector<double> row_sum(static_cast<std::size_t>(in.rows), 0.0);
  for (std::int64_t r = 0; r < in.rows; ++r) {
    double* w = weights.data() + r * keys;
    const double row_max = visible[r] > 0 ? *std::max_element(w, w + visible[r]) : 0.0;
    for (std::int64_t j = 0; j < visible[r]; ++j) {
      w[j] = std::exp(w[j] - row_max);
      row_sum[r] += w[j];
    }
    lse[r] =
        visible[r] > 0 ? row_max + std::log(row_sum[r]) : -std::numeric_limits<double>::infinity();
  }
  // Four keys per pass over a row's accumulator: one load and store of it per four products
  // (the accumulator traffic, not the arithmetic, bounds this loop).
  constexpr std::int64_t kKeysPerPass = 4;
  std::fill(out, out + in.rows * dim, 0.0);
  for (std::int64_t j0 = 0; j0 < keys; j0 += kKeysPerPass) {
    const double* v = in.v + j0 * dim;
    for (std::int64_t r = 0; r < in.rows; ++r) {
      const double* w = weights.data() + r * keys + j0;
      double* o = out + r * dim;
      if (j0 + kKeysPerPass <= visible[r]) {
        for (int d = 0; d < dim; ++d) {
          o[d] +=
              (w[0] * v[d] + w[1] * v[dim + d]) + (w[2] * v[2 * dim + d] + w[3] * v[3 * dim + d]);
        }
      } else {
        for (std::int64_t j = 0; j < visible[r] - j0; ++j) {
          for (int d = 0; d < dim; ++d) o[d] += w[j] * v[j * dim + d];
        }
      }
    }
  }
  for (std::int64_t r = 0; r < in.rows; ++r) {
    if (visible[r] == 0) continue;
    for (int d = 0; d < dim; ++d) out[r * dim + d] /= row_sum[r];
  }
}

}  // namespace sageattn::cpu
