// sageattn-kernel-sweep: times the CUDA path on the device, B=4 H=32, D {64,128} x causal x
// N {1k,4k,16k}, and prints one JSON object (stdout):
//   sm80_kernel_ms  the mma.sync attention kernel alone (pre-pass done beforehand)
//   sm80_e2e_ms     pre-pass + mma.sync kernel (SageAttention2-8bit on this device's options)
//   auto_e2e_ms     the public sageattn::attention call (dispatch's choice, e.g. the sm90 kernel)
//   auto_kernel_ms  that call's attention kernel alone, after one pre-pass
//   prepass_ms      the pre-pass alone, with the bytes it must move and the bytes it does move
//   auto_host_us    host time of one public call: the median of five rounds of 20 calls enqueued
//                   back to back, no synchronisation inside a round (far fewer launches than the
//                   stream's queue holds)
// plus the device's copy bandwidth (cudaMemcpy device to device, bytes read + written).
// Median of per-repetition CUDA-event timings after warm-up; inputs are random normal.
// SAGEATTN_SWEEP_ONLY=<d>,<causal 0|1>,<n> runs one configuration (for a profiler).
#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "core/problem.hpp"
#include "cuda/cuda_backend.hpp"
#include "cuda/quant/prepass.hpp"
#include "cuda/sm80/launch_table.hpp"
#include "quant/tile_shapes.hpp"
#include "sageattn/sageattn.hpp"

namespace {

using namespace sageattn;

void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) {
    std::fprintf(stderr, "%s: %s\n", what, cudaGetErrorString(e));
    std::exit(1);
  }
}

void check(const Status& s, const char* what) {
  if (!s.ok()) {
    std::fprintf(stderr, "%s: %s\n", what, s.message().c_str());
    std::exit(1);
  }
}

// Random normal fp16/bf16 bits on the device, generated on the host once per size.
void* random_tensor(std::size_t elements, std::mt19937& rng) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<std::uint16_t> host(elements);
  for (auto& x : host) {
    const float f = normal(rng);
    std::uint32_t bits = 0;
    std::memcpy(&bits, &f, 4);
    x = static_cast<std::uint16_t>((bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16);  // bf16
  }
  void* device = nullptr;
  check(cudaMalloc(&device, elements * 2), "cudaMalloc");
  check(cudaMemcpy(device, host.data(), elements * 2, cudaMemcpyHostToDevice), "cudaMemcpy");
  return device;
}

