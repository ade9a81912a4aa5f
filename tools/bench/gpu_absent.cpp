// The GPU side of the bench in a build without CUDA: there is never a device to run on.
#include "runner.hpp"

namespace sageattn::bench {

std::optional<GpuDevice> find_gpu(std::string* why_not) {
  *why_not = "this build has no CUDA backend";
  return std::nullopt;
}

RunOutcome run_on_gpu(const GpuDevice&, const ProblemShape&, const HostInputs&, Options, Timing) {
  RunOutcome outcome;
  outcome.status = {StatusCode::kUnsupported, "this build has no CUDA backend"};
  return outcome;
}

}  // namespace sageattn::bench
