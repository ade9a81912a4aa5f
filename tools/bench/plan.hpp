// Where the bench runs (GPU or CPU, and why) and the list of runs it makes there.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "bench_config.hpp"
#include "inputs.hpp"
#include "runner.hpp"

namespace sageattn::bench {

struct Target {
  std::optional<GpuDevice> gpu;  // absent: the CPU backends
  std::string description;       // "CUDA sm_90 (NVIDIA H100 ...)" or "CPU emulation (no GPU found)"
};

// GPU when --backend allows it, a device exists and a small probe call of the requested options
// runs there; otherwise the CPU, with the reason. False with `error` when --backend cuda cannot be
// honoured.
bool choose_target(const BenchConfig& config, Target* target, std::string* error);

struct RunSpec {
  ProblemShape shape;
  bool causal = false;
  InputFamily family = InputFamily::kGaussian;
};

// One run per input family, or the sweep grid; unset sizes take the target's defaults.
std::vector<RunSpec> plan_runs(const BenchConfig& config, const Target& target);

Options options_for(const BenchConfig& config, const Target& target, bool causal);
Timing timing_for(const BenchConfig& config, const Target& target);

}  // namespace sageattn::bench
