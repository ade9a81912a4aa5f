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
#include "quant/tile_shapes.hpp"
#include "sageattn/metrics.hpp"

namespace sageattn::testing {
namespace {

struct Sm90Case {
  ProblemSpec spec;
  int token_pad = 0;
};

constexpr double kEmulationRelL1 = 5e-3;
constexpr double kEmulationLse = 2e-3;
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
       << (s.dtype == DType::kBFloat16 ? "_bf16" : "_fp16") << (s.smooth_v ? "_sv" : "");
  return name.str();
}

class Sm90Kernel : public GpuParamTest<Sm90Case> {};

TEST_P(Sm90Kernel, MatchesEmulationAndReference) {
  if (device_capability() != 90) GTEST_SKIP() << "the wgmma kernel needs sm90";
  const Sm90Case& c = GetParam();
  auto rng = seeded_rng();
  HostProblem host(c.spec, rng);
  DeviceProblem device(host, c.token_pad, true);
  ASSERT_TRUE(cuda::sm90::accepts(device.problem));
  const quant::TileShape tile = quant::kTileSm90;
  const cuda::QuantizedLayout layout =
      cuda::plan_quantized_layout(cuda::layout_request(device.problem, tile));
  DeviceBuffer ws(layout.total_bytes);
  ASSERT_NE(ws.get(), nullptr);
  Status status = cuda::run_prepass(device.problem, layout, tile, ws.get(), nullptr);
  ASSERT_TRUE(status.ok()) << status.message();
  status = cuda::sm90::launch_attention(device.problem, layout, ws.get(), nullptr);
  ASSERT_TRUE(status.ok()) << status.message();
  SAGE_CUDA_OK(cudaDeviceSynchronize());

  bool gaps_untouched = false;
  const std::vector<float> gpu = device.output(host, &gaps_untouched);
  EXPECT_TRUE(gaps_untouched) << "the kernel wrote outside the output tensor";
  const std::vector<float> gpu_lse = device.lse.read<float>(0, host.lse.size());

  ASSERT_TRUE(cpu::emulate_attention(host.problem, tile).ok());
  const std::vector<float> emulated = host.out.to_bhnd();
  std::vector<double> reference;
  cpu::reference_attention_f64(host.problem, reference, nullptr);

  const AccuracyMetrics vs_emulation = compare_outputs(gpu.data(), emulated.data(), gpu.size());
  const AccuracyMetrics vs_reference = compare_outputs(gpu.data(), reference.data(), gpu.size());
  double lse_diff = 0.0;
  std::size_t lse_mismatch = 0;
  for (std::size_t i = 0; i < gpu_lse.size(); ++i) {
    if (std::isinf(host.lse[i]) || std::isinf(gpu_lse[i])) {
      lse_mismatch += host.lse[i] != gpu_lse[i];
      continue;
    }
    const double d = std::fabs(static_cast<double>(gpu_lse[i]) - host.lse[i]);
    if (!(d <= lse_diff)) lse_diff = d;  // NaN propagates into the check
  }
  std::cout << "[ accuracy ] vs_emulation rel_l1 " << vs_emulation.relative_l1 << " max_abs "
            << vs_emulation.max_abs_error << " | vs_reference rel_l1 " << vs_reference.relative_l1
            << " cos " << vs_reference.cosine_similarity << " | lse_diff " << lse_diff << "\n";
  EXPECT_EQ(vs_emulation.non_finite, 0u);
  EXPECT_LE(vs_emulation.relative_l1, kEmulationRelL1);
  EXPECT_EQ(lse_mismatch, 0u) << "rows with -inf LSE differ";
  EXPECT_LE(lse_diff, kEmulationLse);
  EXPECT_LE(vs_reference.relative_l1, kReferenceRelL1);
  EXPECT_GE(vs_reference.cosine_similarity, kReferenceCosine);
}

struct Shape {
  std::int64_t batch, heads_q, heads_kv, len_q, len_kv;
};

// Lengths around the 128-token tile edges, a single token, q_len < and > kv_len, GQA and MQA.
const std::vector<Shape> kShapes = {
    {1, 2, 2, 1, 1},       {2, 4, 2, 17, 17},  {1, 4, 1, 127, 129},  {1, 2, 2, 129, 127},
    {1, 2, 1, 1000, 1000}, {1, 3, 3, 300, 1},  {1, 2, 2, 200, 1000}, {1, 4, 2, 1000, 200},
    {2, 2, 1, 256, 384},   {1, 8, 1, 128, 128}};

std::vector<Sm90Case> grid() {
  const QKQuant modes[] = {QKQuant::kInt8PerBlock, QKQuant::kInt8PerWarp, QKQuant::kInt8PerThread};
  std::vector<Sm90Case> cases;
  int i = 0;
  for (QKQuant mode : modes)
    for (int d : {64, 128})
      for (bool causal : {false, true})
        for (int rep = 0; rep < 2; ++rep, ++i) {
          const Shape& s = kShapes[static_cast<std::size_t>(i * 7 + rep) % kShapes.size()];
          Sm90Case c;
          c.spec.batch = s.batch;
          c.spec.heads_q = s.heads_q;
          c.spec.heads_kv = s.heads_kv;
          c.spec.len_q = s.len_q;
          c.spec.len_kv = s.len_kv;
          c.spec.head_dim = d;
          c.spec.causal = causal;
          c.spec.qk_quant = mode;
          c.spec.pv_precision = PVPrecision::kFp8Fp32Accum;
          c.spec.dtype = i % 2 ? DType::kBFloat16 : DType::kFloat16;
          c.spec.layout = i % 3 == 1 ? Layout::kNHD : Layout::kHND;
          c.spec.family = static_cast<InputFamily>(i % 3);
          c.spec.smooth_v = i % 4 == 3;
          c.token_pad = i % 5 == 2 ? 8 : 0;  // padded token stride (even: 4-byte stores)
          cases.push_back(c);
        }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Grid, Sm90Kernel, ::testing::ValuesIn(grid()), case_name);

}  // namespace
}  // namespace sageattn::testing

#endif  // SAGEATTN_HAS_SM90
