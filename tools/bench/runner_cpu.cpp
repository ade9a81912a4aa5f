#include <algorithm>
#include <chrono>

#include "core/attention.hpp"
#include "core/validate.hpp"
#include "runner.hpp"

namespace sageattn::bench {

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const std::size_t middle = values.size() / 2;
  return values.size() % 2 ? values[middle] : 0.5 * (values[middle - 1] + values[middle]);
}

RunOutcome run_on_cpu(const ProblemShape& shape, const HostInputs& inputs, Options options,
                      quant::TileShape tile, Timing timing) {
  RunOutcome outcome;
  outcome.out.assign(inputs.q.size(), 0);
  // The views only read through const pointers; TensorView holds a plain void*.
  auto view = [&](const std::vector<std::uint16_t>& data, std::array<std::int64_t, 4> dims) {
    return TensorView::contiguous(const_cast<std::uint16_t*>(data.data()), shape.dtype, dims);
  };
  const TensorView q = view(inputs.q, shape.q_dims());
  const TensorView k = view(inputs.k, shape.kv_dims());
  const TensorView v = view(inputs.v, shape.kv_dims());
  const TensorView out = TensorView::contiguous(outcome.out.data(), shape.dtype, shape.q_dims());

  core::ValidatedCall call;
  outcome.status = core::validate_call(q, k, v, &out, nullptr, options, &call);
  if (!outcome.status.ok()) return outcome;
  outcome.qk = call.problem.qk_quant;
  outcome.pv = call.problem.pv_precision;
  outcome.exact = call.backend == Backend::kCpuReference;
  outcome.backend = outcome.exact ? "CPU reference (fp64)" : "CPU emulation";

  std::vector<double> times_ms;
  for (int i = 0; i < timing.warmup + timing.iters; ++i) {
    const auto start = std::chrono::steady_clock::now();
    outcome.status =
        core::attention_with_cpu_tile(q, k, v, out, nullptr, options, {}, nullptr, tile);
    const std::chrono::duration<double, std::milli> elapsed =
        std::chrono::steady_clock::now() - start;
    if (!outcome.status.ok()) return outcome;
    if (i >= timing.warmup) times_ms.push_back(elapsed.count());
  }
  outcome.median_ms = median(times_ms);
  return outcome;
}

}  // namespace sageattn::bench
