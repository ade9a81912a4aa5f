// Development harness of the Hopper kernel (issue 5), independent of the CUDA pre-pass:
//   check  quantizes random inputs on the host with the CPU pre-pass stages (bit-identical to the
//          GPU pre-pass by contract), uploads them in the QuantizedLayout, runs the sm90 kernel and
//          compares against the CPU emulation (same arithmetic) and the fp64 reference, over a
//          grid of shapes, layouts, masks, granularities and dtypes (check-small: the cases
//          short enough for compute-sanitizer; check-long: 16k-32k keys per query);
//   bench  times the kernel alone (cudaEvent, median) on synthetic codes for the issue's shapes,
//          rotating workspaces so small problems do not run out of L2.
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/problem.hpp"
#include "cpu/cpu_backend.hpp"
#include "cpu/emulation_stages.hpp"
#include "cpu/half_convert.hpp"
#include "cuda/quant/quantized_layout.hpp"
#include "cuda/sm90_entry.hpp"
#include "quant/tile_shapes.hpp"

namespace {

using sageattn::DType;
using sageattn::QKQuant;
using sageattn::core::AttentionProblem;
using sageattn::core::TokenStrides;
namespace cpu = sageattn::cpu;
namespace cuda = sageattn::cuda;

#define CHECK_CUDA(call)                                                                           \
  do {                                                                                             \
    const cudaError_t err_ = (call);                                                               \
    if (err_ != cudaSuccess) {                                                                     \
      std::fprintf(stderr, "%s:%d %s: %s\n", __FILE__, __LINE__, #call, cudaGetErrorString(err_)); \
      std::exit(2);                                                                                \
    }                                                                                              \
  } while (0)

void check_status(const sageattn::Status& s, const char* what) {
  if (!s.ok()) {
    std::fprintf(stderr, "%s: %s\n", what, s.message().c_str());
    std::exit(2);
  }
}

struct Case {
  int batch, heads_q, heads_kv, len_q, len_kv, head_dim;
  bool causal, nhd, bf16, lse, smooth_v;
  QKQuant qk;
};

const char* qk_name(QKQuant q) {
  return q == QKQuant::kInt8PerBlock ? "block" : q == QKQuant::kInt8PerThread ? "thread" : "warp";
}

// Strides of a [B, H, N, D] tensor stored HND or NHD, with `pad` extra elements per token row so
// the kernel sees non-dense strides.
TokenStrides strides_of(const Case& c, int heads, int len, int pad) {
  const std::int64_t row = c.head_dim + pad;
  if (c.nhd) return {len * heads * row, row, heads * row};
  return {heads * len * row, len * row, row};
}

std::uint16_t to_bits(float x, bool bf16) {
  return bf16 ? cpu::float_to_bf16(x) : cpu::float_to_fp16(x);
}
float from_bits(std::uint16_t b, bool bf16) {
  return bf16 ? cpu::bf16_to_float(b) : cpu::fp16_to_float(b);
}

template <typename T>
void upload(std::uint8_t* workspace, std::size_t offset, const std::vector<T>& host) {
  if (offset == cuda::QuantizedLayout::kNone || host.empty()) return;
  CHECK_CUDA(
      cudaMemcpy(workspace + offset, host.data(), host.size() * sizeof(T), cudaMemcpyHostToDevice));
}

cuda::QuantizedLayout plan(const AttentionProblem& p, bool want_lse) {
  cuda::LayoutRequest r{};
  r.batch = p.batch;
  r.heads_q = p.heads_q;
  r.heads_kv = p.heads_kv;
  r.len_q = p.len_q;
  r.len_kv = p.len_kv;
  r.head_dim = p.head_dim;
  r.tile = sageattn::quant::kTileSm90;
  r.granularity = p.qk_granularity();
  r.int4 = false;
  r.fp8_v = true;
  r.smooth_q = false;
  r.smooth_v = p.smooth_v;
  r.want_lse = want_lse;
  return cuda::plan_quantized_layout(r);
}

struct Errors {
  double emu_max_rel = 0;  // max |gpu - emu| / max |emu|
  double ref_rel_l1 = 0;   // sum |gpu - ref| / sum |ref|
  double ref_cos = 0;
  double lse_max_abs = 0;
  long unwritten = 0;  // NaN / poison left in the output
};

Errors run_case(const Case& c, std::mt19937& rng) {
  const int pad = 8;
  const TokenStrides qs = strides_of(c, c.heads_q, c.len_q, pad);
  const TokenStrides ks = strides_of(c, c.heads_kv, c.len_kv, pad);
  const std::size_t q_elems = static_cast<std::size_t>(qs.batch) * c.batch;
  const std::size_t k_elems = static_cast<std::size_t>(ks.batch) * c.batch;
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<std::uint16_t> q(q_elems), k(k_elems), v(k_elems);
  // Per-channel spread and a K bias (what K smoothing is for), as the accuracy anchors use.
  std::vector<float> channel_std(c.head_dim), k_bias(c.head_dim), v_bias(c.head_dim);
  std::uniform_real_distribution<float> spread(1.0f, 3.0f);
  for (int d = 0; d < c.head_dim; ++d) {
    channel_std[d] = spread(rng);
    k_bias[d] = 4.0f * normal(rng);
    v_bias[d] = c.smooth_v ? 2.0f * normal(rng) : 0.0f;
  }
  for (std::size_t i = 0; i < q_elems; ++i) {
    const int d = static_cast<int>(i % (c.head_dim + pad)) % c.head_dim;
    q[i] = to_bits(normal(rng) * channel_std[d], c.bf16);
  }
  for (std::size_t i = 0; i < k_elems; ++i) {
    const int d = static_cast<int>(i % (c.head_dim + pad)) % c.head_dim;
    k[i] = to_bits(normal(rng) * channel_std[d] + k_bias[d], c.bf16);
    v[i] = to_bits(normal(rng) + v_bias[d], c.bf16);
  }

  AttentionProblem p{};
  p.batch = c.batch;
  p.heads_q = c.heads_q;
  p.heads_kv = c.heads_kv;
  p.len_q = c.len_q;
  p.len_kv = c.len_kv;
  p.head_dim = c.head_dim;
  p.dtype = c.bf16 ? DType::kBFloat16 : DType::kFloat16;
  p.q = q.data();
  p.k = k.data();
  p.v = v.data();
  p.q_strides = qs;
  p.k_strides = ks;
  p.v_strides = ks;
  p.out_strides = strides_of(c, c.heads_q, c.len_q, pad);
  p.lse_strides = {static_cast<std::int64_t>(c.heads_q) * c.len_q, c.len_q, 1};
  p.causal = c.causal;
  p.sm_scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));
  p.qk_quant = c.qk;
  p.pv_precision = sageattn::PVPrecision::kFp8Fp32Accum;
  p.smooth_k = true;
  p.smooth_v = c.smooth_v;

