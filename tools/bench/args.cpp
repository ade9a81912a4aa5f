// The command line of sageattn-bench: --flag value or --flag=value, every value checked.
#include <charconv>
#include <cstring>
#include <map>
#include <string_view>

#include "bench_config.hpp"

namespace sageattn::bench {
namespace {

template <class Enum>
struct Choice {
  const char* name;
  Enum value;
};

const Choice<QKQuant> kQKChoices[] = {{"auto", QKQuant::kAuto},
                                      {"int8-block", QKQuant::kInt8PerBlock},
                                      {"int8-warp", QKQuant::kInt8PerWarp},
                                      {"int8-thread", QKQuant::kInt8PerThread},
                                      {"int4-thread", QKQuant::kInt4PerThread},
                                      {"none", QKQuant::kNone}};
const Choice<PVPrecision> kPVChoices[] = {{"auto", PVPrecision::kAuto},
                                          {"fp16", PVPrecision::kFp16Fp32Accum},
                                          {"fp16acc16", PVPrecision::kFp16Fp16Accum},
                                          {"fp8", PVPrecision::kFp8Fp32Accum}};
const Choice<Backend> kBackendChoices[] = {{"auto", Backend::kAuto},
                                           {"cpu-emulation", Backend::kCpuEmulation},
                                           {"cpu-reference", Backend::kCpuReference},
                                           {"cuda", Backend::kCuda}};
const Choice<InputFamily> kFamilyChoices[] = {{"gaussian", InputFamily::kGaussian},
                                              {"kbias", InputFamily::kKBias},
                                              {"vbias", InputFamily::kVBias},
                                              {"heavy", InputFamily::kHeavy}};
const Choice<CpuTile> kCpuTileChoices[] = {{"sm80", CpuTile::kSm80}, {"sm90", CpuTile::kSm90}};
const Choice<DType> kDTypeChoices[] = {{"fp16", DType::kFloat16}, {"bf16", DType::kBFloat16}};
const Choice<Layout> kLayoutChoices[] = {{"HND", Layout::kHND}, {"NHD", Layout::kNHD}};

template <class Enum, std::size_t N>
const char* name_of(const Choice<Enum> (&choices)[N], Enum value) {
  for (const auto& choice : choices) {
    if (choice.value == value) return choice.name;
  }
  return "?";
}

template <class Enum, std::size_t N>
bool parse_choice(std::string_view text, const Choice<Enum> (&choices)[N], Enum* value,
                  std::string* expected) {
  for (const auto& choice : choices) {
    if (text == choice.name) {
      *value = choice.value;
      return true;
    }
  }
  for (const auto& choice : choices)
    *expected += std::string(expected->empty() ? "" : "|") + choice.name;
  return false;
}

template <class Number>
bool parse_number(std::string_view text, Number min_value, Number* value) {
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), *value);
  return error == std::errc{} && end == text.data() + text.size() && *value >= min_value;
}

bool parse_families(std::string_view text, std::vector<InputFamily>* families,
                    std::string* expected) {
  families->clear();
  if (text == "all") {
    for (const auto& choice : kFamilyChoices) families->push_back(choice.value);
    return true;
  }
  while (!text.empty()) {
    const std::size_t comma = text.find(',');
    InputFamily family;
    if (!parse_choice(text.substr(0, comma), kFamilyChoices, &family, expected)) {
      *expected += "|all, or a comma-separated list";
      return false;
    }
    families->push_back(family);
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
  }
  return !families->empty();
}

