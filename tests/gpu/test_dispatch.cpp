// Dispatch: options per compute capability, clear errors for what a device cannot run, and the
// public API on CUDA tensors end to end (auto options, caller workspace and per-call allocation).
#include <cuda_runtime.h>

#include <cmath>
#include <iostream>
#include <string>
#include <vector>

#include "cpu/cpu_backend.hpp"
#include "cuda/cuda_backend.hpp"
#include "cuda/kernel_selection.hpp"
#include "gpu_support.hpp"
#include "sageattn/metrics.hpp"
#include "sageattn/sageattn.hpp"

namespace sageattn::testing {
namespace {

TEST(ResolveOptions, AutoPicksPerArchitecture) {
  QKQuant qk = QKQuant::kAuto;
  PVPrecision pv = PVPrecision::kAuto;
  ASSERT_TRUE(cuda::resolve_options(80, &qk, &pv).ok());
  EXPECT_EQ(qk, QKQuant::kInt8PerWarp);
  EXPECT_EQ(pv, PVPrecision::kFp16Fp32Accum);
  for (int capability : {89, 90}) {
    qk = QKQuant::kAuto;
    pv = PVPrecision::kAuto;
    ASSERT_TRUE(cuda::resolve_options(capability, &qk, &pv).ok());
    EXPECT_EQ(qk, QKQuant::kInt8PerWarp);
    EXPECT_EQ(pv,
              cuda::fp8_kernels_built() ? PVPrecision::kFp8Fp32Accum : PVPrecision::kFp16Fp32Accum);
  }
}

TEST(ResolveOptions, ReportsWhatTheDeviceCannotRun) {
  QKQuant qk = QKQuant::kInt8PerWarp;
  PVPrecision pv = PVPrecision::kFp8Fp32Accum;
  Status s = cuda::resolve_options(80, &qk, &pv);
  EXPECT_EQ(s.code(), StatusCode::kUnsupported);
  EXPECT_NE(s.message().find("sm89"), std::string::npos) << s.message();
  qk = QKQuant::kNone;
  pv = PVPrecision::kFp16Fp32Accum;
  EXPECT_EQ(cuda::resolve_options(89, &qk, &pv).code(), StatusCode::kUnsupported);
  qk = QKQuant::kAuto;
  pv = PVPrecision::kAuto;
  EXPECT_EQ(cuda::resolve_options(75, &qk, &pv).code(), StatusCode::kUnsupported);
  qk = QKQuant::kInt4PerThread;
  pv = PVPrecision::kFp16Fp32Accum;
  EXPECT_TRUE(cuda::resolve_options(90, &qk, &pv).ok());
}

class PublicApi : public GpuTest {};

TensorView view_of(const DeviceTensor& t, const HostTensor& h) {
  TensorView v;
  v.data = t.buffer->get();
  v.dtype = h.dtype;
  v.device = {DeviceKind::kCUDA, 0};
  if (h.layout == Layout::kHND) {
    v.shape = {h.batch, h.heads, h.tokens, h.head_dim};
    v.strides = {t.strides.batch, t.strides.head, t.strides.token, 1};
  } else {
    v.shape = {h.batch, h.tokens, h.heads, h.head_dim};
    v.strides = {t.strides.batch, t.strides.token, t.strides.head, 1};
  }
  return v;
}

// The public API's views of a device problem, with its LSE buffer.
struct ApiViews {
  TensorView q, k, v, out, lse;
  static ApiViews of(const DeviceProblem& device, const HostProblem& host) {
    const core::AttentionProblem& p = host.problem;
    return {view_of(device.q, host.q), view_of(device.k, host.k), view_of(device.v, host.v),
            view_of(device.out, host.out),
            TensorView::contiguous3(device.lse.get(), DType::kFloat32,
                                    {p.batch, p.heads_q, p.len_q}, {DeviceKind::kCUDA, 0})};
  }
};

TEST_F(PublicApi, AutoOptionsMatchTheEmulationOfTheChosenKernel) {
  auto rng = seeded_rng();
  for (bool caller_workspace : {false, true}) {
    ProblemSpec spec;
    spec.batch = 2;
    spec.heads_q = 4;
    spec.heads_kv = 2;
    spec.len_q = 300;
    spec.len_kv = 333;
    spec.head_dim = 128;
    spec.causal = true;
    spec.layout = Layout::kNHD;
    spec.family = InputFamily::kKChannelBias;
    HostProblem host(spec, rng);
    DeviceProblem device(host, 0, true);
    const auto [q, k, v, out, lse] = ApiViews::of(device, host);
    Options options;
    options.layout = spec.layout;
    options.causal = true;
    std::size_t bytes = 0;
    ASSERT_TRUE(workspace_bytes(q, k, v, options, &bytes).ok());
    DeviceBuffer ws(bytes);
    const Workspace workspace = caller_workspace ? Workspace{ws.get(), bytes} : Workspace{};
    const Status status = attention(q, k, v, out, &lse, options, workspace, nullptr);
    ASSERT_TRUE(status.ok()) << status.message();
    SAGE_CUDA_OK(cudaDeviceSynchronize());

    core::AttentionProblem resolved = host.problem;
    ASSERT_TRUE(
        cuda::resolve_options(device_capability(), &resolved.qk_quant, &resolved.pv_precision)
            .ok());
    host.problem.qk_quant = resolved.qk_quant;
    host.problem.pv_precision = resolved.pv_precision;
    ASSERT_TRUE(
        cpu::emulate_attention(host.problem, cuda::tile_for(host.problem, device_capability()))
            .ok());
    bool gaps = false;
    const std::vector<float> gpu = device.output(host, &gaps);
    const std::vector<float> emulated = host.out.to_bhnd();
    const AccuracyMetrics m = compare_outputs(gpu.data(), emulated.data(), gpu.size());
    std::cout << "[ accuracy ] public API vs emulation rel_l1 " << m.relative_l1 << "\n";
    EXPECT_EQ(m.non_finite, 0u);
    EXPECT_LE(m.relative_l1, 5e-3);
  }
}

// A NaN input reaches the outputs that depend on it as NaN on every kernel (the Hopper kernel for
// fp8 PV on sm90, the mma.sync kernel for fp16 PV; INT4 QK through mma.sync too): in K every row of
// the head, in Q its row, in V that channel of every row (tests/unit has the CPU side). A clean
// call first fills the output with finite values, so the NaN below were computed.
TEST_F(PublicApi, NanInputsReachTheOutputsThatDependOnThem) {
  auto rng = seeded_rng();
  struct Mode {
    QKQuant qk;
    PVPrecision pv;
  };
  for (const Mode mode : {Mode{QKQuant::kAuto, PVPrecision::kAuto},
                          Mode{QKQuant::kInt8PerWarp, PVPrecision::kFp16Fp32Accum},
                          Mode{QKQuant::kInt4PerThread, PVPrecision::kFp16Fp32Accum}}) {
    for (const char which : {'q', 'k', 'v'}) {
      ProblemSpec spec;
      spec.heads_q = spec.heads_kv = 2;
      spec.len_q = spec.len_kv = 300;
      spec.head_dim = 128;
      HostProblem host(spec, rng);
      DeviceProblem device(host, 0, true);
      const auto [q, k, v, out, lse] = ApiViews::of(device, host);
      Options options;
      options.qk_quant = mode.qk;
      options.pv_precision = mode.pv;
      ASSERT_TRUE(attention(q, k, v, out, &lse, options, {}, nullptr).ok());
      bool gaps = false;
      for (const float x : device.output(host, &gaps)) ASSERT_TRUE(std::isfinite(x));

      constexpr std::int64_t kToken = 7;
      constexpr int kChannel = 3;
      const DeviceTensor& target = which == 'q' ? device.q : (which == 'k' ? device.k : device.v);
      const std::uint16_t nan_bits = 0x7E00;  // fp16 NaN
      auto* element = static_cast<std::uint16_t*>(target.buffer->get()) +
                      target.strides.offset(0, 0, kToken) + kChannel;
      SAGE_CUDA_OK(cudaMemcpy(element, &nan_bits, 2, cudaMemcpyHostToDevice));
      ASSERT_TRUE(attention(q, k, v, out, &lse, options, {}, nullptr).ok());
      SAGE_CUDA_OK(cudaDeviceSynchronize());
      const std::vector<float> result = device.output(host, &gaps);
      std::vector<float> lse_values(host.lse.size());
      SAGE_CUDA_OK(cudaMemcpy(lse_values.data(), device.lse.get(), lse_values.size() * 4,
                              cudaMemcpyDeviceToHost));
      const int dim = spec.head_dim;
      for (std::int64_t h = 0; h < spec.heads_q; ++h) {
        for (std::int64_t i = 0; i < spec.len_q; ++i) {
          const float row_lse = lse_values[static_cast<std::size_t>(h * spec.len_q + i)];
          for (int d = 0; d < dim; ++d) {
            const float x = result[static_cast<std::size_t>((h * spec.len_q + i) * dim + d)];
            const std::string where =
                std::string("qk ") + std::to_string(static_cast<int>(mode.qk)) + " pv " +
                std::to_string(static_cast<int>(mode.pv)) + " nan in " + which + " head " +
                std::to_string(h) + " row " + std::to_string(i) + " d " + std::to_string(d);
            if (h != 0) {
              ASSERT_TRUE(std::isfinite(x)) << where;
            } else if (which == 'k' || (which == 'q' && i == kToken)) {
              ASSERT_TRUE(std::isnan(x)) << where;
              ASSERT_TRUE(std::isnan(row_lse)) << where;
            } else if (which == 'v') {
              ASSERT_EQ(std::isnan(x), d == kChannel) << where;
              ASSERT_TRUE(std::isfinite(row_lse)) << where;
            }
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace sageattn::testing
