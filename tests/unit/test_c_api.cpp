// The C API over hand-built DLPack tensors on the CPU.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "cpu/half_convert.hpp"
#include "sageattn/sageattn.h"

namespace {

// A compact fp16 rank-4 tensor (or fp32 rank-3 LSE) on the CPU with its own shape storage.
struct HostTensor {
  std::vector<std::uint16_t> halves;
  std::vector<float> floats;
  std::vector<std::int64_t> shape;
  std::vector<std::int64_t> strides;
  DLTensor tensor{};

  HostTensor(std::vector<std::int64_t> dims, bool is_fp32 = false) : shape(std::move(dims)) {
    std::int64_t count = 1;
    for (std::int64_t d : shape) count *= d;
    std::mt19937 rng(std::random_device{}());
    std::normal_distribution<float> normal(0.0f, 1.0f);
    if (is_fp32) {
      floats.assign(static_cast<std::size_t>(count), 0.0f);
    } else {
      for (std::int64_t i = 0; i < count; ++i)
        halves.push_back(sageattn::cpu::float_to_fp16(normal(rng)));
    }
    tensor.data = is_fp32 ? static_cast<void*>(floats.data()) : halves.data();
    tensor.device = {kDLCPU, 0};
    tensor.ndim = static_cast<std::int32_t>(shape.size());
    tensor.dtype = {static_cast<std::uint8_t>(kDLFloat),
                    static_cast<std::uint8_t>(is_fp32 ? 32 : 16), 1};
    tensor.shape = shape.data();
    tensor.strides = nullptr;
  }

  // A copy owns copies of the buffers and its DLTensor points at them.
  HostTensor(const HostTensor& other)
      : halves(other.halves),
        floats(other.floats),
        shape(other.shape),
        strides(other.strides),
        tensor(other.tensor) {
    tensor.data = floats.empty() ? static_cast<void*>(halves.data()) : floats.data();
    tensor.shape = shape.data();
    if (tensor.strides != nullptr) tensor.strides = strides.data();
  }
  HostTensor& operator=(const HostTensor&) = delete;

  void set_explicit_strides() {
    strides.assign(shape.size(), 1);
    for (std::size_t d = shape.size() - 1; d-- > 0;) strides[d] = strides[d + 1] * shape[d + 1];
    tensor.strides = strides.data();
  }
};

struct CCall {
  HostTensor q{{1, 4, 20, 64}}, k{{1, 2, 24, 64}}, v{{1, 2, 24, 64}}, out{{1, 4, 20, 64}};
  HostTensor lse{{1, 4, 20}, true};
  sageattn_options options{};

