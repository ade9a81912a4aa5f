// The emulation's quantization pre-pass (src/cpu/emulation_stages.hpp): buffer sizes match the
// GPU workspace layout, and every code, scale and mean follows the rules of src/quant/.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "cpu/emulation_stages.hpp"
#include "cpu/half_convert.hpp"
#include "cuda/quant/quantized_layout.hpp"
#include "quant/fp8_e4m3.hpp"
#include "quant/int_quant.hpp"
#include "quant/tile_shapes.hpp"
#include "test_support.hpp"

namespace sageattn::cpu {
namespace {

using testing::HostProblem;
using testing::ProblemSpec;

constexpr double kRoundingSlack = 1e-5;  // see test_quant_int.cpp: x / scale rounds too

struct StageCase {
  QKQuant qk;
  PVPrecision pv;
  quant::TileShape tile;
  bool smooth_q, smooth_v;
};

class EmulationStages : public ::testing::TestWithParam<StageCase> {
 protected:
  void SetUp() override {
    const StageCase c = GetParam();
    // partial last tiles on both operands
    ProblemSpec spec{.batch = 2,
                     .heads_q = 4,
                     .heads_kv = 2,
                     .len_q = 150,
                     .len_kv = 97,
                     .family = testing::InputFamily::kKAndVBias,
                     .qk_quant = c.qk,
                     .pv_precision = c.pv,
                     .smooth_q = c.smooth_q,
                     .smooth_v = c.smooth_v};
    auto rng = testing::seeded_rng();
    hp = std::make_unique<HostProblem>(spec, rng);
    qi = quantize_inputs(hp->problem, c.tile);
  }

  // Per-channel fp64 means of tokens [first, first + count) of a head, rounded once.
  std::vector<float> means(const testing::HostTensor& t, std::int64_t b, std::int64_t h,
                           std::int64_t first, std::int64_t count) const {
    std::vector<float> m(static_cast<std::size_t>(t.head_dim));
    for (int d = 0; d < t.head_dim; ++d) {
      double sum = 0;
      for (std::int64_t n = first; n < first + count; ++n) sum += t.get(b, h, n, d);
      m[static_cast<std::size_t>(d)] = quant::mean_from_sum(sum, count);
    }
    return m;
  }