  // CPU: emulation (the kernel's arithmetic) and fp64 reference.
  std::vector<std::uint16_t> out_emu(q_elems, 0);
  std::vector<float> lse_emu(static_cast<std::size_t>(c.batch) * c.heads_q * c.len_q);
  AttentionProblem pe = p;
  pe.out = out_emu.data();
  pe.lse = c.lse ? lse_emu.data() : nullptr;
  check_status(cpu::emulate_attention(pe, sageattn::quant::kTileSm90), "emulate");
  std::vector<double> ref;
  cpu::reference_attention_f64(p, ref, nullptr);

  // GPU: host-quantized buffers in the workspace layout, then the kernel.
  const cpu::QuantizedInputs qi = cpu::quantize_inputs(p, sageattn::quant::kTileSm90);
  const cuda::QuantizedLayout layout = plan(p, c.lse);
  std::uint8_t* workspace = nullptr;
  CHECK_CUDA(cudaMalloc(&workspace, layout.total_bytes));
  CHECK_CUDA(cudaMemset(workspace, 0, layout.total_bytes));
  upload(workspace, layout.q_codes, qi.q_codes);
  upload(workspace, layout.q_scales, qi.q_scales);
  upload(workspace, layout.k_codes, qi.k_codes);
  upload(workspace, layout.k_scales, qi.k_scales);
  upload(workspace, layout.k_mean, qi.k_mean);
  upload(workspace, layout.v_fp8, qi.v_fp8);
  upload(workspace, layout.v_scales, qi.v_scales);
  upload(workspace, layout.v_mean, qi.v_mean);
  if (c.lse) upload(workspace, layout.lse_shift, qi.lse_shift);
  void* out_dev = nullptr;
  float* lse_dev = nullptr;
  CHECK_CUDA(cudaMalloc(&out_dev, q_elems * 2));
  CHECK_CUDA(cudaMemset(out_dev, 0xFF, q_elems * 2));  // NaN in fp16 and bf16
  CHECK_CUDA(cudaMalloc(&lse_dev, lse_emu.size() * 4));
  CHECK_CUDA(cudaMemset(lse_dev, 0xFF, lse_emu.size() * 4));
  AttentionProblem pd = p;
  pd.out = out_dev;
  pd.lse = c.lse ? lse_dev : nullptr;
  if (!cuda::sm90::accepts(pd)) {
    std::fprintf(stderr, "sm90 kernel does not accept the case\n");
    std::exit(2);
  }
  check_status(cuda::sm90::launch_attention(pd, layout, workspace, nullptr), "launch");
  CHECK_CUDA(cudaDeviceSynchronize());
  std::vector<std::uint16_t> out_gpu(q_elems);
  std::vector<float> lse_gpu(lse_emu.size());
  CHECK_CUDA(cudaMemcpy(out_gpu.data(), out_dev, q_elems * 2, cudaMemcpyDeviceToHost));
  CHECK_CUDA(cudaMemcpy(lse_gpu.data(), lse_dev, lse_gpu.size() * 4, cudaMemcpyDeviceToHost));
  CHECK_CUDA(cudaFree(workspace));
  CHECK_CUDA(cudaFree(out_dev));
  CHECK_CUDA(cudaFree(lse_dev));

