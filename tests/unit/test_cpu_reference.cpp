// The fp64 reference (src/cpu/exact_attention.hpp, reference_attention*): agreement with a naive
// evaluation, invariance under K smoothing with the LSE shift accounted for, and causal alignment
// when q_len < kv_len checked against non-causal attention over the visible prefix of keys.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "cpu/cpu_backend.hpp"
#include "cpu/emulation_stages.hpp"
#include "cpu/exact_attention.hpp"
#include "cpu/tensor_io.hpp"
#include "quant/tile_shapes.hpp"
#include "test_support.hpp"

namespace sageattn::cpu {
namespace {

using testing::HostProblem;
using testing::ProblemSpec;

std::vector<double> load_double(const TensorSlice& slice, std::int64_t b, std::int64_t h) {
  std::vector<double> values(static_cast<std::size_t>(slice.tokens * slice.head_dim));
  load_tokens(slice, {b, h, 0, slice.tokens}, values.data());
  return values;
}

// Relative max-norm distance, the measure of the 1e-12 bounds below.
double relative_distance(const std::vector<double>& a, const std::vector<double>& b) {
  double diff = 0, scale = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff = std::fmax(diff, std::fabs(a[i] - b[i]));
    scale = std::fmax(scale, std::fabs(b[i]));
  }
  return diff / scale;
}

TEST(Reference, MatchesNaiveSoftmaxOfEveryRow) {
  auto rng = testing::seeded_rng();
  for (bool causal : {false, true}) {
    ProblemSpec spec{.len_q = 9, .len_kv = 13, .causal = causal};
    HostProblem hp(spec, rng);
    std::vector<double> out, lse;
    reference_attention_f64(hp.problem, out, &lse);
    const int dim = spec.head_dim;
    for (std::int64_t h = 0; h < spec.heads_q; ++h) {
      for (std::int64_t i = 0; i < spec.len_q; ++i) {
        const std::int64_t keys = causal ? i + spec.len_kv - spec.len_q + 1 : spec.len_kv;
        std::vector<double> logits(static_cast<std::size_t>(keys));
        double sum = 0;
        for (std::int64_t j = 0; j < keys; ++j) {
          double dot = 0;
          for (int d = 0; d < dim; ++d) dot += double{hp.q.get(0, h, i, d)} * hp.k.get(0, h, j, d);
          logits[j] = hp.problem.sm_scale * dot;
          sum += std::exp(logits[j]);
        }
        const std::size_t row = static_cast<std::size_t>(h * spec.len_q + i);
        EXPECT_NEAR(lse[row], std::log(sum), 1e-12 * std::fabs(std::log(sum)) + 1e-13);
        for (int d = 0; d < dim; ++d) {
          double o = 0;
          for (std::int64_t j = 0; j < keys; ++j)
            o += std::exp(logits[j]) / sum * hp.v.get(0, h, j, d);
          ASSERT_NEAR(out[row * dim + d], o, 1e-12 * (1 + std::fabs(o))) << "row " << i;
        }
      }
    }
  }
}

// softmax(q . (k - mu)) = softmax(q . k) and LSE(q . k) = LSE(q . (k - mu)) + sm_scale * q . mu,
// evaluated with mu = the emulation's fp32 K mean (k - mu is exact in fp64).
TEST(Reference, KSmoothingLeavesOutputUnchangedAndShiftsLseByTheStageShift) {
  auto rng = testing::seeded_rng();
  ProblemSpec spec{.len_q = 70, .len_kv = 90, .family = testing::InputFamily::kKChannelBias};
  for (bool causal : {false, true}) {
    spec.causal = causal;
    HostProblem hp(spec, rng);
    const auto& p = hp.problem;
    const QuantizedInputs qi = quantize_inputs(p, quant::kTileSm80);
    for (std::int64_t h = 0; h < p.heads_q; ++h) {
      const std::vector<double> q = load_double(q_slice(p), 0, h);
      const std::vector<double> k = load_double(k_slice(p), 0, h);
      const std::vector<double> v = load_double(v_slice(p), 0, h);
      std::vector<double> k_smoothed = k;
      for (std::size_t i = 0; i < k.size(); ++i)
        k_smoothed[i] -= qi.k_mean[h * p.head_dim + i % p.head_dim];
      const auto rows = static_cast<std::size_t>(p.len_q);
      std::vector<double> out(rows * p.head_dim), out_sm(out.size()), lse(rows), lse_sm(rows);
      ExactAttentionRows in{q.data(), k.data(), v.data(),   0,          p.len_q,
                            p.len_q,  p.len_kv, p.head_dim, p.sm_scale, causal};
      exact_attention_rows(in, out.data(), lse.data());
      in.k = k_smoothed.data();
      exact_attention_rows(in, out_sm.data(), lse_sm.data());
      EXPECT_LE(relative_distance(out_sm, out), 1e-12);
      for (std::size_t i = 0; i < rows; ++i) {
        double shift = 0;
        for (int d = 0; d < p.head_dim; ++d)
          shift += q[i * p.head_dim + d] * qi.k_mean[h * p.head_dim + d];
        shift *= p.sm_scale;
        // Relative to the terms, not the sum: an LSE near 0 is a cancellation of two larger
        // values, each carrying its own fp64 rounding (a 7.8e-16 miss on an LSE of -5.8e-4).
        const double magnitude = std::fabs(lse_sm[i]) + std::fabs(shift);
        ASSERT_NEAR(lse_sm[i] + shift, lse[i], 1e-12 * magnitude) << "row " << i;
        // The stage's fp32 shift is that value rounded once.
        ASSERT_EQ(qi.lse_shift[h * rows + i], static_cast<float>(shift));
      }
    }
  }
}

// Bottom-right alignment with q_len < kv_len: query i sees keys 0 .. i + (kv_len - q_len), so its
// row equals non-causal attention of that one query over exactly those keys.
TEST(Reference, CausalRowEqualsAttentionOverItsVisibleKeys) {
  auto rng = testing::seeded_rng();
  ProblemSpec spec{.len_q = 23, .len_kv = 61, .layout = Layout::kNHD, .causal = true};
  HostProblem hp(spec, rng);
  std::vector<double> out, lse;
  reference_attention_f64(hp.problem, out, &lse);
  const int dim = spec.head_dim;
  for (std::int64_t i : {0, 1, 11, 22}) {
    core::AttentionProblem prefix = hp.problem;
    prefix.causal = false;
    prefix.len_q = 1;
    prefix.len_kv = i + spec.len_kv - spec.len_q + 1;
    prefix.q =
        static_cast<const std::uint16_t*>(hp.problem.q) + hp.problem.q_strides.offset(0, 0, i);
    std::vector<double> row_out, row_lse;
    reference_attention_f64(prefix, row_out, &row_lse);
    for (std::int64_t h = 0; h < spec.heads_q; ++h) {
      const std::size_t row = static_cast<std::size_t>(h * spec.len_q + i);
      EXPECT_EQ(lse[row], row_lse[h]) << "row " << i;
      for (int d = 0; d < dim; ++d)
        ASSERT_EQ(out[row * dim + d], row_out[h * dim + d]) << "row " << i;
    }
  }
}

TEST(Reference, WritesRoundedOutputAndFp32Lse) {
  auto rng = testing::seeded_rng();
  for (DType dtype : {DType::kFloat16, DType::kBFloat16}) {
    ProblemSpec spec{.len_q = 33, .len_kv = 40, .dtype = dtype};
    HostProblem hp(spec, rng);
    std::vector<double> out, lse;
    reference_attention_f64(hp.problem, out, &lse);
    ASSERT_TRUE(reference_attention(hp.problem).ok());
    const std::vector<float> written = hp.out.to_bhnd();
    for (std::size_t i = 0; i < out.size(); ++i) {
      const float expected = dtype == DType::kFloat16
                                 ? round_to_fp16(static_cast<float>(out[i]))
                                 : bf16_to_float(float_to_bf16(static_cast<float>(out[i])));
      ASSERT_EQ(written[i], expected) << i;
    }
    for (std::size_t i = 0; i < lse.size(); ++i) ASSERT_EQ(hp.lse[i], static_cast<float>(lse[i]));
  }
}

}  // namespace
}  // namespace sageattn::cpu
