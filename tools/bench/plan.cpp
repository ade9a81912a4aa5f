#include "plan.hpp"

namespace sageattn::bench {
namespace {

// Defaults sized for a meaningful GPU measurement and, on the CPU, for a run of seconds on two
// cores.
constexpr std::int64_t kGpuBatch = 4, kGpuHeads = 32, kGpuSeq = 4096;
constexpr std::int64_t kCpuBatch = 1, kCpuHeads = 4, kCpuSeq = 1024;
constexpr int kDefaultDim = 128;
constexpr Timing kGpuTiming{20, 5};
constexpr Timing kCpuTiming{1, 0};
constexpr std::int64_t kGpuSweepSeqs[] = {1024, 4096, 16384};
constexpr std::int64_t kCpuSweepSeqs[] = {256, 512, 1024};

ProblemShape resolve_shape(const BenchConfig& config, bool on_gpu) {
  const ShapeRequest& r = config.shape;
  ProblemShape shape{};
  shape.batch = r.batch.value_or(on_gpu ? kGpuBatch : kCpuBatch);
  shape.heads = r.heads.value_or(on_gpu ? kGpuHeads : kCpuHeads);
  shape.kv_heads = r.kv_heads.value_or(shape.heads);
  shape.seq = r.seq.value_or(on_gpu ? kGpuSeq : kCpuSeq);
  shape.kv_seq = r.kv_seq.value_or(shape.seq);
  shape.dim = r.dim.value_or(kDefaultDim);
  shape.layout = config.layout;
  shape.dtype = config.dtype;
  return shape;
}

std::string cpu_description(const BenchConfig& config, const std::string& why) {
  if (config.backend == Backend::kCpuReference) return "CPU reference, fp64 (" + why + ")";
  return std::string("CPU emulation of the ") + to_string(config.cpu_tile) + " kernel tile (" +
         why + ")";
}

}  // namespace

Options options_for(const BenchConfig& config, const Target& target, bool causal) {
  Options options;
  options.layout = config.layout;
  options.causal = causal;
  options.qk_quant = config.qk;
  options.pv_precision = config.pv;
  options.smooth_k = config.smooth_k;
  options.smooth_q = config.smooth_q;
  options.smooth_v = config.smooth_v;
  if (target.gpu) {
    options.backend = Backend::kCuda;
  } else {
    options.backend =
        config.backend == Backend::kCpuReference ? Backend::kCpuReference : Backend::kCpuEmulation;
  }
  return options;
}

Timing timing_for(const BenchConfig& config, const Target& target) {
  const Timing defaults = target.gpu ? kGpuTiming : kCpuTiming;
  return {config.iters.value_or(defaults.iters), config.warmup.value_or(defaults.warmup)};
}

bool choose_target(const BenchConfig& config, Target* target, std::string* error) {
  if (config.backend == Backend::kCpuEmulation || config.backend == Backend::kCpuReference) {
    *target = {std::nullopt, cpu_description(config, "requested")};
    return true;
  }
  std::string why_not;
  std::optional<GpuDevice> gpu = find_gpu(&why_not);
  if (gpu) {
    // A kernel may not exist for these options on this device: find out on a small problem.
    BenchConfig probe_config = config;
    probe_config.shape = {1, 1, 1, 128, 128, config.shape.dim};
    const ProblemShape probe_shape = resolve_shape(probe_config, true);
    const HostInputs inputs = generate_inputs(probe_shape, InputFamily::kGaussian, 1);
    const Target gpu_target{gpu, {}};
    const RunOutcome probe = run_on_gpu(*gpu, probe_shape, inputs,
                                        options_for(config, gpu_target, config.causal), {1, 0});
    if (probe.status.ok()) {
      *target = {gpu, probe.backend};
      return true;
    }
    why_not = probe.backend + " found, but: " + probe.status.message();
  }
  if (config.backend == Backend::kCuda) {
    *error = "--backend cuda: " + why_not;
    return false;
  }
  *target = {std::nullopt, cpu_description(config, why_not)};
  return true;
}

std::vector<RunSpec> plan_runs(const BenchConfig& config, const Target& target) {
  const bool on_gpu = target.gpu.has_value();
  std::vector<RunSpec> runs;
  if (!config.sweep) {
    for (InputFamily family : config.families) {
      runs.push_back({resolve_shape(config, on_gpu), config.causal, family});
    }
    return runs;
  }
  for (InputFamily family : config.families) {
    for (int dim : {64, 128}) {
      for (bool causal : {false, true}) {
        for (std::int64_t seq :
             on_gpu
                 ? std::vector<std::int64_t>(std::begin(kGpuSweepSeqs), std::end(kGpuSweepSeqs))
                 : std::vector<std::int64_t>(std::begin(kCpuSweepSeqs), std::end(kCpuSweepSeqs))) {
          BenchConfig point = config;
          point.shape.dim = dim;
          point.shape.seq = seq;
          point.shape.kv_seq = seq;
          runs.push_back({resolve_shape(point, on_gpu), causal, family});
        }
      }
    }
  }
  return runs;
}

}  // namespace sageattn::bench
