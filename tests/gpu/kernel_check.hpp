// The check every attention-kernel test makes: run the GPU pre-pass for a tile and one kernel on a
// device copy of a HostProblem, then compare with the CPU emulation of the same tile (the same
// quantized values: tight) and the fp64 reference (the method's quantization error).
//
// Emulation tolerances for every kernel: relative L1 <= 5e-3 and LSE within 2e-3 (tensor-core
// summation order, ex2.approx and the fused s - max FFMA can flip a rare fp8 rounding of P). A
// kernel that adds up l from the e4m3 P its P V reads (tile.pv_row_sums) carries such a
// flip into l too: one e4m3 step of that probability, at most 2^-4 in units of the row maximum
// (p < 1 rounds on a grid of spacing <= 2^-4; the maximum itself is exactly 1 on both sides), and
// l >= 1, so a flip moves the LSE by at most log1p(2^-4) = 0.0606. That is its LSE tolerance (a
// row with two flips is rarer still). Measured on H100 over the Sm90Kernel grid: up to 2.3e-3 in
// most runs, 1.3e-2 once (43200 rows; one empirical 1e-2 tolerance failed on it). The output's
// tolerance stays.
#pragma once

#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <cmath>
#include <iostream>
#include <string>
#include <vector>

#include "cpu/cpu_backend.hpp"
#include "cuda/quant/prepass.hpp"
#include "gpu_support.hpp"
#include "sageattn/metrics.hpp"

namespace sageattn::testing {

inline constexpr double kEmulationRelL1 = 5e-3;
inline constexpr double kEmulationLse = 2e-3;
inline constexpr double kEmulationLseOperandSums = 0.0606;  // log1p(2^-4), above

struct ReferenceBound {
  double relative_l1, cosine;
};

// `launch(problem, layout, workspace)` enqueues the kernel under test on the default stream;
// the CPU emulation writes its output and LSE into `host`.
template <typename Launch>
void check_kernel(HostProblem& host, int token_pad, quant::TileShape tile, Launch launch,
                  ReferenceBound bound, const std::string& label) {
  DeviceProblem device(host, token_pad, true);
  const cuda::QuantizedLayout layout =
      cuda::plan_quantized_layout(cuda::layout_request(device.problem, tile));
  DeviceBuffer ws(layout.total_bytes);
  ASSERT_NE(ws.get(), nullptr);
  Status status = cuda::run_prepass(device.problem, layout, tile, ws.get(), nullptr);
  ASSERT_TRUE(status.ok()) << status.message();
  status = launch(device.problem, layout, ws.get());
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
  std::cout << "[ accuracy ] " << label << " vs_emulation rel_l1 " << vs_emulation.relative_l1
            << " max_abs " << vs_emulation.max_abs_error << " | vs_reference rel_l1 "
            << vs_reference.relative_l1 << " cos " << vs_reference.cosine_similarity
            << " | lse_diff " << lse_diff << "\n";
  EXPECT_EQ(vs_emulation.non_finite, 0u);
  EXPECT_LE(vs_emulation.relative_l1, kEmulationRelL1);
  EXPECT_EQ(lse_mismatch, 0u) << "rows with -inf LSE differ";
  EXPECT_LE(lse_diff, tile.pv_row_sums ? kEmulationLseOperandSums : kEmulationLse);
  EXPECT_LE(vs_reference.relative_l1, bound.relative_l1);
  EXPECT_GE(vs_reference.cosine_similarity, bound.cosine);
}

}  // namespace sageattn::testing