  CCall() { sageattn_options_init(&options); }
  sageattn_status run(DLTensor* lse_tensor) {
    return sageattn_forward(&q.tensor, &k.tensor, &v.tensor, &out.tensor, lse_tensor, &options,
                            nullptr, 0, nullptr);
  }
  sageattn_status run() { return run(&lse.tensor); }
};

TEST(CApi, OptionsInitGivesTheDocumentedDefaults) {
  sageattn_options options;
  std::memset(&options, 0xAB, sizeof(options));
  sageattn_options_init(&options);
  EXPECT_EQ(options.struct_size, sizeof(sageattn_options));
  EXPECT_EQ(options.layout, SAGEATTN_LAYOUT_HND);
  EXPECT_EQ(options.causal, 0);
  EXPECT_EQ(options.has_sm_scale, 0);
  EXPECT_EQ(options.qk_quant, SAGEATTN_QK_AUTO);
  EXPECT_EQ(options.pv_precision, SAGEATTN_PV_AUTO);
  EXPECT_EQ(options.smooth_k, 1);
  EXPECT_EQ(options.smooth_q, 0);
  EXPECT_EQ(options.smooth_v, 0);
  EXPECT_EQ(options.backend, SAGEATTN_BACKEND_AUTO);
}

TEST(CApi, VersionIsMajorMinorPatch) {
  EXPECT_TRUE(std::regex_match(sageattn_version(), std::regex(R"(\d+\.\d+\.\d+)")))
      << sageattn_version();
}

TEST(CApi, ForwardSucceedsAndExplicitStridesGiveTheSameResult) {
  CCall implicit_strides;
  ASSERT_EQ(implicit_strides.run(), SAGEATTN_OK) << sageattn_last_error();

  CCall explicit_strides = implicit_strides;
  for (HostTensor* t : {&explicit_strides.q, &explicit_strides.k, &explicit_strides.v,
                        &explicit_strides.out, &explicit_strides.lse}) {
    t->set_explicit_strides();
  }
  ASSERT_EQ(explicit_strides.run(), SAGEATTN_OK) << sageattn_last_error();
  EXPECT_EQ(implicit_strides.out.halves, explicit_strides.out.halves);
  EXPECT_EQ(implicit_strides.lse.floats, explicit_strides.lse.floats);
  for (float value : implicit_strides.lse.floats) EXPECT_TRUE(std::isfinite(value));
}

TEST(CApi, ByteOffsetSelectsTheTensorStart) {
  CCall plain;
  plain.options.backend = SAGEATTN_BACKEND_CPU_REFERENCE;
  ASSERT_EQ(plain.run(nullptr), SAGEATTN_OK) << sageattn_last_error();

  // The same q placed 3 elements into a larger buffer, addressed through byte_offset.
  CCall offset = plain;
  std::vector<std::uint16_t> shifted(3, 0);
  shifted.insert(shifted.end(), plain.q.halves.begin(), plain.q.halves.end());
  offset.q.tensor.data = shifted.data();
  offset.q.tensor.byte_offset = 3 * sizeof(std::uint16_t);
  std::fill(offset.out.halves.begin(), offset.out.halves.end(), 0);
  ASSERT_EQ(offset.run(nullptr), SAGEATTN_OK) << sageattn_last_error();
  EXPECT_EQ(plain.out.halves, offset.out.halves);
}

struct CError {
  const char* name;
  void (*break_call)(CCall&);
  sageattn_status expected;
  const char* message;
};

const CError kCErrors[] = {
    {"QRank0", [](CCall& c) { c.q.tensor.ndim = 0; }, SAGEATTN_INVALID_ARGUMENT,
     "q: rank 0 (expected 4)"},
    {"LseRank", [](CCall& c) { c.lse.tensor.ndim = 4; }, SAGEATTN_INVALID_ARGUMENT,
     "lse: rank 4 (expected 3)"},
    {"Lanes", [](CCall& c) { c.k.tensor.dtype.lanes = 2; }, SAGEATTN_UNSUPPORTED,
     "k: dtype lanes 2 (expected 1)"},
    {"Int8",
     [](CCall& c) {
       c.v.tensor.dtype = {kDLInt, 8, 1};
     },
     SAGEATTN_UNSUPPORTED, "v: DLPack dtype (code 0, bits 8) is not supported"},
    {"Managed",
     [](CCall& c) {
       c.q.tensor.device = {kDLCUDAManaged, 0};
     },
     SAGEATTN_UNSUPPORTED, "q: DLPack device type 13 is not supported"},
    {"CudaHost",
     [](CCall& c) {
       c.out.tensor.device = {kDLCUDAHost, 0};
     },
     SAGEATTN_UNSUPPORTED, "out: DLPack device type 3 is not supported"},
    {"ShapeNull", [](CCall& c) { c.k.tensor.shape = nullptr; }, SAGEATTN_INVALID_ARGUMENT,
     "k: shape is null"},
    {"StructSizeSmall", [](CCall& c) { c.options.struct_size = 8; }, SAGEATTN_INVALID_ARGUMENT,
     "options: struct_size 8"},
    {"CausalTwo", [](CCall& c) { c.options.causal = 2; }, SAGEATTN_INVALID_ARGUMENT,
     "options.causal: 2 (expected 0 or 1)"},
    {"QKQuantHuge", [](CCall& c) { c.options.qk_quant = 300; }, SAGEATTN_INVALID_ARGUMENT,
     "options.qk_quant: value 300 is out of range"},
    {"QKQuantSeven", [](CCall& c) { c.options.qk_quant = 7; }, SAGEATTN_INVALID_ARGUMENT,
     "options.qk_quant: value 7 is out of range"},
    {"SmScaleZero",
     [](CCall& c) {
       c.options.has_sm_scale = 1;
       c.options.sm_scale = 0.0f;
     },
     SAGEATTN_INVALID_ARGUMENT, "options.sm_scale: 0 (expected a finite positive number)"},
    {"HeadDim", [](CCall& c) { c.q.shape[3] = 80; }, SAGEATTN_UNSUPPORTED, "q: head_dim 80"},
};

class CErrorTest : public ::testing::TestWithParam<CError> {};

TEST_P(CErrorTest, ReturnsStatusAndLastError) {
  CCall call;
  GetParam().break_call(call);
  EXPECT_EQ(call.run(), GetParam().expected);
  EXPECT_NE(std::string(sageattn_last_error()).find(GetParam().message), std::string::npos)
      << "last error: " << sageattn_last_error();
}

INSTANTIATE_TEST_SUITE_P(CApi, CErrorTest, ::testing::ValuesIn(kCErrors),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(CApi, NullTensorsAndNullOutputAreNamed) {
  CCall call;
  EXPECT_EQ(sageattn_forward(nullptr, &call.k.tensor, &call.v.tensor, &call.out.tensor, nullptr,
                             nullptr, nullptr, 0, nullptr),
            SAGEATTN_INVALID_ARGUMENT);
  EXPECT_STREQ(sageattn_last_error(), "q: null (expected a DLTensor)");
  EXPECT_EQ(sageattn_forward(&call.q.tensor, &call.k.tensor, &call.v.tensor, nullptr, nullptr,
                             nullptr, nullptr, 0, nullptr),
            SAGEATTN_INVALID_ARGUMENT);
  EXPECT_STREQ(sageattn_last_error(), "out: null (expected a DLTensor)");
}

TEST(CApi, NullOptionsMeanDefaultsAndLargerZeroPaddedOptionsAreAccepted) {
  CCall call;
  EXPECT_EQ(sageattn_forward(&call.q.tensor, &call.k.tensor, &call.v.tensor, &call.out.tensor,
                             nullptr, nullptr, nullptr, 0, nullptr),
            SAGEATTN_OK)
      << sageattn_last_error();

  struct NewerOptions {
    sageattn_options known;
    std::int32_t unknown_field;
  } newer{};
  sageattn_options_init(&newer.known);
  newer.known.struct_size = sizeof(NewerOptions);
  EXPECT_EQ(sageattn_forward(&call.q.tensor, &call.k.tensor, &call.v.tensor, &call.out.tensor,
                             nullptr, &newer.known, nullptr, 0, nullptr),
            SAGEATTN_OK)
      << sageattn_last_error();
  newer.unknown_field = 1;
  EXPECT_EQ(sageattn_forward(&call.q.tensor, &call.k.tensor, &call.v.tensor, &call.out.tensor,
                             nullptr, &newer.known, nullptr, 0, nullptr),
            SAGEATTN_UNSUPPORTED);
  EXPECT_NE(std::string(sageattn_last_error()).find("non-zero fields"), std::string::npos);
}

TEST(CApi, WorkspaceSizeIsZeroOnTheCpu) {
  CCall call;
  size_t bytes = 123;
  EXPECT_EQ(sageattn_workspace_size(&call.q.tensor, &call.k.tensor, &call.v.tensor, &call.options,
                                    &bytes),
            SAGEATTN_OK)
      << sageattn_last_error();
  EXPECT_EQ(bytes, 0u);
}

TEST(CApi, LastErrorIsPerThread) {
  CCall call;
  call.options.causal = 5;
  ASSERT_EQ(call.run(), SAGEATTN_INVALID_ARGUMENT);
  std::string other_thread_error = "unset";
  std::thread([&] { other_thread_error = sageattn_last_error(); }).join();
  EXPECT_EQ(other_thread_error, "");
  EXPECT_NE(std::string(sageattn_last_error()), "");
}

}  // namespace
