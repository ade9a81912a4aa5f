// Dispatch: options per compute capability, clear errors for what a device cannot run, and the
// public API on CUDA tensors end to end (auto options, caller workspace and per-call allocation).
#include <cuda_runtime.h>

#include <iostream>

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
    EXPECT_EQ(pv, cuda::fp8_kernels_built() ? PVPrecision::kFp8Fp32Accum : PVPrecision::kFp16Fp32Accum);
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
    const TensorView q = view_of(device.q, host.q);
    const TensorView k = view_of(device.k, host.k);
    const TensorView v = view_of(device.v, host.v);
    const TensorView out = view_of(device.out, host.out);
    TensorView lse = TensorView::contiguous3(device.lse.get(), DType::kFloat32,
                                             {spec.batch, spec.heads_q, spec.len_q},
                                             {DeviceKind::kCUDA, 0});
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
    ASSERT_TRUE(cuda::resolve_options(device_capability(), &resolved.qk_quant, &resolved.pv_precision).ok());
    host.problem.qk_quant = resolved.qk_quant;
    host.problem.pv_precision = resolved.pv_precision;
    ASSERT_TRUE(cpu::emulate_attention(host.problem, cuda::tile_for(host.problem, device_capability())).ok());
    bool gaps = false;
    const std::vector<float> gpu = device.output(host, &gaps);
    const std::vector<float> emulated = host.out.to_bhnd();
    const AccuracyMetrics m = compare_outputs(gpu.data(), emulated.data(), gpu.size());
    std::cout << "[ accuracy ] public API vs emulation rel_l1 " << m.relative_l1 << "\n";
    EXPECT_EQ(m.non_finite, 0u);
    EXPECT_LE(m.relative_l1, 5e-3);
  }
}

}  // namespace
}  // namespace sageattn::testing