  Errors e;
  double max_emu = 0, max_diff = 0, l1 = 0, l1_ref = 0, dot = 0, n_gpu = 0, n_ref = 0;
  for (int b = 0; b < c.batch; ++b) {
    for (int h = 0; h < c.heads_q; ++h) {
      for (int n = 0; n < c.len_q; ++n) {
        const std::int64_t row = p.out_strides.offset(b, h, n);
        const std::size_t ref_row =
            ((static_cast<std::size_t>(b) * c.heads_q + h) * c.len_q + n) * c.head_dim;
        for (int d = 0; d < c.head_dim; ++d) {
          const double g = from_bits(out_gpu[row + d], c.bf16);
          const double m = from_bits(out_emu[row + d], c.bf16);
          const double r = ref[ref_row + d];
          if (!std::isfinite(g)) {
            ++e.unwritten;
            continue;
          }
          max_emu = std::max(max_emu, std::fabs(m));
          max_diff = std::max(max_diff, std::fabs(g - m));
          l1 += std::fabs(g - r);
          l1_ref += std::fabs(r);
          dot += g * r;
          n_gpu += g * g;
          n_ref += r * r;
        }
        if (c.lse) {
          const std::size_t i = (static_cast<std::size_t>(b) * c.heads_q + h) * c.len_q + n;
          const float lg = lse_gpu[i], le = lse_emu[i];
          if (std::isinf(le) && lg == le) continue;
          if (!std::isfinite(lg)) {
            ++e.unwritten;
            continue;
          }
          e.lse_max_abs = std::max(e.lse_max_abs, static_cast<double>(std::fabs(lg - le)));
        }
      }
    }
  }
  e.emu_max_rel = max_emu > 0 ? max_diff / max_emu : max_diff;
  e.ref_rel_l1 = l1_ref > 0 ? l1 / l1_ref : l1;
  e.ref_cos = n_gpu > 0 && n_ref > 0 ? dot / std::sqrt(n_gpu * n_ref) : 1.0;
  return e;
}

enum class Grid { kFull, kSmall, kLong };

