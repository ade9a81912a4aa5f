// Running one configuration on the CPU or the GPU and timing it through the public API.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "inputs.hpp"
#include "quant/granularity.hpp"

namespace sageattn::bench {

struct Timing {
  int iters = 1;
  int warmup = 0;
};

double median(std::vector<double> values);

struct RunOutcome {
  Status status;
  std::string backend;          // what ran, e.g. "CUDA sm_90 (NVIDIA H100)" or "CPU emulation"
  bool exact = false;           // the fp64 reference ran: qk and pv do not apply
  QKQuant qk = QKQuant::kAuto;  // the options after kAuto was resolved for the device
  PVPrecision pv = PVPrecision::kAuto;
  std::vector<std::uint16_t> out;  // host copy, the layout and dtype of q
  double median_ms = 0;            // the public call, end to end (pre-pass + kernel)
  // The attention kernel alone, without the quantization pre-pass (GPU runs only).
  std::optional<double> kernel_ms;
};

// The public call on CPU tensors (the emulation with this kernel tile, or the reference when
// options.backend says so).
RunOutcome run_on_cpu(const ProblemShape& shape, const HostInputs& inputs, Options options,
                      quant::TileShape tile, Timing timing);

struct GpuDevice {
  int index = 0;
  int capability = 0;
  std::string name;
};

// The first CUDA device, or nullopt with the reason (no CUDA in this build, no device found).
std::optional<GpuDevice> find_gpu(std::string* why_not);

// Copies the inputs to the device, runs the public call with a preallocated workspace on a
// stream, times each iteration with CUDA events (then the attention kernel alone, after one
// pre-pass) and copies the output back.
RunOutcome run_on_gpu(const GpuDevice& device, const ProblemShape& shape, const HostInputs& inputs,
                      Options options, Timing timing);

}  // namespace sageattn::bench
