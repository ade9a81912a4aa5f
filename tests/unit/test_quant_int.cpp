// Symmetric INT8/INT4 quantization (src/quant/int_quant.hpp) and the token-group partition of the
// scale granularities (src/quant/granularity.hpp) for every kernel tile shape.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>
#include <set>
#include <vector>

#include "quant/granularity.hpp"
#include "quant/int_quant.hpp"
#include "quant/tile_shapes.hpp"
#include "test_support.hpp"

namespace sageattn::quant {
namespace {

// Codes are rint(x * inv) of the exact product with inv = fl(qmax / amax): against the exact
// x / scale (scale = fl(amax / qmax)) that is two fp32 roundings, relative 2 * 2^-24 on a
// quotient <= qmax (1 + 2^-23), 1.6e-5 for qmax 127, which can move a quotient just past a .5
// tie; the bound is scale/2 plus that, in units of the scale.
constexpr double kRoundingSlack = 2.0 * 128.0 / (1 << 24);

TEST(IntQuant, ErrorIsAtMostHalfAScaleAndCodesStayInRange) {
  auto rng = testing::seeded_rng();
  std::uniform_real_distribution<float> log_range(-8.0f, 8.0f);
  for (int qmax : {kInt8Max, kInt4Max}) {
    for (int group = 0; group < 2000; ++group) {
      const float range = std::exp2(log_range(rng));
      std::uniform_real_distribution<float> value(-range, range);
      std::vector<float> x(64);
      float amax = 0.0f;
      for (float& e : x) amax = std::fmax(amax, std::fabs(e = value(rng)));
      const float scale = symmetric_scale(amax, qmax);
      const float inv = symmetric_inverse_scale(amax, qmax);
      int largest_code = 0;
      for (float e : x) {
        const int code = quantize_symmetric(e, inv, qmax);
        ASSERT_LE(std::abs(code), qmax);
        largest_code = std::max(largest_code, std::abs(code));
        ASSERT_LE(std::fabs(code * static_cast<double>(scale) - e), scale * (0.5 + kRoundingSlack))
            << "x = " << e << ", scale = " << scale << ", qmax = " << qmax;
      }
      EXPECT_EQ(largest_code, qmax) << "the group's largest magnitude maps to +-qmax";
    }
  }
}

TEST(IntQuant, ZeroScaleGivesZeroCodesAndTiesRoundToEven) {
  EXPECT_EQ(symmetric_inverse_scale(0.0f, kInt8Max), 0.0f);
  EXPECT_EQ(quantize_symmetric(1.0f, 0.0f, kInt8Max), 0);
  EXPECT_EQ(quantize_symmetric(2.5f, 1.0f, kInt8Max), 2);
  EXPECT_EQ(quantize_symmetric(3.5f, 1.0f, kInt8Max), 4);
  EXPECT_EQ(quantize_symmetric(-2.5f, 1.0f, kInt8Max), -2);
  EXPECT_EQ(quantize_symmetric(1000.0f, 1.0f, kInt4Max), kInt4Max);
  EXPECT_EQ(quantize_symmetric(-1000.0f, 1.0f, kInt8Max), -kInt8Max);
}

// The product is rounded to an integer once (the GPU's FFMA with a 1.5 * 2^23 addend): here
// (2.5 - 2^-22) * (1 + 2^-23) = 2.5 + 2^-24 - 2^-45, whose fp32 product is the tie 2.5 (code 2)
// but whose exact value lies above it (code 3).
TEST(IntQuant, ProductIsRoundedOnce) {
  const float x = 2.5f - std::ldexp(1.0f, -22);
  const float inv = 1.0f + std::ldexp(1.0f, -23);
  ASSERT_EQ(x * inv, 2.5f) << "the fp32 product is the tie";
  EXPECT_EQ(quantize_symmetric(x, inv, kInt8Max), 3);
  EXPECT_EQ(quantize_symmetric(-x, inv, kInt8Max), -3);
}

// An fp32-denormal group maximum: qmax / amax overflows, so inv stops at FLT_MAX and a zero (or
// any value of the group) still gets a finite code instead of not-a-number's clamp to -qmax.
TEST(IntQuant, TinyGroupMaximumKeepsTheInverseFinite) {
  const float amax = 1e-40f;
  const float inv = symmetric_inverse_scale(amax, kInt8Max);
  ASSERT_TRUE(std::isfinite(inv));
  EXPECT_EQ(quantize_symmetric(0.0f, inv, kInt8Max), 0);
  EXPECT_EQ(quantize_symmetric(amax, inv, kInt8Max), 0) << "1e-40 * FLT_MAX = 0.034 rounds to 0";
  EXPECT_EQ(symmetric_inverse_scale(std::nanf(""), kInt8Max), 0.0f);
  EXPECT_EQ(symmetric_inverse_scale(INFINITY, kInt8Max), 0.0f);
}

TEST(IntQuant, MeanFromSumRoundsOnce) {
  EXPECT_EQ(mean_from_sum(1.0, 3), static_cast<float>(1.0 / 3.0));
  EXPECT_EQ(mean_from_sum(-6.0, 4), -1.5f);
}

struct GranularityCase {
  TileShape tile;
  Granularity granularity;
};

class GranularityTest : public ::testing::TestWithParam<GranularityCase> {};

// Groups of a padded token range: each index in [0, count) is used, each group lies inside one
// kernel tile, and all groups of a kind have the documented size.
TEST_P(GranularityTest, GroupsPartitionWholeTiles) {
  const auto [tile, g] = GetParam();
  for (std::int64_t tokens : {1, 17, 200, 1000}) {
    const std::int64_t q_pad = std::int64_t{ceil_div(tokens, tile.block_q)} * tile.block_q;
    std::map<int, std::set<std::int64_t>> q_groups;
    for (std::int64_t t = 0; t < q_pad; ++t) q_groups[q_scale_group(t, g, tile)].insert(t);
    ASSERT_EQ(static_cast<int>(q_groups.size()), q_scale_count(tokens, g, tile));
    EXPECT_EQ(q_groups.begin()->first, 0);
    EXPECT_EQ(q_groups.rbegin()->first, q_scale_count(tokens, g, tile) - 1);
    const std::size_t q_size = g == Granularity::kPerBlock  ? tile.block_q
                               : g == Granularity::kPerWarp ? tile.warp_q
                                                            : tile.warp_q / kThreadRowGroups;
    for (const auto& [group, members] : q_groups) {
      EXPECT_EQ(members.size(), q_size) << "Q group " << group;
      EXPECT_EQ(*members.begin() / tile.block_q, *members.rbegin() / tile.block_q);
      if (g != Granularity::kPerBlock) {
        EXPECT_EQ(*members.begin() / tile.warp_q, *members.rbegin() / tile.warp_q);
      }
    }

    const std::int64_t k_pad = std::int64_t{ceil_div(tokens, tile.block_k)} * tile.block_k;
    std::map<int, std::set<std::int64_t>> k_groups;
    for (std::int64_t t = 0; t < k_pad; ++t) k_groups[k_scale_group(t, g, tile)].insert(t);
    ASSERT_EQ(static_cast<int>(k_groups.size()), k_scale_count(tokens, g, tile));
    const std::size_t k_size =
        g == Granularity::kPerThread ? tile.block_k / kThreadColGroups : tile.block_k;
    for (const auto& [group, members] : k_groups) {
      EXPECT_EQ(members.size(), k_size) << "K group " << group;
      EXPECT_EQ(*members.begin() / tile.block_k, *members.rbegin() / tile.block_k);
    }
  }
}

// The m16n8 accumulator: lane l holds rows l/4 and l/4 + 8 of every 16-row fragment of its warp's
// slab and columns 2(l%4), 2(l%4)+1 of every 8-column fragment. Everything one lane holds must
// need one Q scale and one K scale, so the dequantization is one multiply per element.
TEST_P(GranularityTest, EachMmaLaneNeedsOneScalePerOperand) {
  const auto [tile, g] = GetParam();
  for (int lane = 0; lane < 32; ++lane) {
    for (std::int64_t slab = 0; slab < 2 * tile.block_q / tile.warp_q; ++slab) {
      std::set<int> q_scales;
      for (int fragment = 0; fragment < tile.warp_q / 16; ++fragment) {
        for (int half : {0, 8}) {
          q_scales.insert(
              q_scale_group(slab * tile.warp_q + fragment * 16 + lane / 4 + half, g, tile));
        }
      }
      EXPECT_EQ(q_scales.size(), 1u) << "lane " << lane << ", slab " << slab;
    }
    for (std::int64_t block = 0; block < 2; ++block) {
      std::set<int> k_scales;
      for (int fragment = 0; fragment < tile.block_k / 8; ++fragment) {
        for (int column : {0, 1}) {
          k_scales.insert(k_scale_group(
              block * tile.block_k + fragment * 8 + 2 * (lane % 4) + column, g, tile));
        }
      }
      EXPECT_EQ(k_scales.size(), 1u) << "lane " << lane << ", block " << block;
    }
  }
}

std::string granularity_case_name(const ::testing::TestParamInfo<GranularityCase>& info) {
  const char* granularity_names[] = {"per_block", "per_warp", "per_thread"};
  return std::string(info.param.tile.block_k == kTileSm80.block_k ? "sm80_" : "sm90_") +
         granularity_names[static_cast<int>(info.param.granularity)];
}

INSTANTIATE_TEST_SUITE_P(AllTiles, GranularityTest,
                         ::testing::Values(GranularityCase{kTileSm80, Granularity::kPerBlock},
                                           GranularityCase{kTileSm80, Granularity::kPerWarp},
                                           GranularityCase{kTileSm80, Granularity::kPerThread},
                                           GranularityCase{kTileSm90, Granularity::kPerBlock},
                                           GranularityCase{kTileSm90, Granularity::kPerWarp},
                                           GranularityCase{kTileSm90, Granularity::kPerThread}),
                         granularity_case_name);

}  // namespace
}  // namespace sageattn::quant