// kSmall keeps the cases short enough for compute-sanitizer; kLong runs 16k-32k keys per query,
// where the accumulation over many K/V tiles shows (the two-level P V sum, bench/NOTES.md v15).
int check_grid(Grid grid) {
  std::mt19937 rng(std::random_device{}());
  const std::vector<Case> long_cases = {
      // B, Hq, Hkv, Nq, Nkv, D, causal, nhd, bf16, lse, smooth_v, qk
      {1, 2, 2, 256, 16384, 128, false, false, true, true, false, QKQuant::kInt8PerWarp},
      {1, 2, 2, 256, 16384, 128, false, false, true, true, true, QKQuant::kInt8PerWarp},
      {1, 2, 2, 256, 32768, 128, false, false, true, true, false, QKQuant::kInt8PerWarp},
      {1, 2, 2, 256, 16384, 64, false, false, true, true, false, QKQuant::kInt8PerWarp},
      {1, 2, 2, 256, 16384, 64, false, false, true, true, true, QKQuant::kInt8PerWarp},
  };
  const std::vector<Case> grid_cases = {
      // B, Hq, Hkv, Nq, Nkv, D, causal, nhd, bf16, lse, smooth_v, qk
      {1, 2, 2, 128, 128, 128, false, false, false, true, false, QKQuant::kInt8PerWarp},
      {2, 4, 2, 300, 517, 128, false, true, true, true, false, QKQuant::kInt8PerWarp},
      {1, 4, 1, 1, 1, 128, false, false, false, true, false, QKQuant::kInt8PerBlock},
      {1, 2, 2, 777, 777, 128, true, false, false, true, false, QKQuant::kInt8PerThread},
      {2, 3, 3, 200, 650, 64, true, true, false, true, true, QKQuant::kInt8PerWarp},
      {1, 2, 1, 650, 200, 64, true, false, true, true, false, QKQuant::kInt8PerThread},
      {1, 2, 2, 1000, 1000, 64, false, false, false, false, false, QKQuant::kInt8PerBlock},
      {1, 8, 2, 513, 1024, 128, true, true, true, true, true, QKQuant::kInt8PerBlock},
      {1, 1, 1, 2048, 2048, 128, false, false, true, true, false, QKQuant::kInt8PerWarp},
      // More work tiles than an H100 has SMs: persistent CTAs take 3-4 each, so the Q buffers and
      // the K/V ring wrap across work tiles (the first is also short enough for the sanitizers).
      {4, 36, 12, 300, 300, 64, true, true, true, true, false, QKQuant::kInt8PerThread},
      {1, 40, 8, 1024, 1536, 128, false, false, false, true, true, QKQuant::kInt8PerWarp},
  };
  const std::vector<Case>& cases = grid == Grid::kLong ? long_cases : grid_cases;
  // Tolerances: the GPU and the emulation compute the same quantized values; they differ by the
  // tensor cores' fp32 summation order and ex2.approx (2 ulp), which can flip an e4m3 rounding
  // of P (1/16 relative on one term): a few 1e-3 of the output's range at most.
  constexpr double kEmuTolerance = 2e-2;
  // l adds up the e4m3 P the P V wgmma reads: one rounding flip against the emulation moves the
  // LSE by up to log1p(2^-4) (tests/gpu/kernel_check.hpp).
  const double kLseTolerance = std::log1p(1.0 / 16);
  int failures = 0;
  std::printf("%-44s %11s %11s %9s %9s %s\n", "case", "emu_maxrel", "ref_relL1", "ref_cos",
              "lse_abs", "result");
  for (const Case& c : cases) {
    if (grid == Grid::kSmall && std::max(c.len_q, c.len_kv) > 700) continue;
    const Errors e = run_case(c, rng);
    const bool ok = e.unwritten == 0 && e.emu_max_rel < kEmuTolerance &&
                    e.lse_max_abs < kLseTolerance && e.ref_cos > 0.99;
    failures += ok ? 0 : 1;
    char name[128];
    std::snprintf(name, sizeof name, "B%d H%d/%d N%d/%d D%d %s %s %s %s%s", c.batch, c.heads_q,
                  c.heads_kv, c.len_q, c.len_kv, c.head_dim, c.causal ? "causal" : "full",
                  c.nhd ? "NHD" : "HND", c.bf16 ? "bf16" : "fp16", qk_name(c.qk),
                  c.smooth_v ? " sv" : "");
    std::printf("%-44s %11.2e %11.2e %9.6f %9.2e %s%s\n", name, e.emu_max_rel, e.ref_rel_l1,
                e.ref_cos, e.lse_max_abs, ok ? "ok" : "FAIL",
                e.unwritten ? (" unwritten=" + std::to_string(e.unwritten)).c_str() : "");
  }
  std::printf("%d of %zu cases failed\n", failures, cases.size());
  return failures == 0 ? 0 : 1;
}

