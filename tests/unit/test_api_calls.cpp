// Valid calls through the public C++ API on CPU tensors: both CPU backends, both layouts, causal,
// GQA, LSE, bf16, and the zero-sized cases.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <tuple>

#include "core/attention.hpp"
#include "cpu/half_convert.hpp"
#include "quant/tile_shapes.hpp"
#include "sageattn/metrics.hpp"
#include "test_api_fixture.hpp"

namespace sageattn::testing {
namespace {

std::vector<float> output_as_float(const ApiTestCall& call) {
  std::vector<float> values;
  for (std::uint16_t bits : call.out_data) {
    values.push_back(call.out.dtype == DType::kBFloat16 ? cpu::bf16_to_float(bits)
                                                        : cpu::fp16_to_float(bits));
  }
  return values;
}

// The reference output of the same call, computed on a copy.
ApiTestCall reference_of(const ApiTestCall& call) {
  ApiTestCall reference = call;
  reference.options.backend = Backend::kCpuReference;
  const Status status = reference.run();
  EXPECT_TRUE(status.ok()) << status.message();
  return reference;
}

using CallParams = std::tuple<Backend, Layout, bool /*causal*/, std::int64_t /*len_q*/>;

class ValidCallTest : public ::testing::TestWithParam<CallParams> {};

// Emulation tolerance on gaussian inputs at these sizes (INT8 per-warp QK, FP8 PV): cosine
// >= 0.995 and LSE within 0.05; the reference must match itself exactly.
TEST_P(ValidCallTest, MatchesTheReference) {
  const auto [backend, layout, causal, len_q] = GetParam();
  ApiTestCall call(2, 4, 2, len_q, 40, 64, layout);
  call.options.backend = backend;
  call.options.causal = causal;
  const Status status = call.run();
  ASSERT_TRUE(status.ok()) << status.message();

  const ApiTestCall reference = reference_of(call);
  const std::vector<float> out = output_as_float(call);
  const std::vector<float> expected = output_as_float(reference);
  const AccuracyMetrics metrics = compare_outputs(out.data(), expected.data(), out.size());
  EXPECT_EQ(metrics.non_finite, 0u);
  EXPECT_GE(metrics.cosine_similarity, backend == Backend::kCpuReference ? 1.0 - 1e-12 : 0.995);
  for (std::size_t i = 0; i < call.lse_data.size(); ++i) {
    ASSERT_NEAR(call.lse_data[i], reference.lse_data[i], 0.05) << "row " << i;
  }
}

std::string call_name(const ::testing::TestParamInfo<CallParams>& info) {
  const auto [backend, layout, causal, len_q] = info.param;
  const char* backend_name = backend == Backend::kCpuReference   ? "reference"
                             : backend == Backend::kCpuEmulation ? "emulation"
                                                                 : "auto";
  return std::string(backend_name) + (layout == Layout::kNHD ? "_NHD" : "_HND") +
         (causal ? "_causal" : "") + "_q" + std::to_string(len_q);
}

INSTANTIATE_TEST_SUITE_P(Api, ValidCallTest,
                         ::testing::Combine(::testing::Values(Backend::kCpuReference,
                                                              Backend::kCpuEmulation,
                                                              Backend::kAuto),
                                            ::testing::Values(Layout::kHND, Layout::kNHD),
                                            ::testing::Bool(),
                                            ::testing::Values(std::int64_t{17}, std::int64_t{40})),
                         call_name);

// The Hopper tile groups tokens differently (16-row warp slabs, 128-key blocks); the accuracy
// bound is the same.
TEST(ApiCalls, EmulatingTheSm90TileMatchesTheReference) {
  ApiTestCall call(1, 4, 2, 150, 300, 128);
  call.options.causal = true;
  const Status status = core::attention_with_cpu_tile(call.q, call.k, call.v, call.out, &call.lse,
                                                      call.options, {}, nullptr, quant::kTileSm90);
  ASSERT_TRUE(status.ok()) << status.message();
  const ApiTestCall reference = reference_of(call);
  const std::vector<float> out = output_as_float(call);
  const std::vector<float> expected = output_as_float(reference);
  EXPECT_GE(compare_outputs(out.data(), expected.data(), out.size()).cosine_similarity, 0.995);
}

TEST(ApiCalls, LayoutsAgreeExactly) {
  ApiTestCall hnd(1, 4, 2, 9, 13, 128, Layout::kHND);
  ApiTestCall nhd(1, 4, 2, 9, 13, 128, Layout::kNHD);
  // NHD[b][n][h][d] = HND[b][h][n][d]
  auto to_nhd = [](const std::vector<std::uint16_t>& src, std::vector<std::uint16_t>& dst,
                   std::int64_t heads, std::int64_t tokens) {
    for (std::int64_t h = 0; h < heads; ++h) {
      for (std::int64_t n = 0; n < tokens; ++n) {
        for (std::int64_t d = 0; d < 128; ++d) {
          dst[(n * heads + h) * 128 + d] = src[(h * tokens + n) * 128 + d];
        }
      }
    }
  };
  to_nhd(hnd.q_data, nhd.q_data, 4, 9);
  to_nhd(hnd.k_data, nhd.k_data, 2, 13);
  to_nhd(hnd.v_data, nhd.v_data, 2, 13);
  for (ApiTestCall* call : {&hnd, &nhd}) {
    call->options.backend = Backend::kCpuEmulation;
    const Status status = call->run();
    ASSERT_TRUE(status.ok()) << status.message();
  }
  std::vector<std::uint16_t> hnd_as_nhd(hnd.out_data.size());
  to_nhd(hnd.out_data, hnd_as_nhd, 4, 9);
  EXPECT_EQ(hnd_as_nhd, nhd.out_data);
  EXPECT_EQ(hnd.lse_data, nhd.lse_data);
}

TEST(ApiCalls, DefaultScaleIsOneOverSqrtHeadDim) {
  ApiTestCall by_default(1, 2, 1, 5, 7, 128);
  ApiTestCall explicit_scale = by_default;
  explicit_scale.options.sm_scale = 1.0f / std::sqrt(128.0f);
  ASSERT_TRUE(by_default.run().ok());
  ASSERT_TRUE(explicit_scale.run().ok());
  EXPECT_EQ(by_default.out_data, explicit_scale.out_data);
}

TEST(ApiCalls, Bfloat16RunsWithoutLse) {
  ApiTestCall call(1, 2, 2, 33, 33, 64);
  for (auto& bits : call.q_data) bits = cpu::float_to_bf16(cpu::fp16_to_float(bits));
  for (auto& bits : call.k_data) bits = cpu::float_to_bf16(cpu::fp16_to_float(bits));
  for (auto& bits : call.v_data) bits = cpu::float_to_bf16(cpu::fp16_to_float(bits));
  for (TensorView* t : {&call.q, &call.k, &call.v, &call.out}) t->dtype = DType::kBFloat16;
  call.with_lse = false;
  const Status status = call.run();
  ASSERT_TRUE(status.ok()) << status.message();
  for (float value : output_as_float(call)) ASSERT_TRUE(std::isfinite(value));
}

TEST(ApiCalls, NoQueriesIsANoOp) {
  for (const auto& [batch, heads, len_q] :
       {std::tuple{0, 4, 8}, std::tuple{2, 0, 8}, std::tuple{2, 4, 0}}) {
    ApiTestCall call(batch, heads, heads == 0 ? 0 : 2, len_q, 8);
    const Status status = call.run();
    EXPECT_TRUE(status.ok()) << status.message();
  }
}

// Frameworks give tensors without elements arbitrary strides (numpy: all zero); they are never
// addressed, so such a call is still a valid no-op.
TEST(ApiCalls, EmptyTensorsAcceptAnyStrides) {
  ApiTestCall call(2, 4, 2, 0, 8);
  call.q.strides = {0, 0, 0, 0};
  call.out.strides = {0, 0, 0, 0};
  const Status status = call.run();
  EXPECT_TRUE(status.ok()) << status.message();
}

// len_kv == 0: every query row sees no key, so it is fully masked: output 0 and LSE -inf.
TEST(ApiCalls, NoKeysGivesZeroOutputAndMinusInfinityLse) {
  for (Backend backend : {Backend::kCpuReference, Backend::kCpuEmulation}) {
    ApiTestCall call(1, 4, 2, 5, 0);
    call.options.backend = backend;
    const Status status = call.run();
    ASSERT_TRUE(status.ok()) << status.message();
    for (float value : output_as_float(call)) EXPECT_EQ(value, 0.0f);
    for (float value : call.lse_data) EXPECT_EQ(value, -std::numeric_limits<float>::infinity());
  }
}

}  // namespace
}  // namespace sageattn::testing
