// compare_outputs: accuracy of an output against a reference, every sum in fp64.
#include <cmath>
#include <limits>

#include "sageattn/metrics.hpp"

namespace sageattn {
namespace {

template <typename Ref>
AccuracyMetrics compare(const float* out, const Ref* ref, std::size_t count) {
  AccuracyMetrics m;
  double dot = 0, out_norm2 = 0, ref_norm2 = 0, abs_error = 0, abs_ref = 0, squared_error = 0;
  for (std::size_t i = 0; i < count; ++i) {
    const double o = out[i];
    const double r = static_cast<double>(ref[i]);
    if (!std::isfinite(o)) {
      ++m.non_finite;
      continue;
    }
    const double e = o - r;
    dot += o * r;
    out_norm2 += o * o;
    ref_norm2 += r * r;
    abs_error += std::fabs(e);
    abs_ref += std::fabs(r);
    squared_error += e * e;
    m.max_abs_error = std::fmax(m.max_abs_error, std::fabs(e));
  }
  if (m.non_finite > 0) {
    // A NaN fails every threshold comparison, so no caller can pass a broken output by
    // checking only the error metrics.
    const double nan = std::numeric_limits<double>::quiet_NaN();
    m.cosine_similarity = m.relative_l1 = m.rmse = m.max_abs_error = nan;
    return m;
  }
  // Zero vectors: identical ones are a perfect match, a zero against a non-zero is orthogonal.
  const double norms = std::sqrt(out_norm2) * std::sqrt(ref_norm2);
  m.cosine_similarity = norms > 0 ? dot / norms : (out_norm2 == ref_norm2 ? 1.0 : 0.0);
  m.relative_l1 = abs_ref > 0 ? abs_error / abs_ref
                              : (abs_error == 0 ? 0.0 : std::numeric_limits<double>::infinity());
  m.rmse = count > 0 ? std::sqrt(squared_error / static_cast<double>(count)) : 0.0;
  return m;
}

}  // namespace

AccuracyMetrics compare_outputs(const float* out, const double* ref, std::size_t count) {
  return compare(out, ref, count);
}

AccuracyMetrics compare_outputs(const float* out, const float* ref, std::size_t count) {
  return compare(out, ref, count);
}

}  // namespace sageattn