// Synthetic codes for timing: random INT8 Q/K, e4m3 V from a small finite range, scales giving
// logits of unit-ish spread (so exp2 and the mask see realistic values).
__global__ void fill_random_bytes(std::uint8_t* data, std::size_t n, std::uint32_t seed, bool fp8) {
  for (std::size_t i = blockIdx.x * std::size_t{blockDim.x} + threadIdx.x; i < n;
       i += std::size_t{gridDim.x} * blockDim.x) {
    std::uint32_t x = static_cast<std::uint32_t>(i) * 2654435761u ^ seed;
    x ^= x >> 15;
    x *= 2246822519u;
    x ^= x >> 13;
    data[i] = fp8 ? static_cast<std::uint8_t>((x & 0x3F) | (x & 0x80))  // |v| < 2, never NaN
                  : static_cast<std::uint8_t>(static_cast<std::int8_t>(x % 255 - 127));
  }
}
__global__ void fill_value(float* data, std::size_t n, float value) {
  for (std::size_t i = blockIdx.x * std::size_t{blockDim.x} + threadIdx.x; i < n;
       i += std::size_t{gridDim.x} * blockDim.x)
    data[i] = value;
}

int bench(int argc, char** argv) {
  struct Shape {
    int n, d;
    bool causal;
  };
  std::vector<Shape> shapes = {{1024, 128, false}, {4096, 128, false}, {16384, 128, false},
                               {1024, 128, true},  {4096, 128, true},  {16384, 128, true},
                               {1024, 64, false},  {4096, 64, false},  {16384, 64, false},
                               {1024, 64, true},   {4096, 64, true},   {16384, 64, true}};
  const int batch = 4, heads = 32;
  const int iterations = argc > 2 ? std::atoi(argv[2]) : 30;
  std::printf("%-24s %10s %10s\n", "shape", "ms", "TOPS");
  // SM90_ONLY="d,causal,n ..." times only the listed shapes (e.g. "128,0,4096 64,1,1024").
  const char* only = std::getenv("SM90_ONLY");
  for (const Shape& s : shapes) {
    if (only != nullptr) {
      char key[64];
      std::snprintf(key, sizeof key, "%d,%d,%d", s.d, s.causal ? 1 : 0, s.n);
      if (std::string(only).find(key) == std::string::npos) continue;
    }
    AttentionProblem p{};
    p.batch = batch;
    p.heads_q = heads;
    p.heads_kv = heads;
    p.len_q = s.n;
    p.len_kv = s.n;
    p.head_dim = s.d;
    p.dtype = DType::kBFloat16;
    p.causal = s.causal;
    p.sm_scale = 1.0f / std::sqrt(static_cast<float>(s.d));
    p.qk_quant = QKQuant::kInt8PerWarp;
    p.pv_precision = sageattn::PVPrecision::kFp8Fp32Accum;
    const cuda::QuantizedLayout layout = plan(p, false);
    // Enough copies that the rotation exceeds L2 (50 MB) several times over.
    const int copies =
        static_cast<int>(std::clamp<std::size_t>((200u << 20) / layout.total_bytes + 1, 1, 8));
    std::vector<std::uint8_t*> workspaces(copies);
    const std::size_t out_elems = static_cast<std::size_t>(batch) * heads * s.n * s.d;
    void* out = nullptr;
    CHECK_CUDA(cudaMalloc(&out, out_elems * 2));
    p.out = out;
    p.out_strides = {static_cast<std::int64_t>(heads) * s.n * s.d,
                     static_cast<std::int64_t>(s.n) * s.d, s.d};
    for (int i = 0; i < copies; ++i) {
      CHECK_CUDA(cudaMalloc(&workspaces[i], layout.total_bytes));
      CHECK_CUDA(cudaMemset(workspaces[i], 0, layout.total_bytes));
      std::uint8_t* w = workspaces[i];
      const std::size_t qn = static_cast<std::size_t>(batch) * heads * layout.q_pad * s.d;
      const std::size_t kn = static_cast<std::size_t>(batch) * heads * layout.k_pad * s.d;
      fill_random_bytes<<<1024, 256>>>(w + layout.q_codes, qn, 17u + i, false);
      fill_random_bytes<<<1024, 256>>>(w + layout.k_codes, kn, 29u + i, false);
      fill_random_bytes<<<1024, 256>>>(w + layout.v_fp8, kn, 41u + i, true);
      CHECK_CUDA(cudaGetLastError());
      const auto qsc = (layout.k_codes - layout.q_scales) / 4;
      const auto ksc = (layout.k_mean - layout.k_scales) / 4;
      fill_value<<<256, 256>>>(reinterpret_cast<float*>(w + layout.q_scales), qsc, 0.006f);
      fill_value<<<256, 256>>>(reinterpret_cast<float*>(w + layout.k_scales), ksc, 0.006f);
      fill_value<<<256, 256>>>(reinterpret_cast<float*>(w + layout.v_scales),
                               static_cast<std::size_t>(batch) * heads * s.d, 0.01f);
      CHECK_CUDA(cudaGetLastError());
    }
    // SM90_CONSUMERS=2 or 3 forces the consumer warpgroups (0: the launch's default).
    const char* forced = std::getenv("SM90_CONSUMERS");
    const int consumers = forced != nullptr ? std::atoi(forced) : 0;
    for (int i = 0; i < 3; ++i)
      check_status(
          cuda::sm90::launch_attention(p, layout, workspaces[i % copies], nullptr, consumers),
          "warm");
    // Every launch between its own events, all queued before the first wait: the GPU runs them
    // back to back and the host's launch cost (tensor-map encoding) stays out of the times.
    std::vector<cudaEvent_t> events(2 * iterations);
    for (auto& e : events) CHECK_CUDA(cudaEventCreate(&e));
    for (int i = 0; i < iterations; ++i) {
      CHECK_CUDA(cudaEventRecord(events[2 * i]));
      check_status(
          cuda::sm90::launch_attention(p, layout, workspaces[i % copies], nullptr, consumers),
          "launch");
      CHECK_CUDA(cudaEventRecord(events[2 * i + 1]));
    }
    CHECK_CUDA(cudaEventSynchronize(events.back()));
    std::vector<float> times;
    for (int i = 0; i < iterations; ++i) {
      float ms = 0;
      CHECK_CUDA(cudaEventElapsedTime(&ms, events[2 * i], events[2 * i + 1]));
      times.push_back(ms);
    }
    std::nth_element(times.begin(), times.begin() + times.size() / 2, times.end());
    const double ms = times[times.size() / 2];
    const double ops = 4.0 * batch * heads * double(s.n) * s.n * s.d * (s.causal ? 0.5 : 1.0);
    char name[64];
    std::snprintf(name, sizeof name, "d%d n%d %s", s.d, s.n, s.causal ? "causal" : "full");
    std::printf("%-24s %10.3f %10.1f\n", name, ms, ops / (ms * 1e-3) / 1e12);
    for (auto& e : events) CHECK_CUDA(cudaEventDestroy(e));
    for (auto* w : workspaces) CHECK_CUDA(cudaFree(w));
    CHECK_CUDA(cudaFree(out));
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "check";
  if (mode == "bench") return bench(argc, argv);
  if (mode == "check") return check_grid(Grid::kFull);
  if (mode == "check-small") return check_grid(Grid::kSmall);
  if (mode == "check-long") return check_grid(Grid::kLong);
  std::fprintf(stderr, "usage: %s check|check-small|check-long|bench [iterations]\n", argv[0]);
  return 2;
}
