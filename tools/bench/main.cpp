// sageattn-bench: accuracy against the fp64 reference and speed of one configuration per input
// family (or a sweep), on the GPU when possible, else on the CPU emulation, saying which.
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <random>

#include "plan.hpp"
#include "quant/tile_shapes.hpp"
#include "report.hpp"

namespace sageattn::bench {
namespace {

// One status line on stderr, rewritten in place on a terminal, one line per step in a log.
void progress(std::size_t index, std::size_t count, const RunSpec& spec, const char* step) {
  static const bool on_terminal = isatty(STDERR_FILENO);
  std::fflush(stdout);  // keep the table and the progress lines in order when both go to a log
  std::fprintf(stderr, "%s[%zu/%zu] B%lld H%lld N%lld D%d%s %s: %s%s",
               on_terminal ? "\r\033[K" : "", index + 1, count,
               static_cast<long long>(spec.shape.batch), static_cast<long long>(spec.shape.heads),
               static_cast<long long>(spec.shape.seq), spec.shape.dim, spec.causal ? " causal" : "",
               to_string(spec.family), step, on_terminal ? "" : "\n");
}

void clear_progress() {
  if (isatty(STDERR_FILENO)) std::fprintf(stderr, "\r\033[K");
}

quant::TileShape cpu_tile_shape(CpuTile tile) {
  return tile == CpuTile::kSm90 ? quant::kTileSm90 : quant::kTileSm80;
}

ResultRow measure(const BenchConfig& config, const Target& target, const RunSpec& spec,
                  std::uint64_t seed, std::size_t index, std::size_t count) {
  ResultRow row;
  row.shape = spec.shape;
  row.causal = spec.causal;
  row.family = spec.family;
  row.smooth_k = config.smooth_k;
  row.smooth_q = config.smooth_q;
  row.smooth_v = config.smooth_v;
  const Options options = options_for(config, target, spec.causal);

  progress(index, count, spec, "generating inputs");
  const HostInputs inputs = generate_inputs(spec.shape, spec.family, seed + index);
  progress(index, count, spec, target.gpu ? "running on the GPU" : "running on the CPU");
  const Timing timing = timing_for(config, target);
  row.run = target.gpu
                ? run_on_gpu(*target.gpu, spec.shape, inputs, options, timing)
                : run_on_cpu(spec.shape, inputs, options, cpu_tile_shape(config.cpu_tile), timing);
  if (row.run.status.ok() && config.reference) {
    progress(index, count, spec, "fp64 reference");
    ReferenceCheck check;
    const Status status = check_against_reference(spec.shape, inputs, options, row.run.out, &check);
    if (status.ok()) row.accuracy = check;
  }
  clear_progress();
  return row;
}

int run_bench(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h")) {
      std::fputs(usage_text(), stdout);
      return 0;
    }
  }
  BenchConfig config;
  std::string error;
  if (!parse_args(argc, argv, &config, &error)) {
    std::fprintf(stderr, "sageattn-bench: %s\n\n%s", error.c_str(), usage_text());
    return 2;
  }
  Target target;
  if (!choose_target(config, &target, &error)) {
    std::fprintf(stderr, "sageattn-bench: %s\n", error.c_str());
    return 1;
  }
  const std::uint64_t seed = config.seed ? config.seed : std::random_device{}() | 1u;
  const std::vector<RunSpec> runs = plan_runs(config, target);
  std::printf(
      "backend: %s\nseed: %llu   timing: median of %d iteration(s) after %d warm-up run(s)%s\n\n",
      target.description.c_str(), static_cast<unsigned long long>(seed),
      timing_for(config, target).iters, timing_for(config, target).warmup,
      config.reference ? "" : "   (no reference: accuracy not measured)");
  print_table_header();

  std::vector<ResultRow> rows;
  bool all_ok = true;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    rows.push_back(measure(config, target, runs[i], seed, i, runs.size()));
    print_table_row(rows.back());
    all_ok = all_ok && rows.back().run.status.ok();
  }
  if (!config.json_path.empty()) {
    if (!write_json(config.json_path, target.description, rows, seed, &error)) {
      std::fprintf(stderr, "sageattn-bench: %s\n", error.c_str());
      return 1;
    }
    std::printf("\nwrote %s\n", config.json_path.c_str());
  }
  return all_ok ? 0 : 1;
}

}  // namespace
}  // namespace sageattn::bench

int main(int argc, char** argv) { return sageattn::bench::run_bench(argc, argv); }
