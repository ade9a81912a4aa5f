// Semantics both CPU backends share: fully masked causal rows (q_len > kv_len) give output 0 and
// LSE -inf; GQA equals repeating each KV head; the HND and NHD layouts give identical results.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <vector>

#include "cpu/cpu_backend.hpp"
#include "quant/tile_shapes.hpp"
#include "test_support.hpp"

namespace sageattn::cpu {
namespace {

using testing::HostProblem;
using testing::ProblemSpec;

struct Backend {
  const char* name;
  std::function<Status(const core::AttentionProblem&)> run;
};

std::vector<Backend> backends() {
  return {{"reference", reference_attention},
          {"emulation_sm80", [](const auto& p) { return emulate_attention(p, quant::kTileSm80); }},
          {"emulation_sm90", [](const auto& p) { return emulate_attention(p, quant::kTileSm90); }}};
}

// Every QK mode once, each with a different PV mode, so each path meets the masked rows.
std::vector<std::pair<QKQuant, PVPrecision>> mode_pairs() {
  return {{QKQuant::kInt8PerBlock, PVPrecision::kFp8Fp32Accum},
          {QKQuant::kInt8PerWarp, PVPrecision::kFp16Fp16Accum},
          {QKQuant::kInt8PerThread, PVPrecision::kFp16Fp32Accum},
          {QKQuant::kInt4PerThread, PVPrecision::kFp8Fp32Accum},
          {QKQuant::kNone, PVPrecision::kFp16Fp16Accum}};
}

TEST(AttentionSemantics, RowsThatSeeNoKeyGiveZeroAndMinusInfinityLse) {
  auto rng = testing::seeded_rng();
  for (const auto& [qk, pv] : mode_pairs()) {
    // Rows 0..114 see no key: more than a whole 128-row Q block.
    ProblemSpec spec{.len_q = 140,
                     .len_kv = 25,
                     .causal = true,
                     .qk_quant = qk,
                     .pv_precision = pv,
                     .smooth_q = qk == QKQuant::kInt8PerWarp,
                     .smooth_v = pv == PVPrecision::kFp8Fp32Accum};
    HostProblem hp(spec, rng);
    for (const Backend& backend : backends()) {
      hp.rebind();
      ASSERT_TRUE(backend.run(hp.problem).ok());
      const std::vector<float> out = hp.out.to_bhnd();
      const std::int64_t masked_rows = spec.len_q - spec.len_kv;
      for (std::int64_t h = 0; h < spec.heads_q; ++h) {
        for (std::int64_t i = 0; i < spec.len_q; ++i) {
          const std::size_t row = static_cast<std::size_t>(h * spec.len_q + i);
          const float lse = hp.lse[row];
          if (i < masked_rows) {
            ASSERT_TRUE(std::isinf(lse) && lse < 0)
                << backend.name << " row " << i << " lse " << lse;
          } else {
            ASSERT_TRUE(std::isfinite(lse)) << backend.name << " row " << i;
          }
          for (int d = 0; d < spec.head_dim; ++d) {
            const float o = out[row * spec.head_dim + d];
            if (i < masked_rows) {
              ASSERT_EQ(o, 0.0f) << backend.name << " row " << i;
            } else {
              ASSERT_TRUE(std::isfinite(o)) << backend.name << " row " << i;
            }
          }
        }
      }
    }
  }
}

TEST(AttentionSemantics, GqaEqualsRepeatedKvHeads) {
  auto rng = testing::seeded_rng();
  for (const auto& [qk, pv] : mode_pairs()) {
    ProblemSpec spec{.heads_q = 6,
                     .heads_kv = 2,
                     .len_q = 37,
                     .len_kv = 70,
                     .causal = true,
                     .qk_quant = qk,
                     .pv_precision = pv};
    HostProblem grouped(spec, rng);
    spec.heads_kv = spec.heads_q;
    HostProblem repeated(spec, rng);
    repeated.q = grouped.q;
    for (std::int64_t h = 0; h < spec.heads_q; ++h) {
      for (std::int64_t n = 0; n < spec.len_kv; ++n) {
        for (int d = 0; d < spec.head_dim; ++d) {
          repeated.k.set(0, h, n, d, grouped.k.get(0, h / 3, n, d));
          repeated.v.set(0, h, n, d, grouped.v.get(0, h / 3, n, d));
        }
      }
    }
    for (const Backend& backend : backends()) {
      grouped.rebind();
      repeated.rebind();
      ASSERT_TRUE(backend.run(grouped.problem).ok());
      ASSERT_TRUE(backend.run(repeated.problem).ok());
      for (float o : grouped.out.to_bhnd()) ASSERT_TRUE(std::isfinite(o)) << backend.name;
      EXPECT_EQ(grouped.out.half_bits, repeated.out.half_bits) << backend.name;
      EXPECT_EQ(grouped.lse, repeated.lse) << backend.name;
    }
  }
}

TEST(AttentionSemantics, HndAndNhdLayoutsGiveIdenticalResults) {
  auto rng = testing::seeded_rng();
  for (const auto& [qk, pv] : mode_pairs()) {
    ProblemSpec spec{.batch = 2,
                     .heads_q = 4,
                     .heads_kv = 2,
                     .len_q = 65,
                     .len_kv = 63,
                     .qk_quant = qk,
                     .pv_precision = pv};
    HostProblem hnd(spec, rng);
    spec.layout = Layout::kNHD;
    HostProblem nhd(spec, rng);
    auto copy = [](const testing::HostTensor& from, testing::HostTensor& to) {
      for (std::int64_t b = 0; b < from.batch; ++b)
        for (std::int64_t h = 0; h < from.heads; ++h)
          for (std::int64_t n = 0; n < from.tokens; ++n)
            for (int d = 0; d < from.head_dim; ++d) to.set(b, h, n, d, from.get(b, h, n, d));
    };
    copy(hnd.q, nhd.q);
    copy(hnd.k, nhd.k);
    copy(hnd.v, nhd.v);
    for (const Backend& backend : backends()) {
      hnd.rebind();
      nhd.rebind();
      ASSERT_TRUE(backend.run(hnd.problem).ok());
      ASSERT_TRUE(backend.run(nhd.problem).ok());
      EXPECT_EQ(hnd.out.to_bhnd(), nhd.out.to_bhnd()) << backend.name;
      EXPECT_EQ(hnd.lse, nhd.lse) << backend.name;
    }
  }
}

}  // namespace
}  // namespace sageattn::cpu