double median_ms(const std::function<void()>& body, int warmup, int reps) {
  for (int i = 0; i < warmup; ++i) body();
  std::vector<cudaEvent_t> events(2 * static_cast<std::size_t>(reps));
  for (auto& e : events) check(cudaEventCreate(&e), "cudaEventCreate");
  for (int i = 0; i < reps; ++i) {
    check(cudaEventRecord(events[2 * i]), "cudaEventRecord");
    body();
    check(cudaEventRecord(events[2 * i + 1]), "cudaEventRecord");
  }
  check(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
  std::vector<double> ms;
  for (int i = 0; i < reps; ++i) {
    float t = 0;
    check(cudaEventElapsedTime(&t, events[2 * i], events[2 * i + 1]), "cudaEventElapsedTime");
    ms.push_back(t);
  }
  for (auto& e : events) cudaEventDestroy(e);
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

// A JSON number, or null for NaN (a measurement that did not run).
std::string json_number(double x, const char* format) {
  if (std::isnan(x)) return "null";
  char text[32];
  std::snprintf(text, sizeof(text), format, x);
  return text;
}

double copy_bandwidth_gbps() {
  const std::size_t bytes = std::size_t{1} << 30;
  void* a = nullptr;
  void* b = nullptr;
  check(cudaMalloc(&a, bytes), "cudaMalloc");
  check(cudaMalloc(&b, bytes), "cudaMalloc");
  check(cudaMemset(a, 1, bytes), "cudaMemset");
  const double ms = median_ms([&] { check(cudaMemcpyAsync(b, a, bytes, cudaMemcpyDeviceToDevice), "copy"); }, 3, 20);
  cudaFree(a);
  cudaFree(b);
  return 2.0 * bytes / (ms * 1e-3) / 1e9;
}

}  // namespace

int main() {
  constexpr std::int64_t kBatch = 4;
  constexpr std::int64_t kHeads = 32;
  std::mt19937 rng(20261123);
  int capability = 0;
  check(cuda::compute_capability(0, &capability), "compute_capability");
  cudaDeviceProp prop{};
  check(cudaGetDeviceProperties(&prop, 0), "cudaGetDeviceProperties");
  std::printf("{\"device\": \"%s\", \"capability\": %d, \"copy_gbps\": %.1f, \"rows\": [\n", prop.name,
              capability, copy_bandwidth_gbps());
  bool first = true;
  const char* only = std::getenv("SAGEATTN_SWEEP_ONLY");
  for (int d : {64, 128}) {
    for (bool causal : {false, true}) {
      for (std::int64_t n : {1024, 4096, 16384}) {
        if (only != nullptr &&
            std::string(only) != std::to_string(d) + "," + (causal ? "1" : "0") + "," + std::to_string(n)) {
          continue;
        }
        const std::size_t elements = static_cast<std::size_t>(kBatch * kHeads * n * d);
        void* q = random_tensor(elements, rng);
        void* k = random_tensor(elements, rng);
        void* v = random_tensor(elements, rng);
        void* out = nullptr;
        check(cudaMalloc(&out, elements * 2), "cudaMalloc");

        core::AttentionProblem p;
        p.batch = kBatch;
        p.heads_q = p.heads_kv = kHeads;
        p.len_q = p.len_kv = n;
        p.head_dim = d;
        p.dtype = DType::kBFloat16;
        p.device = {DeviceKind::kCUDA, 0};
        p.q = q;
        p.k = k;
        p.v = v;
        p.out = out;
        const core::TokenStrides hnd{kHeads * n * d, n * d, d};
        p.q_strides = p.k_strides = p.v_strides = p.out_strides = hnd;
        p.causal = causal;
        p.sm_scale = 1.0f / std::sqrt(static_cast<float>(d));
        p.qk_quant = QKQuant::kAuto;
        p.pv_precision = PVPrecision::kAuto;
        check(cuda::resolve_options(capability, &p.qk_quant, &p.pv_precision), "resolve_options");

        const quant::TileShape tile = quant::kTileSm80;
        const cuda::QuantizedLayout layout = cuda::plan_quantized_layout(cuda::layout_request(p, tile));
        void* ws = nullptr;
        check(cudaMalloc(&ws, layout.total_bytes), "cudaMalloc");
        auto prepass = [&] { check(cuda::run_prepass(p, layout, tile, ws, nullptr), "prepass"); };
        auto kernel = [&] { check(cuda::sm80::launch(p, layout, ws, nullptr), "sm80"); };
        const int reps = n >= 16384 ? 10 : 30;
        const double prepass_ms = median_ms(prepass, 3, reps);
        prepass();
        const double kernel_ms = median_ms(kernel, 3, reps);
        const double e2e_ms = median_ms([&] { prepass(); kernel(); }, 3, reps);

        // The public call, with the workspace dispatch asks for (it may pick the sm90 kernel).
        const TensorView tq = TensorView::contiguous(q, DType::kBFloat16, {kBatch, kHeads, n, d}, p.device);
        const TensorView tk = TensorView::contiguous(k, DType::kBFloat16, {kBatch, kHeads, n, d}, p.device);
        const TensorView tv = TensorView::contiguous(v, DType::kBFloat16, {kBatch, kHeads, n, d}, p.device);
        const TensorView to = TensorView::contiguous(out, DType::kBFloat16, {kBatch, kHeads, n, d}, p.device);
        Options options;
        options.causal = causal;
        std::size_t auto_bytes = 0;
        check(workspace_bytes(tq, tk, tv, options, &auto_bytes), "workspace_bytes");
        void* auto_ws = nullptr;
        check(cudaMalloc(&auto_ws, auto_bytes), "cudaMalloc");
        // A failure of the public path (e.g. another kernel family) is reported, not fatal.
        const Status probe = attention(tq, tk, tv, to, nullptr, options, {auto_ws, auto_bytes}, nullptr);
        if (!probe.ok()) std::fprintf(stderr, "public attention(): %s\n", probe.message().c_str());
        const double auto_ms =
            probe.ok() ? median_ms([&] { (void)attention(tq, tk, tv, to, nullptr, options, {auto_ws, auto_bytes}, nullptr); },
                                   3, reps)
                       : NAN;

        double host_us = NAN;
        if (probe.ok()) {
          constexpr int kCalls = 20;
          std::vector<double> rounds;
          for (int round = 0; round < 5; ++round) {
            check(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
            const auto start = std::chrono::steady_clock::now();
            for (int i = 0; i < kCalls; ++i) (void)attention(tq, tk, tv, to, nullptr, options, {auto_ws, auto_bytes}, nullptr);
            const std::chrono::duration<double, std::micro> elapsed = std::chrono::steady_clock::now() - start;
            rounds.push_back(elapsed.count() / kCalls);
          }
          check(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
          std::sort(rounds.begin(), rounds.end());
          host_us = rounds[rounds.size() / 2];
        }

        // The dispatched kernel alone (the Hopper kernel on sm90) over its own pre-pass's buffers.
        void* kernel_ws = nullptr;
        check(cudaMalloc(&kernel_ws, cuda::workspace_bytes(p, capability)), "cudaMalloc");
        check(cuda::quantize(p, capability, kernel_ws, nullptr), "quantize");
        const double auto_kernel_ms = median_ms(
            [&] { check(cuda::attend_quantized(p, capability, kernel_ws, nullptr), "attend_quantized"); }, 3, reps);

        // Bytes the pre-pass must move (inputs once, outputs once) and does move (K and V twice).
        const double input = 3.0 * elements * 2;
        // Every output buffer precedes the statistics scratch in the workspace.
        const double written = static_cast<double>(layout.stats);
        const double ideal = input + written;
        const double moved = ideal + 2.0 * elements * 2;
        const double flops = 4.0 * kBatch * kHeads * n * n * d / (causal ? 2.0 : 1.0);
        std::printf("%s  {\"d\": %d, \"causal\": %s, \"n\": %lld, \"sm80_kernel_ms\": %.4f, \"sm80_e2e_ms\": %.4f, "
                    "\"auto_e2e_ms\": %s, \"auto_host_us\": %s, \"auto_kernel_ms\": %.4f, \"prepass_ms\": %.4f, \"prepass_ideal_bytes\": %.0f, "
                    "\"prepass_moved_bytes\": %.0f, \"flops\": %.0f}",
                    first ? "" : ",\n", d, causal ? "true" : "false", static_cast<long long>(n), kernel_ms,
                    e2e_ms, json_number(auto_ms, "%.6f").c_str(), json_number(host_us, "%.2f").c_str(), auto_kernel_ms, prepass_ms, ideal, moved, flops);
        std::fflush(stdout);
        first = false;
        for (void* ptr : {q, k, v, out, ws, auto_ws, kernel_ws}) cudaFree(ptr);
      }
    }
  }
  std::printf("\n]}\n");
  return 0;
}