  std::unique_ptr<HostProblem> hp;
  QuantizedInputs qi;
};

TEST_P(EmulationStages, BufferSizesMatchTheGpuWorkspaceLayout) {
  const auto& p = hp->problem;
  const cuda::QuantizedLayout layout = cuda::plan_quantized_layout(
      {p.batch, p.heads_q, p.heads_kv, p.len_q, p.len_kv, p.head_dim, GetParam().tile,
       qi.granularity, qi.int4, p.pv_precision == PVPrecision::kFp8Fp32Accum, p.smooth_q,
       p.smooth_v, true});
  EXPECT_EQ(qi.q_pad, layout.q_pad);
  EXPECT_EQ(qi.k_pad, layout.k_pad);
  // Each buffer fills its region up to the 256-byte alignment.
  auto expect_fits = [](std::size_t bytes, std::size_t begin, std::size_t end, const char* name) {
    EXPECT_LE(bytes, end - begin) << name;
    EXPECT_GT(bytes + 256, end - begin) << name;
  };
  if (qi.qmax != 0) {
    expect_fits(qi.q_codes.size(), layout.q_codes, layout.q_scales, "q_codes");
    expect_fits(qi.q_scales.size() * 4, layout.q_scales, layout.k_codes, "q_scales");
    expect_fits(qi.k_codes.size(), layout.k_codes, layout.k_scales, "k_codes");
    expect_fits(qi.k_scales.size() * 4, layout.k_scales, layout.k_mean, "k_scales");
  }
  EXPECT_EQ(qi.k_mean.size(), static_cast<std::size_t>(p.batch * p.heads_kv * p.head_dim));
  EXPECT_EQ(qi.lse_shift.size(), static_cast<std::size_t>(p.batch * p.heads_q * p.len_q));
  if (p.pv_precision == PVPrecision::kFp8Fp32Accum) {
    EXPECT_EQ(qi.v_fp8.size(),
              static_cast<std::size_t>(p.batch * p.heads_kv * p.head_dim * qi.k_pad));
  } else {
    EXPECT_EQ(qi.v_fp16.size() * 2,
              static_cast<std::size_t>(p.batch * p.heads_kv * qi.k_pad * p.head_dim * 2));
  }
}

TEST_P(EmulationStages, KAndQCodesAreWithinHalfAScaleOfTheSmoothedValues) {
  const auto& p = hp->problem;
  const int dim = p.head_dim;
  const float log2_factor = quant::softmax_log2_factor(p.sm_scale);
  for (std::int64_t b = 0; b < p.batch; ++b) {
    for (std::int64_t h = 0; h < p.heads_kv; ++h) {
      const std::int64_t head = b * p.heads_kv + h;
      const std::vector<float> k_mean =
          qi.smooth_k ? means(hp->k, b, h, 0, p.len_kv) : std::vector<float>(dim, 0.0f);
      for (int d = 0; d < dim; ++d)
        ASSERT_EQ(qi.k_mean[static_cast<std::size_t>(head * dim + d)], k_mean[d]);
      if (qi.qmax == 0) continue;
      const auto codes = unpack_codes(
          qi.k_codes.data() + head * qi.k_pad * (qi.int4 ? dim / 2 : dim), qi.k_pad, dim, qi.int4);
      std::vector<int> largest(static_cast<std::size_t>(qi.k_scale_count), 0);
      for (std::int64_t t = 0; t < qi.k_pad; ++t) {
        const int group = quant::k_scale_group(t, qi.granularity, qi.tile);
        const float scale = qi.k_scales[static_cast<std::size_t>(head * qi.k_scale_count + group)];
        for (int d = 0; d < dim; ++d) {
          const int code = codes[static_cast<std::size_t>(t * dim + d)];
          ASSERT_LE(std::abs(code), qi.qmax);
          largest[static_cast<std::size_t>(group)] =
              std::max(largest[static_cast<std::size_t>(group)], std::abs(code));
          const float k_sm = t < p.len_kv ? hp->k.get(b, h, t, d) - k_mean[d] : 0.0f;
          ASSERT_LE(std::fabs(code * static_cast<double>(scale) - k_sm),
                    scale * (0.5 + kRoundingSlack))
              << "k token " << t << " channel " << d;
        }
      }
      for (int group = 0; group < qi.k_scale_count; ++group) {
        if (qi.k_scales[static_cast<std::size_t>(head * qi.k_scale_count + group)] > 0) {
          EXPECT_EQ(largest[static_cast<std::size_t>(group)], qi.qmax) << "k group " << group;
        }
      }
    }
  }
  if (qi.qmax == 0) return;
  for (std::int64_t b = 0; b < p.batch; ++b) {
    for (std::int64_t h = 0; h < p.heads_q; ++h) {
      const std::int64_t head = b * p.heads_q + h;
      const auto codes = unpack_codes(
          qi.q_codes.data() + head * qi.q_pad * (qi.int4 ? dim / 2 : dim), qi.q_pad, dim, qi.int4);
      for (std::int64_t t = 0; t < qi.q_pad; ++t) {
        const std::int64_t block_first = t / qi.tile.block_q * qi.tile.block_q;
        const std::vector<float> q_mean =
            qi.smooth_q && t < p.len_q
                ? means(hp->q, b, h, block_first,
                        std::min<std::int64_t>(qi.tile.block_q, p.len_q - block_first))
                : std::vector<float>(static_cast<std::size_t>(dim), 0.0f);
        const int group = quant::q_scale_group(t, qi.granularity, qi.tile);
        const double scale =
            qi.q_scales[static_cast<std::size_t>(head * qi.q_scale_count + group)] / log2_factor;
        for (int d = 0; d < dim; ++d) {
          const int code = codes[static_cast<std::size_t>(t * dim + d)];
          ASSERT_LE(std::abs(code), qi.qmax);
          const float q_sm = t < p.len_q ? hp->q.get(b, h, t, d) - q_mean[d] : 0.0f;
          ASSERT_LE(std::fabs(code * scale - q_sm), scale * (0.5 + 2 * kRoundingSlack))
              << "q token " << t << " channel " << d;
        }
      }
    }
  }
}

TEST_P(EmulationStages, VIsScaledPerChannelAndTransposed) {
  const auto& p = hp->problem;
  const int dim = p.head_dim;
  for (std::int64_t b = 0; b < p.batch; ++b) {
    for (std::int64_t h = 0; h < p.heads_kv; ++h) {
      const std::int64_t head = b * p.heads_kv + h;
      const std::vector<float> v_mean =
          p.smooth_v ? means(hp->v, b, h, 0, p.len_kv)
                     : std::vector<float>(static_cast<std::size_t>(dim), 0.0f);
      for (int d = 0; d < dim; ++d) {
        ASSERT_EQ(qi.v_mean[static_cast<std::size_t>(head * dim + d)], v_mean[d]);
        const float scale = p.pv_precision == PVPrecision::kFp8Fp32Accum
                                ? qi.v_scales[static_cast<std::size_t>(head * dim + d)]
                                : 1.0f;
        bool reaches_448 = false;
        for (std::int64_t t = 0; t < qi.k_pad; ++t) {
          const float v_sm = t < p.len_kv ? hp->v.get(b, h, t, d) - v_mean[d] : 0.0f;
          if (p.pv_precision != PVPrecision::kFp8Fp32Accum) {
            ASSERT_EQ(qi.v_fp16[static_cast<std::size_t>((head * qi.k_pad + t) * dim + d)],
                      float_to_fp16_saturate(v_sm));
            continue;
          }
          const std::uint8_t code =
              qi.v_fp8[static_cast<std::size_t>((head * dim + d) * qi.k_pad + t)];
          const double value = quant::e4m3_to_float(code) * static_cast<double>(scale);
          reaches_448 |= std::fabs(quant::e4m3_to_float(code)) == quant::kFp8E4M3Max;
          // e4m3 keeps 3 mantissa bits (relative error <= 2^-4); subnormal steps are 2^-9.
          ASSERT_LE(std::fabs(value - v_sm),
                    std::fmax(std::fabs(v_sm) * 0x1p-4, 0x1p-10 * scale) * 1.0001)
              << "v token " << t << " channel " << d;
        }
        if (p.pv_precision == PVPrecision::kFp8Fp32Accum) {
          EXPECT_TRUE(reaches_448) << "channel " << d;
        }
      }
    }
  }
}

// With smooth_q the block mean's logit, added to the quantized logit of q_sm, restores q . k_sm;
// lse_shift is the logit part K smoothing removed, sm_scale * (q . k_mean).
TEST_P(EmulationStages, SmoothingCorrectionsRestoreTheExactLogits) {
  const auto& p = hp->problem;
  const int dim = p.head_dim;
  const std::int64_t q_blocks = qi.q_pad / qi.tile.block_q;
  for (std::int64_t b = 0; b < p.batch; ++b) {
    for (std::int64_t h = 0; h < p.heads_q; ++h) {
      const std::int64_t head = b * p.heads_q + h, kv = p.kv_head_of(h);
      const float* k_mean = qi.k_mean.data() + (b * p.heads_kv + kv) * dim;
      for (std::int64_t t = 0; t < p.len_q; ++t) {
        double shift = 0;
        for (int d = 0; d < dim; ++d)
          shift += static_cast<double>(hp->q.get(b, h, t, d)) * k_mean[d];
        ASSERT_EQ(qi.lse_shift[static_cast<std::size_t>(head * p.len_q + t)],
                  static_cast<float>(p.sm_scale * shift));
      }
      if (!qi.smooth_q) continue;
      for (std::int64_t blk = 0; blk < q_blocks; ++blk) {
        const std::int64_t first = blk * qi.tile.block_q,
                           count = std::min<std::int64_t>(qi.tile.block_q, p.len_q - first);
        const std::vector<float> q_mean = means(hp->q, b, h, first, count);
        const float* logits = qi.q_mean_logits.data() + (head * q_blocks + blk) * qi.k_pad;
        for (std::int64_t j = 0; j < qi.k_pad; ++j) {
          double exact = 0;
          for (int d = 0; d < dim; ++d)
            exact += static_cast<double>(q_mean[d]) *
                     (j < p.len_kv ? hp->k.get(b, kv, j, d) - k_mean[d] : 0.0);
          exact *= p.sm_scale * quant::kLog2e;
          ASSERT_NEAR(logits[j], exact, 1e-5 * (1 + std::fabs(exact)))
              << "block " << blk << " key " << j;
        }
      }
    }
  }
}

TEST(EmulationStagesInt4, PacksTheEvenChannelInTheLowNibble) {
  ProblemSpec spec;
  spec.qk_quant = QKQuant::kInt4PerThread;
  auto rng = testing::seeded_rng();
  HostProblem hp(spec, rng);
  const QuantizedInputs qi = quantize_inputs(hp.problem, quant::kTileSm80);
  const std::size_t bytes = qi.k_codes.size();
  ASSERT_EQ(bytes, static_cast<std::size_t>(qi.k_pad * spec.head_dim * spec.heads_kv / 2));
  const auto codes = unpack_codes(qi.k_codes.data(), qi.k_pad * spec.heads_kv, spec.head_dim, true);
  for (std::size_t i = 0; i < bytes; ++i) {
    const auto byte = static_cast<std::uint8_t>(qi.k_codes[i]);
    const int low = (byte & 0xF) >= 8 ? (byte & 0xF) - 16 : (byte & 0xF);
    const int high = (byte >> 4) >= 8 ? (byte >> 4) - 16 : (byte >> 4);
    ASSERT_EQ(codes[2 * i], low);
    ASSERT_EQ(codes[2 * i + 1], high);
  }
}

std::string stage_case_name(const ::testing::TestParamInfo<StageCase>& info) {
  const char* qk[] = {"auto", "int8_block", "int8_warp", "int8_thread", "int4_thread", "none"};
  const char* pv[] = {"auto", "fp16_fp32", "fp16_fp16", "fp8"};
  const StageCase& c = info.param;
  return std::string(qk[static_cast<int>(c.qk)]) + "_" + pv[static_cast<int>(c.pv)] +
         (c.tile.block_k == quant::kTileSm80.block_k ? "_sm80" : "_sm90") +
         (c.smooth_q ? "_sq" : "") + (c.smooth_v ? "_sv" : "");
}

INSTANTIATE_TEST_SUITE_P(
    Modes, EmulationStages,
    ::testing::Values(
        StageCase{QKQuant::kInt8PerBlock, PVPrecision::kFp8Fp32Accum, quant::kTileSm80, false,
                  false},
        StageCase{QKQuant::kInt8PerWarp, PVPrecision::kFp8Fp32Accum, quant::kTileSm80, true, true},
        StageCase{QKQuant::kInt8PerThread, PVPrecision::kFp16Fp32Accum, quant::kTileSm80, false,
                  true},
        StageCase{QKQuant::kInt4PerThread, PVPrecision::kFp8Fp32Accum, quant::kTileSm80, true,
                  false},
        StageCase{QKQuant::kInt8PerWarp, PVPrecision::kFp16Fp16Accum, quant::kTileSm90, true,
                  false},
        StageCase{QKQuant::kInt8PerThread, PVPrecision::kFp8Fp32Accum, quant::kTileSm90, false,
                  true},
        StageCase{QKQuant::kNone, PVPrecision::kFp16Fp32Accum, quant::kTileSm90, false, false}),
    stage_case_name);

}  // namespace
}  // namespace sageattn::cpu
