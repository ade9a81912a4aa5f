// Every bad argument gives its status and a message that names the argument, the value seen and
// what is expected; nothing reaches a backend.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>

#include "test_api_fixture.hpp"

namespace sageattn::testing {
namespace {

struct BadInput {
  const char* name;
  std::function<void(ApiTestCall&)> break_call;
  StatusCode expected_code;
  const char* expected_message;  // a substring of Status::message()
};

constexpr auto kInvalid = StatusCode::kInvalidArgument;
constexpr auto kUnsupported = StatusCode::kUnsupported;
constexpr Device kCuda0{DeviceKind::kCUDA, 0};

// The fixture is B=2, Hq=8, Hkv=2, Nq=16, Nkv=24, D=64, fp16, HND, with LSE.
const BadInput kBadInputs[] = {
    {"QRank3", [](ApiTestCall& c) { c.q.rank = 3; }, kInvalid, "q: rank 3 (expected 4)"},
    {"QDataNull", [](ApiTestCall& c) { c.q.data = nullptr; }, kInvalid, "q: data is null"},
    {"QFloat32", [](ApiTestCall& c) { c.q.dtype = DType::kFloat32; }, kUnsupported,
     "q: dtype float32 is not supported (expected float16 or bfloat16)"},
    {"QDtypeOutOfRange", [](ApiTestCall& c) { c.q.dtype = static_cast<DType>(9); }, kInvalid,
     "q: dtype value 9 is not a DType"},
    {"KDtypeMismatch", [](ApiTestCall& c) { c.k.dtype = DType::kBFloat16; }, kInvalid,
     "k: dtype bfloat16 does not match q's float16"},
    {"VLastStride2", [](ApiTestCall& c) { c.v.strides[3] = 2; }, kInvalid,
     "v: stride of the last dimension is 2 (expected 1)"},
    {"QNegativeStride", [](ApiTestCall& c) { c.q.strides[1] = -1024; }, kInvalid,
     "q: stride of dimension 1 is -1024 (expected >= 0"},
    {"KNegativeSize", [](ApiTestCall& c) { c.k.shape[2] = -5; }, kInvalid,
     "k: size of dimension 2 is -5 (expected >= 0)"},
    {"HeadDim96",
     [](ApiTestCall& c) {
       for (TensorView* t : {&c.q, &c.k, &c.v, &c.out}) t->shape[3] = 96;
     },
     kUnsupported, "q: head_dim 96 is not supported (expected 64 or 128)"},
    {"KHeadDimMismatch", [](ApiTestCall& c) { c.k.shape[3] = 32; }, kInvalid,
     "k: head_dim 32 does not match q's 64"},
    {"KBatchMismatch", [](ApiTestCall& c) { c.k.shape[0] = 1; }, kInvalid,
     "k: batch 1 does not match q's 2"},
    {"VHeadsMismatch", [](ApiTestCall& c) { c.v.shape[1] = 1; }, kInvalid,
     "v: heads 1 do not match k's 2"},
    {"VTokensMismatch", [](ApiTestCall& c) { c.v.shape[2] = 20; }, kInvalid,
     "v: tokens 20 do not match k's 24"},
    {"KHeadsDoNotDivide",
     [](ApiTestCall& c) {
       c.k.shape[1] = 3;
       c.v.shape[1] = 3;
       c.k.shape[2] = c.v.shape[2] = 8;
     },
     kInvalid, "k: heads 3 do not divide q's heads 8"},
    {"KZeroHeads", [](ApiTestCall& c) { c.k.shape[1] = c.v.shape[1] = 0; }, kInvalid,
     "k: heads 0 (expected at least 1 when q has 8 heads)"},
    {"LayoutMismatch", [](ApiTestCall& c) { c.options.layout = Layout::kNHD; }, kInvalid,
     "k: heads 24 do not divide q's heads 16"},
    {"OutShape", [](ApiTestCall& c) { c.out.shape[2] = 15; }, kInvalid,
     "out: shape [2,8,15,64] does not match q's [2,8,16,64]"},
    {"OutDtype", [](ApiTestCall& c) { c.out.dtype = DType::kBFloat16; }, kInvalid,
     "out: dtype bfloat16 does not match q's float16"},
    {"OutZeroStride", [](ApiTestCall& c) { c.out.strides[2] = 0; }, kInvalid,
     "out: stride of dimension 2 is 0 with size 16"},
    {"OutAliasesQ", [](ApiTestCall& c) { c.out.data = c.q.data; }, kInvalid,
     "out: memory overlaps q"},
    {"VInsideOut", [](ApiTestCall& c) { c.v.data = c.out.data; }, kInvalid,
     "out: memory overlaps v"},
    {"LseDtype", [](ApiTestCall& c) { c.lse.dtype = DType::kFloat16; }, kInvalid,
     "lse: dtype float16 (expected float32)"},
    {"LseShape", [](ApiTestCall& c) { c.lse.shape[2] = 17; }, kInvalid,
     "lse: shape [2,8,17] (expected [B, Hq, Nq] = [2,8,16])"},
    {"LseRank4", [](ApiTestCall& c) { c.lse.rank = 4; }, kInvalid, "lse: rank 4 (expected 3)"},
    {"LseOverlapsOut", [](ApiTestCall& c) { c.lse.data = c.out.data; }, kInvalid,
     "lse: memory overlaps out"},
    {"SmScaleNaN",
     [](ApiTestCall& c) { c.options.sm_scale = std::numeric_limits<float>::quiet_NaN(); }, kInvalid,
     "options.sm_scale: NaN (expected a finite positive number)"},
    {"SmScaleNegative", [](ApiTestCall& c) { c.options.sm_scale = -0.5f; }, kInvalid,
     "options.sm_scale: -0.5 (expected a finite positive number)"},
    {"SmScaleInfinite",
     [](ApiTestCall& c) { c.options.sm_scale = std::numeric_limits<float>::infinity(); }, kInvalid,
     "options.sm_scale: inf"},
    {"LayoutOutOfRange", [](ApiTestCall& c) { c.options.layout = static_cast<Layout>(7); },
     kInvalid, "options.layout: value 7 is out of range"},
    {"QKQuantOutOfRange", [](ApiTestCall& c) { c.options.qk_quant = static_cast<QKQuant>(6); },
     kInvalid, "options.qk_quant: value 6 is out of range"},
    {"PVOutOfRange", [](ApiTestCall& c) { c.options.pv_precision = static_cast<PVPrecision>(4); },
     kInvalid, "options.pv_precision: value 4 is out of range"},
    {"BackendOutOfRange", [](ApiTestCall& c) { c.options.backend = static_cast<Backend>(4); },
     kInvalid, "options.backend: value 4 is out of range"},
    {"KOnOtherDevice", [](ApiTestCall& c) { c.k.device = kCuda0; }, kInvalid,
     "k: device cuda:0 differs from q's cpu"},
    {"LseOnOtherDevice", [](ApiTestCall& c) { c.lse.device = kCuda0; }, kInvalid,
     "lse: device cuda:0 differs from q's cpu"},
    {"CudaBackendWithCpuTensors", [](ApiTestCall& c) { c.options.backend = Backend::kCuda; },
     kInvalid, "options.backend: cuda needs CUDA tensors (q is on cpu)"},
    {"CpuReferenceWithCudaTensors",
     [](ApiTestCall& c) {
       for (TensorView* t : {&c.q, &c.k, &c.v, &c.out, &c.lse}) t->device = kCuda0;
       c.options.backend = Backend::kCpuReference;
     },
     kInvalid, "options.backend: cpu_reference needs CPU tensors (q is on cuda:0)"},
    {"NegativeCudaIndex",
     [](ApiTestCall& c) {
       c.q.device = {DeviceKind::kCUDA, -1};
     },
     kInvalid, "q: CUDA device index -1 (expected >= 0)"},
    {"ExtentOverflow",
     [](ApiTestCall& c) { c.k.strides[0] = std::numeric_limits<std::int64_t>::max() / 2; },
     kInvalid, "k: shape [2,2,24,64] with these strides spans more memory"},
};

class BadInputTest : public ::testing::TestWithParam<BadInput> {};

TEST_P(BadInputTest, ReportsStatusAndNamesTheArgument) {
  ApiTestCall call;
  const std::vector<std::uint16_t> out_before = call.out_data;
  GetParam().break_call(call);
  const Status status = call.run();
  EXPECT_EQ(status.code(), GetParam().expected_code) << status.message();
  EXPECT_NE(status.message().find(GetParam().expected_message), std::string::npos)
      << "message: \"" << status.message() << "\"\nexpected to contain: \""
      << GetParam().expected_message << "\"";
  EXPECT_EQ(call.out_data, out_before) << "a rejected call wrote its output";
}

INSTANTIATE_TEST_SUITE_P(Api, BadInputTest, ::testing::ValuesIn(kBadInputs),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(ApiValidation, WorkspaceQueryChecksItsArguments) {
  ApiTestCall call;
  std::size_t bytes = 99;
  EXPECT_TRUE(workspace_bytes(call.q, call.k, call.v, call.options, &bytes).ok());
  EXPECT_EQ(bytes, 0u) << "CPU tensors need no workspace";
  call.k.dtype = DType::kBFloat16;
  const Status status = workspace_bytes(call.q, call.k, call.v, call.options, &bytes);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(workspace_bytes(call.q, call.k, call.v, call.options, nullptr).code(),
            StatusCode::kInvalidArgument);
}

TEST(ApiValidation, InputsMayShareMemory) {
  // Self-attention over one packed buffer: q, k and v reading the same memory is valid.
  ApiTestCall call(1, 2, 2, 8, 8);
  call.k.data = call.q.data;
  call.v.data = call.q.data;
  call.options.backend = Backend::kCpuReference;
  const Status status = call.run();
  EXPECT_TRUE(status.ok()) << status.message();
}

}  // namespace
}  // namespace sageattn::testing
