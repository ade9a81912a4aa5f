// The quantization pre-pass on the GPU against cpu::quantize_inputs: every buffer bit for bit,
// for both tile shapes, every QK mode, both V formats, the smoothing options and odd lengths.
#include <cuda_runtime.h>

#include <cstring>
#include <sstream>
#include <string>

#include "cpu/emulation_stages.hpp"
#include "cuda/quant/prepass.hpp"
#include "gpu_support.hpp"
#include "quant/tile_shapes.hpp"

namespace sageattn::testing {
namespace {

struct PrepassCase {
  ProblemSpec spec;
  bool sm90_tile = false;
  int token_pad = 0;
  bool want_lse = true;
  int rows_per_cta = 0;  // 0: the pre-pass's choice (one tile per CTA at these sizes)
};

std::string case_name(const ::testing::TestParamInfo<PrepassCase>& info) {
  const PrepassCase& c = info.param;
  std::ostringstream name;
  name << info.index << "_d" << c.spec.head_dim << "_q" << c.spec.len_q << "_k" << c.spec.len_kv
       << (c.sm90_tile ? "_sm90tile" : "_sm80tile")
       << (c.rows_per_cta > 0 ? "_rows" + std::to_string(c.rows_per_cta) : "");
  return name.str();
}

template <typename T>
void expect_same_bits(const char* what, const std::vector<T>& cpu, const DeviceBuffer& ws,
                      std::size_t offset) {
  ASSERT_NE(offset, cuda::QuantizedLayout::kNone) << what;
  const std::vector<T> gpu = ws.read<T>(offset, cpu.size());
  for (std::size_t i = 0; i < cpu.size(); ++i) {
    if (std::memcmp(&cpu[i], &gpu[i], sizeof(T)) != 0) {
      ADD_FAILURE() << what << ": first difference at element " << i << " of " << cpu.size()
                    << ": cpu " << +cpu[i] << " gpu " << +gpu[i];
      return;
    }
  }
}

class Prepass : public GpuParamTest<PrepassCase> {};

TEST_P(Prepass, BitIdenticalWithCpuStages) {
  const PrepassCase& c = GetParam();
  auto rng = seeded_rng();
  HostProblem host(c.spec, rng);
  DeviceProblem device(host, c.token_pad, c.want_lse);
  if (!c.want_lse) host.problem.lse = nullptr;
  const quant::TileShape tile = c.sm90_tile ? quant::kTileSm90 : quant::kTileSm80;
  const cuda::QuantizedLayout layout =
      cuda::plan_quantized_layout(cuda::layout_request(device.problem, tile));
  DeviceBuffer ws(layout.total_bytes);
  ASSERT_NE(ws.get(), nullptr);
  SAGE_CUDA_OK(cudaMemset(ws.get(), 0xA5, layout.total_bytes));  // poison: padding must be written
  const Status status =
      cuda::run_prepass(device.problem, layout, tile, ws.get(), nullptr, c.rows_per_cta);
  ASSERT_TRUE(status.ok()) << status.message();
  SAGE_CUDA_OK(cudaDeviceSynchronize());

  const cpu::QuantizedInputs cpu = cpu::quantize_inputs(host.problem, tile);
  expect_same_bits("q_codes", cpu.q_codes, ws, layout.q_codes);
  expect_same_bits("q_scales", cpu.q_scales, ws, layout.q_scales);
  expect_same_bits("k_codes", cpu.k_codes, ws, layout.k_codes);
  expect_same_bits("k_scales", cpu.k_scales, ws, layout.k_scales);
  expect_same_bits("k_mean", cpu.k_mean, ws, layout.k_mean);
  expect_same_bits("v_mean", cpu.v_mean, ws, layout.v_mean);
  if (c.spec.pv_precision == PVPrecision::kFp8Fp32Accum) {
    expect_same_bits("v_fp8", cpu.v_fp8, ws, layout.v_fp8);
    expect_same_bits("v_scales", cpu.v_scales, ws, layout.v_scales);
  } else {
    expect_same_bits("v_fp16", cpu.v_fp16, ws, layout.v_fp16);
  }
  if (c.spec.smooth_q)
    expect_same_bits("q_mean_logits", cpu.q_mean_logits, ws, layout.q_mean_logits);
  if (c.want_lse) expect_same_bits("lse_shift", cpu.lse_shift, ws, layout.lse_shift);
}

std::vector<PrepassCase> prepass_grid() {
  // The last shape has more (batch, kv head) pairs than a device has statistics CTA slots (396 on
  // an H100), so its statistics launch takes one chunk per head instead of the layout's three.
  const GridShape shapes[] = {{1, 2, 2, 1, 1},      {2, 4, 2, 17, 17},     {1, 4, 1, 63, 65},
                              {1, 2, 2, 65, 63},    {1, 2, 1, 1000, 1000}, {2, 2, 2, 200, 1500},
                              {2, 400, 200, 9, 300}};
  const QKQuant modes[] = {QKQuant::kInt8PerBlock, QKQuant::kInt8PerWarp, QKQuant::kInt8PerThread,
                           QKQuant::kInt4PerThread};
  std::vector<PrepassCase> cases;
  int i = 0;
  for (const GridShape& s : shapes) {
    for (int d : {64, 128}) {
      for (QKQuant mode : modes) {
        PrepassCase c;
        set_extents(s, &c.spec);
        c.spec.head_dim = d;
        c.spec.qk_quant = mode;
        c.spec.dtype = i % 2 ? DType::kBFloat16 : DType::kFloat16;
        c.spec.layout = i % 3 == 1 ? Layout::kNHD : Layout::kHND;
        c.spec.family = static_cast<InputFamily>(i % 4);
        c.spec.pv_precision = i % 2 ? PVPrecision::kFp8Fp32Accum : PVPrecision::kFp16Fp32Accum;
        c.spec.smooth_q = mode == QKQuant::kInt4PerThread || i % 5 == 0;
        c.spec.smooth_v = i % 3 == 0;
        c.spec.smooth_k = i % 7 != 3;
        c.sm90_tile = i % 4 == 2;
        c.token_pad = i % 3 == 2 ? 8 : (i % 11 == 5 ? 3 : 0);
        c.want_lse = i % 6 != 4;
        // Several tiles per CTA (the pipeline over two shared-memory stages, partial last CTAs).
        c.rows_per_cta = i % 3 == 0 ? 1024 : (i % 3 == 1 ? 256 : 0);
        cases.push_back(c);
        ++i;
      }
    }
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Grid, Prepass, ::testing::ValuesIn(prepass_grid()), case_name);

}  // namespace
}  // namespace sageattn::testing
