// Every mma.sync kernel variant (QK codes x PV precision x head dim x causal) against the CPU
// emulation of the same pipeline and against the fp64 reference, over odd lengths, GQA/MQA,
// q_len < and > kv_len, HND/NHD/padded strides, fp16/bf16. Outputs start as NaN and the bytes
// between padded rows must stay untouched.
//
// Tolerances. Against the emulation (same quantized inputs, same operation order per element;
// what differs is fp32 summation order inside the tensor cores, exp2f vs std::exp2 and thus
// rare one-ulp flips of an fp8/fp16 P value): relative L1 <= 5e-3, LSE within 2e-3 absolute.
// Against the fp64 reference (quantization error): see reference_bound().
#include <cuda_runtime.h>

#include <cmath>
#include <iostream>
#include <sstream>

#include "cpu/cpu_backend.hpp"
#include "cuda/quant/prepass.hpp"
#include "cuda/sm80/launch_table.hpp"
#include "gpu_support.hpp"
#include "kernel_check.hpp"
#include "quant/tile_shapes.hpp"
#include "sageattn/metrics.hpp"

namespace sageattn::testing {
namespace {

struct KernelCase {
  ProblemSpec spec;
  int token_pad = 0;
};

ReferenceBound reference_bound(const ProblemSpec& s) {
  // INT4's 15 levels lose much of the output on these families (the CPU emulation measures
  // rel L1 0.46 / cosine 0.87 on gaussian, tests/unit/test_cpu_emulation_accuracy.cpp).
  if (s.qk_quant == QKQuant::kInt4PerThread) return {0.55, 0.80};
  if (s.pv_precision == PVPrecision::kFp8Fp32Accum) return {0.08, 0.995};
  return {0.05, 0.998};
}

const char* qk_name(QKQuant q) {
  switch (q) {
    case QKQuant::kInt8PerBlock:
      return "int8block";
    case QKQuant::kInt8PerWarp:
      return "int8warp";
    case QKQuant::kInt8PerThread:
      return "int8thread";
    default:
      return "int4";
  }
}

const char* pv_name(PVPrecision p) {
  switch (p) {
    case PVPrecision::kFp16Fp16Accum:
      return "fp16acc16";
    case PVPrecision::kFp8Fp32Accum:
      return "fp8";
    default:
      return "fp16acc32";
  }
}

std::string describe(const KernelCase& c) {
  const ProblemSpec& s = c.spec;
  std::ostringstream name;
  name << qk_name(s.qk_quant) << "_" << pv_name(s.pv_precision) << "_d" << s.head_dim
       << (s.causal ? "_causal" : "_full") << "_b" << s.batch << "h" << s.heads_q << "kv"
       << s.heads_kv << "_q" << s.len_q << "_k" << s.len_kv << "_"
       << (s.layout == Layout::kHND ? "hnd" : "nhd") << (c.token_pad ? "pad" : "")
       << (s.dtype == DType::kBFloat16 ? "_bf16" : "_fp16") << (s.smooth_q ? "_sq" : "")
       << (s.smooth_v ? "_sv" : "") << "_" << to_string(s.family);
  return name.str();
}

std::string case_name(const ::testing::TestParamInfo<KernelCase>& info) {
  return std::to_string(info.index) + "_" + describe(info.param);
}

class Sm80Kernel : public GpuParamTest<KernelCase> {};

TEST_P(Sm80Kernel, MatchesEmulationAndReference) {
  const KernelCase& c = GetParam();
  if (c.spec.pv_precision == PVPrecision::kFp8Fp32Accum && device_capability() < 89) {
    GTEST_SKIP() << "fp8 PV needs sm89+";
  }
  auto rng = seeded_rng();
  HostProblem host(c.spec, rng);
  check_kernel(
      host, c.token_pad, quant::kTileSm80,
      [](const core::AttentionProblem& problem, const cuda::QuantizedLayout& layout, void* ws) {
        return cuda::sm80::launch(problem, layout, ws, nullptr);
      },
      reference_bound(c.spec), describe(c));
}

std::vector<KernelCase> kernel_grid(const std::vector<GridShape>& shapes, int per_variant) {
  const QKQuant modes[] = {QKQuant::kInt8PerBlock, QKQuant::kInt8PerWarp, QKQuant::kInt8PerThread,
                           QKQuant::kInt4PerThread};
  const PVPrecision pvs[] = {PVPrecision::kFp16Fp32Accum, PVPrecision::kFp16Fp16Accum,
                             PVPrecision::kFp8Fp32Accum};
  std::vector<KernelCase> cases;
  int i = 0;
  for (QKQuant mode : modes)
    for (PVPrecision pv : pvs)
      for (int d : {64, 128})
        for (bool causal : {false, true})
          for (int rep = 0; rep < per_variant; ++rep, ++i) {
            KernelCase c;
            vary_grid_case(shapes, i, rep, &c.spec);
            c.spec.head_dim = d;
            c.spec.causal = causal;
            c.spec.qk_quant = mode;
            c.spec.pv_precision = pv;
            c.spec.smooth_q = mode == QKQuant::kInt4PerThread;
            c.token_pad = i % 5 == 2 ? 8 : (i % 13 == 6 ? 3 : 0);
            cases.push_back(c);
          }
  return cases;
}

const std::vector<GridShape> kGridShapes = {
    {1, 2, 2, 1, 1},       {2, 4, 2, 17, 17}, {1, 4, 1, 63, 65},    {1, 2, 2, 65, 63},
    {1, 2, 1, 1000, 1000}, {1, 3, 3, 300, 1}, {1, 2, 2, 200, 1000}, {1, 4, 2, 1000, 200},
    {2, 2, 1, 129, 257},   {1, 8, 1, 64, 128}};

INSTANTIATE_TEST_SUITE_P(Grid, Sm80Kernel, ::testing::ValuesIn(kernel_grid(kGridShapes, 2)),
                         case_name);

// The reduced grid compute-sanitizer runs (memcheck, racecheck): small shapes, every variant once.
const std::vector<GridShape> kSanitizerShapes = {
    {1, 2, 1, 17, 65}, {1, 2, 2, 65, 17}, {1, 2, 2, 1, 1}};
INSTANTIATE_TEST_SUITE_P(Sanitizer, Sm80Kernel,
                         ::testing::ValuesIn(kernel_grid(kSanitizerShapes, 1)), case_name);

}  // namespace
}  // namespace sageattn::testing
