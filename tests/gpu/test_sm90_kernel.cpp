// The Hopper wgmma kernel (src/cuda/sm90/) end to end with the GPU pre-pass planned for its tile
// (quant::kTileSm90), against the CPU emulation of the same tile and the fp64 reference: INT8
// per-block / per-warp / per-thread Q K^T with fp8 P V, head dim 64 and 128, causal and not,
// odd lengths, q_len < and > kv_len, GQA/MQA, HND/NHD/padded strides, fp16/bf16, smooth_v, LSE.
// Runs only where the library was built with the sm90 kernel and the device is sm90.
//
// Tolerances as for the mma.sync kernels (test_kernels.cpp): against the emulation relative L1
// <= 5e-3 and LSE within 2e-3 (the same quantized values; tensor-core summation order, ex2.approx
// and the fused s - max FFMA can flip a rare fp8 rounding of P); against the fp64 reference
// relative L1 <= 0.08, cosine >= 0.995 (the SA2-8bit quantization error).
#ifdef SAGEATTN_HAS_SM90

#include <cuda_runtime.h>

#include <cmath>
#include <iostream>
#include <sstream>

#include "cpu/cpu_backend.hpp"
#include "cuda/quant/prepass.hpp"
#include "cuda/sm90_entry.hpp"
#include "gpu_support.hpp"
#include "kernel_check.hpp"
#include "quant/tile_shapes.hpp"
#include "sageattn/metrics.hpp"

namespace sageattn::testing {
namespace {

struct Sm90Case {
  ProblemSpec spec;
  int token_pad = 0;
  int consumers = 0;  // consumer warpgroups: 0 = the launch's choice; hd64 cases force 2 or 3
};

constexpr double kReferenceRelL1 = 0.08;
constexpr double kReferenceCosine = 0.995;

std::string case_name(const ::testing::TestParamInfo<Sm90Case>& info) {
  const ProblemSpec& s = info.param.spec;
  const char* qk = s.qk_quant == QKQuant::kInt8PerBlock  ? "block"
                   : s.qk_quant == QKQuant::kInt8PerWarp ? "warp"
                                                         : "thread";
  std::ostringstream name;
  name << info.index << "_" << qk << "_d" << s.head_dim << (s.causal ? "_causal" : "_full") << "_b"
       << s.batch << "h" << s.heads_q << "kv" << s.heads_kv << "_q" << s.len_q << "_k" << s.len_kv
       << (s.layout == Layout::kHND ? "_hnd" : "_nhd") << (info.param.token_pad ? "pad" : "")
       << (s.dtype == DType::kBFloat16 ? "_bf16" : "_fp16") << (s.smooth_v ? "_sv" : "")
       << (info.param.consumers ? "_c" + std::to_string(info.param.consumers) : "");
  return name.str();
}

class Sm90Kernel : public GpuParamTest<Sm90Case> {};

TEST_P(Sm90Kernel, MatchesEmulationAndReference) {
  if (device_capability() != 90) GTEST_SKIP() << "the wgmma kernel needs sm90";
  const Sm90Case& c = GetParam();
  auto rng = seeded_rng();
  HostProblem host(c.spec, rng);
  check_kernel(
      host, c.token_pad, quant::kTileSm90,
      [&c](const core::AttentionProblem& problem, const cuda::QuantizedLayout& layout, void* ws) {
        EXPECT_TRUE(cuda::sm90::accepts(problem));
        return cuda::sm90::launch_attention(problem, layout, ws, nullptr, c.consumers);
      },
      {kReferenceRelL1, kReferenceCosine}, "sm90");
}

// Lengths around the 128-token tile edges, a single token, q_len < and > kv_len, GQA and MQA; the
// last has 432 work tiles, more than an H100 has SMs, so persistent CTAs run several each.
const std::vector<GridShape> kShapes = {
    {1, 2, 2, 1, 1},       {2, 4, 2, 17, 17},   {1, 4, 1, 127, 129},  {1, 2, 2, 129, 127},
    {1, 2, 1, 1000, 1000}, {1, 3, 3, 300, 1},   {1, 2, 2, 200, 1000}, {1, 4, 2, 1000, 200},
    {2, 2, 1, 256, 384},   {1, 8, 1, 128, 128}, {4, 36, 12, 300, 300}};

std::vector<Sm90Case> grid() {
  const QKQuant modes[] = {QKQuant::kInt8PerBlock, QKQuant::kInt8PerWarp, QKQuant::kInt8PerThread};
  std::vector<Sm90Case> cases;
  int i = 0;
  for (QKQuant mode : modes)
    for (int d : {64, 128})
      for (bool causal : {false, true})
        for (int rep = 0; rep < 2; ++rep, ++i) {
          Sm90Case c;
          vary_grid_case(kShapes, i, rep, &c.spec);
          c.spec.head_dim = d;
          c.spec.causal = causal;
          c.spec.qk_quant = mode;
          c.spec.pv_precision = PVPrecision::kFp8Fp32Accum;
          c.token_pad = i % 5 == 2 ? 8 : 0;  // padded token stride (even: 4-byte stores)
          // Both hd64 kernels on causal and full masks: three consumer warpgroups (192-row tiles
          // reaching past q_pad), and two (the choice for short causal problems).
          if (d == 64) c.consumers = rep == 0 ? 3 : 2;
          cases.push_back(c);
        }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Grid, Sm90Kernel, ::testing::ValuesIn(grid()), case_name);

// Three consumer warpgroups exist at head dim 64 only; asking for them at 128 is refused before
// anything is read or launched.
TEST(Sm90Launch, RejectsThreeConsumersAtHeadDim128) {
  core::AttentionProblem problem;
  problem.head_dim = 128;
  const cuda::QuantizedLayout layout{};
  const Status status = cuda::sm90::launch_attention(problem, layout, nullptr, nullptr, 3);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("consumers"), std::string::npos) << status.message();
}

}  // namespace
}  // namespace sageattn::testing

#endif  // SAGEATTN_HAS_SM90
