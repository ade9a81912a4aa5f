// compare_outputs (include/sageattn/metrics.hpp) on vectors whose metrics are known exactly.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "sageattn/metrics.hpp"

namespace sageattn {
namespace {

TEST(Metrics, KnownValues) {
  const std::vector<float> out = {1.0f, 2.0f, 2.0f, -4.0f};
  const std::vector<double> ref = {1.0, 2.0, 3.0, -4.0};
  const AccuracyMetrics m = compare_outputs(out.data(), ref.data(), out.size());
  EXPECT_DOUBLE_EQ(m.relative_l1, 1.0 / 10.0);
  EXPECT_DOUBLE_EQ(m.rmse, std::sqrt(1.0 / 4.0));
  EXPECT_DOUBLE_EQ(m.max_abs_error, 1.0);
  EXPECT_DOUBLE_EQ(m.cosine_similarity, 27.0 / (5.0 * std::sqrt(30.0)));
  EXPECT_EQ(m.non_finite, 0u);
}

TEST(Metrics, IdenticalScaledAndOppositeVectors) {
  const std::vector<float> ref = {0.5f, -1.5f, 3.0f};
  AccuracyMetrics m = compare_outputs(ref.data(), ref.data(), ref.size());
  EXPECT_DOUBLE_EQ(m.cosine_similarity, 1.0);
  EXPECT_EQ(m.relative_l1, 0.0);
  EXPECT_EQ(m.max_abs_error, 0.0);
  const std::vector<float> doubled = {1.0f, -3.0f, 6.0f};
  m = compare_outputs(doubled.data(), ref.data(), ref.size());
  EXPECT_NEAR(m.cosine_similarity, 1.0, 1e-15);  // cosine ignores scale, relL1 does not
  EXPECT_DOUBLE_EQ(m.relative_l1, 1.0);
  const std::vector<float> opposite = {-0.5f, 1.5f, -3.0f};
  m = compare_outputs(opposite.data(), ref.data(), ref.size());
  EXPECT_NEAR(m.cosine_similarity, -1.0, 1e-15);
}

TEST(Metrics, ZeroVectors) {
  const std::vector<float> zeros(4, 0.0f), ones(4, 1.0f);
  AccuracyMetrics m = compare_outputs(zeros.data(), zeros.data(), zeros.size());
  EXPECT_EQ(m.cosine_similarity, 1.0);
  EXPECT_EQ(m.relative_l1, 0.0);
  m = compare_outputs(ones.data(), zeros.data(), ones.size());
  EXPECT_EQ(m.cosine_similarity, 0.0);
  EXPECT_TRUE(std::isinf(m.relative_l1));
}

TEST(Metrics, NonFiniteOutputsAreCountedAndFailEveryThreshold) {
  const std::vector<float> out = {1.0f, NAN, INFINITY, 2.0f};
  const std::vector<double> ref = {1.0, 1.0, 1.0, 2.0};
  const AccuracyMetrics m = compare_outputs(out.data(), ref.data(), out.size());
  EXPECT_EQ(m.non_finite, 2u);
  EXPECT_FALSE(m.cosine_similarity >= 0.0);
  EXPECT_FALSE(m.relative_l1 <= 1.0);
  EXPECT_FALSE(m.rmse <= 1.0);
  EXPECT_FALSE(m.max_abs_error <= 1.0);
}

}  // namespace
}  // namespace sageattn
