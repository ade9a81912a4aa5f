// Semantics both CPU backends share: fully masked causal rows (q_len > kv_len) give output 0 and
// LSE -inf; GQA equals repeating each KV head; the HND and NHD layouts give identical results;
// NaN inputs reach the outputs that depend on them.
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

// A NaN input reaches the outputs that depend on it as NaN, as in exact attention: in K, every row
// of the head (each row sees that key; with K smoothing the mean carries it to every key); in Q,
// its row (and the rows sharing its quantization group); in V, that channel of every row. Each
// backend first runs on clean inputs, so the NaN below were computed, not left from the poison.
TEST(AttentionSemantics, NanInputsReachTheOutputsThatDependOnThem) {
  auto rng = testing::seeded_rng();
  for (const auto& [qk, pv] : mode_pairs()) {
    const ProblemSpec spec{.len_q = 80, .len_kv = 80, .qk_quant = qk, .pv_precision = pv};
    for (const char which : {'q', 'k', 'v'}) {
      for (const Backend& backend : backends()) {
        HostProblem hp(spec, rng);
        hp.rebind();
        ASSERT_TRUE(backend.run(hp.problem).ok());
        for (const float x : hp.out.to_bhnd()) ASSERT_TRUE(std::isfinite(x)) << backend.name;
        testing::HostTensor& t = which == 'q' ? hp.q : (which == 'k' ? hp.k : hp.v);
        constexpr std::int64_t kToken = 7;
        constexpr int kChannel = 3;
        t.half_bits[t.index(0, 0, kToken, kChannel)] = 0x7E00;  // fp16 NaN
        ASSERT_TRUE(backend.run(hp.problem).ok());
        const std::vector<float> out = hp.out.to_bhnd();
        const int dim = spec.head_dim;
        for (std::int64_t h = 0; h < spec.heads_q; ++h) {
          for (std::int64_t i = 0; i < spec.len_q; ++i) {
            const float lse = hp.lse[static_cast<std::size_t>(h * spec.len_q + i)];
            for (int d = 0; d < dim; ++d) {
              const float x = out[static_cast<std::size_t>((h * spec.len_q + i) * dim + d)];
              const char* where = backend.name;
              if (h != 0) {
                ASSERT_TRUE(std::isfinite(x)) << where << " " << which << " head " << h;
              } else if (which == 'k' || (which == 'q' && i == kToken)) {
                ASSERT_TRUE(std::isnan(x)) << where << " " << which << " row " << i << " d " << d;
                ASSERT_TRUE(std::isnan(lse)) << where << " " << which << " row " << i;
              } else if (which == 'v') {
                ASSERT_EQ(std::isnan(x), d == kChannel) << where << " v row " << i << " d " << d;
                ASSERT_TRUE(std::isfinite(lse)) << where << " v row " << i;
              }
            }
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace sageattn::cpu