// Applies one --flag value; false with `expected` filled when the value is malformed.
bool apply_value(std::string_view flag, std::string_view value, BenchConfig* config,
                 std::string* expected) {
  ShapeRequest& shape = config->shape;
  auto positive = [&](std::optional<std::int64_t>* field) {
    std::int64_t number = 0;
    *expected = "an integer >= 1";
    if (!parse_number<std::int64_t>(value, 1, &number)) return false;
    *field = number;
    return true;
  };
  auto count = [&](std::optional<int>* field, int min_value) {
    int number = 0;
    *expected = "an integer >= " + std::to_string(min_value);
    if (!parse_number(value, min_value, &number)) return false;
    *field = number;
    return true;
  };
  if (flag == "--batch") return positive(&shape.batch);
  if (flag == "--heads") return positive(&shape.heads);
  if (flag == "--kv-heads") return positive(&shape.kv_heads);
  if (flag == "--seq") return positive(&shape.seq);
  if (flag == "--kv-seq") return positive(&shape.kv_seq);
  if (flag == "--dim") return count(&shape.dim, 1);
  if (flag == "--iters") return count(&config->iters, 1);
  if (flag == "--warmup") return count(&config->warmup, 0);
  if (flag == "--layout") return parse_choice(value, kLayoutChoices, &config->layout, expected);
  if (flag == "--qk") return parse_choice(value, kQKChoices, &config->qk, expected);
  if (flag == "--pv") return parse_choice(value, kPVChoices, &config->pv, expected);
  if (flag == "--dtype") return parse_choice(value, kDTypeChoices, &config->dtype, expected);
  if (flag == "--backend") return parse_choice(value, kBackendChoices, &config->backend, expected);
  if (flag == "--family") return parse_families(value, &config->families, expected);
  if (flag == "--cpu-tile")
    return parse_choice(value, kCpuTileChoices, &config->cpu_tile, expected);
  if (flag == "--json") {
    config->json_path = value;
    return true;
  }
  if (flag == "--seed") {
    *expected = "an integer >= 1";
    return parse_number<std::uint64_t>(value, 1, &config->seed);
  }
  *expected = "a known flag (see --help)";
  return false;
}

bool apply_switch(std::string_view flag, BenchConfig* config) {
  const std::map<std::string_view, bool*> switches = {{"--causal", &config->causal},
                                                      {"--smooth-q", &config->smooth_q},
                                                      {"--smooth-v", &config->smooth_v},
                                                      {"--sweep", &config->sweep}};
  if (auto found = switches.find(flag); found != switches.end()) {
    *found->second = true;
    return true;
  }
  if (flag == "--no-smooth-k")
    config->smooth_k = false;
  else if (flag == "--no-reference")
    config->reference = false;
  else
    return false;
  return true;
}

}  // namespace

const char* to_string(InputFamily family) { return name_of(kFamilyChoices, family); }
const char* to_string(CpuTile tile) { return name_of(kCpuTileChoices, tile); }
const char* to_string(QKQuant qk) { return name_of(kQKChoices, qk); }
const char* to_string(PVPrecision pv) { return name_of(kPVChoices, pv); }
const char* to_string(Backend backend) { return name_of(kBackendChoices, backend); }

bool parse_args(int argc, char** argv, BenchConfig* config, std::string* error) {
  for (int i = 1; i < argc; ++i) {
    std::string_view argument = argv[i];
    if (apply_switch(argument, config)) continue;
    std::string_view flag = argument;
    std::string_view value;
    if (const std::size_t equals = argument.find('='); equals != std::string_view::npos) {
      flag = argument.substr(0, equals);
      value = argument.substr(equals + 1);
    } else if (i + 1 < argc && std::strncmp(argv[i + 1], "--", 2) != 0) {
      value = argv[++i];
    }
    std::string expected;
    if (!apply_value(flag, value, config, &expected)) {
      *error = std::string(flag) + ": '" + std::string(value) + "' (expected " + expected + ")";
      return false;
    }
  }
  return true;
}

const char* usage_text() {
  return R"(sageattn-bench: accuracy (vs an fp64 reference) and speed of sageattn attention.

Runs on the GPU when this build has CUDA, a GPU is present and a kernel exists for the options;
otherwise on the CPU emulation of the same quantized pipeline, and says which.

Shape (defaults: GPU B=4 H=32 N=4096 D=128; CPU B=1 H=4 N=1024 D=128)
  --batch B  --heads H  --kv-heads Hkv (default H)  --seq Nq  --kv-seq Nkv (default Nq)
  --dim 64|128  --layout HND|NHD  --causal  --dtype fp16|bf16
Method
  --qk auto|int8-block|int8-warp|int8-thread|int4-thread|none
  --pv auto|fp8|fp16|fp16acc16   --no-smooth-k  --smooth-q  --smooth-v
  --backend auto|cuda|cpu-emulation|cpu-reference
  --cpu-tile sm80|sm90   the kernel tile the CPU emulation reproduces (default sm80)
Inputs
  --family gaussian|kbias|vbias|heavy|all (or a comma-separated list; default all)
  --seed S (default: fresh each run, printed)
Measurement
  --iters N --warmup N (defaults: GPU 20/5, CPU 1/0)
  --no-reference   skip the fp64 reference (accuracy columns become '-')
  --sweep          D {64,128} x causal {0,1} x N {1k,4k,16k}, B=4 H=32 per family
                   (CPU: B=1 H=4, N {256,512,1k}); --batch/--heads/--family still apply
  --json FILE      also write the results as JSON
)";
}

}  // namespace sageattn::bench
