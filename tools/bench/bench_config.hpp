// What one sageattn-bench invocation asks for, as parsed from the command line.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sageattn/sageattn.hpp"

namespace sageattn::bench {

// Input distributions that stress the quantized pipeline in the ways real models do.
enum class InputFamily : std::uint8_t {
  kGaussian,  // per-channel std spread over [1, 3] in Q, K and V
  kKBias,     // gaussian + a per-channel K bias (std 8): the outlier K smoothing removes
  kVBias,     // gaussian + a per-channel V bias (std 8): what smooth_v targets
  kHeavy,     // Student-t (3 degrees of freedom) tails with the gaussian's channel spread
};

// Which kernel's tile the CPU emulation reproduces (it decides which tokens share a scale).
enum class CpuTile : std::uint8_t { kSm80, kSm90 };

const char* to_string(InputFamily family);
const char* to_string(CpuTile tile);
const char* to_string(QKQuant qk);
const char* to_string(PVPrecision pv);
const char* to_string(Backend backend);

// The shape of one run. Unset sizes take the defaults of the device that runs it (main.cpp).
struct ShapeRequest {
  std::optional<std::int64_t> batch, heads, kv_heads, seq, kv_seq;
  std::optional<int> dim;
};

struct BenchConfig {
  ShapeRequest shape;
  Layout layout = Layout::kHND;
  bool causal = false;
  QKQuant qk = QKQuant::kAuto;
  PVPrecision pv = PVPrecision::kAuto;
  DType dtype = DType::kFloat16;
  Backend backend = Backend::kAuto;
  CpuTile cpu_tile = CpuTile::kSm80;
  bool smooth_k = true;
  bool smooth_q = false;
  bool smooth_v = false;
  std::vector<InputFamily> families{InputFamily::kGaussian, InputFamily::kKBias,
                                    InputFamily::kVBias, InputFamily::kHeavy};
  std::optional<int> iters, warmup;
  std::uint64_t seed = 0;  // 0: a fresh seed each run (printed, so a run can be repeated)
  bool reference = true;
  bool sweep = false;
  std::string json_path;
};

// Parses argv; on failure returns false with a message naming the flag.
bool parse_args(int argc, char** argv, BenchConfig* config, std::string* error);

const char* usage_text();

}  // namespace sageattn::bench
