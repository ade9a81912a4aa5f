#include "report.hpp"

#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace sageattn::bench {
namespace {

// "ref rows": how many query rows of every head the fp64 reference checked ("all", or the last N
// when the full reference would take too long).
const char* kTableFormat = "%-46s %-9s %-24s %-14s %9s %9s %9s %9s %8s %10s %10s %8s\n";

std::string shape_label(const ProblemShape& s, bool causal) {
  char text[128];
  std::snprintf(text, sizeof(text),
                "B%" PRId64 " H%" PRId64 "/%" PRId64 " N%" PRId64 "/%" PRId64 " D%d %s %s%s",
                s.batch, s.heads, s.kv_heads, s.seq, s.kv_seq, s.dim,
                s.layout == Layout::kNHD ? "NHD" : "HND",
                s.dtype == DType::kBFloat16 ? "bf16" : "fp16", causal ? " causal" : "");
  return text;
}

std::string method_label(const ResultRow& row) {
  if (row.run.exact) return "exact (fp64)";
  std::string label = std::string(to_string(row.run.qk)) + "/" + to_string(row.run.pv);
  if (!row.smooth_k) label += " -k";
  if (row.smooth_q) label += " +q";
  if (row.smooth_v) label += " +v";
  return label;
}

// The table's short backend name: the part before any parenthesised detail.
std::string short_backend(const std::string& backend) {
  return backend.substr(0, backend.find(" ("));
}

std::string number(double value, const char* format) {
  char text[32];
  std::snprintf(text, sizeof(text), format, value);
  return text;
}

std::string json_string(const std::string& text) {
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') quoted += '\\';
    if (static_cast<unsigned char>(c) < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof(escaped), "\\u%04x", static_cast<unsigned>(c));
      quoted += escaped;
      continue;
    }
    quoted += c;
  }
  return quoted + "\"";
}

std::string reference_rows_label(const ReferenceCheck& check, const ProblemShape& shape) {
  return check.rows_checked == shape.seq ? "all" : std::to_string(check.rows_checked);
}

// JSON has no NaN or infinity: a metric that is not finite is written as null.
std::string json_number(double value) {
  if (!std::isfinite(value)) return "null";
  std::ostringstream text;
  text.precision(10);
  text << value;
  return text.str();
}

}  // namespace

double attention_tops(const ProblemShape& s, bool causal, double milliseconds) {
  const double operations = 4.0 * static_cast<double>(s.batch * s.heads) *
                            static_cast<double>(s.seq) * static_cast<double>(s.kv_seq) * s.dim;
  return (causal ? 0.5 : 1.0) * operations / (milliseconds * 1e-3) / 1e12;
}

void print_table_header() {
  std::printf(kTableFormat, "config", "family", "qk/pv", "backend", "cosine", "relL1", "rmse",
              "maxabs", "ref rows", "time ms", "kernel ms", "TOPS");
}

void print_table_row(const ResultRow& row) {
  const std::string config = shape_label(row.shape, row.causal);
  if (!row.run.status.ok()) {
    std::printf("%-46s %-9s failed: %s\n", config.c_str(), to_string(row.family),
                row.run.status.message().c_str());
    std::fflush(stdout);
    return;
  }
  const bool checked = row.accuracy.has_value();
  const AccuracyMetrics m = checked ? row.accuracy->metrics : AccuracyMetrics{};
  std::printf(kTableFormat, config.c_str(), to_string(row.family), method_label(row).c_str(),
              short_backend(row.run.backend).c_str(),
              checked ? number(m.cosine_similarity, "%.6f").c_str() : "-",
              checked ? number(m.relative_l1, "%.5f").c_str() : "-",
              checked ? number(m.rmse, "%.2e").c_str() : "-",
              checked ? number(m.max_abs_error, "%.2e").c_str() : "-",
              checked ? reference_rows_label(*row.accuracy, row.shape).c_str() : "-",
              number(row.run.median_ms, "%.3f").c_str(),
              row.run.kernel_ms ? number(*row.run.kernel_ms, "%.3f").c_str() : "-",
              number(attention_tops(row.shape, row.causal, row.run.median_ms), "%.4g").c_str());
  if (checked && m.non_finite > 0) std::printf("  ^ %zu non-finite outputs\n", m.non_finite);
  std::fflush(stdout);
}

bool write_json(const std::string& path, const std::string& device,
                const std::vector<ResultRow>& rows, std::uint64_t seed, std::string* error) {
  std::ostringstream json;
  json << "{\n  \"device\": " << json_string(device) << ",\n  \"seed\": " << seed
       << ",\n  \"results\": [";
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const ResultRow& row = rows[i];
    const ProblemShape& s = row.shape;
    json << (i ? "," : "") << "\n    {\"batch\": " << s.batch << ", \"heads\": " << s.heads
         << ", \"kv_heads\": " << s.kv_heads << ", \"seq\": " << s.seq
         << ", \"kv_seq\": " << s.kv_seq << ", \"dim\": " << s.dim << ", \"layout\": \""
         << (s.layout == Layout::kNHD ? "NHD" : "HND") << "\", \"dtype\": \""
         << (s.dtype == DType::kBFloat16 ? "bf16" : "fp16")
         << "\", \"causal\": " << (row.causal ? "true" : "false") << ", \"family\": \""
         << to_string(row.family) << "\", \"qk\": \""
         << (row.run.exact ? "exact" : to_string(row.run.qk)) << "\", \"pv\": \""
         << (row.run.exact ? "exact" : to_string(row.run.pv))
         << "\", \"smooth_k\": " << (row.smooth_k ? "true" : "false")
         << ", \"smooth_q\": " << (row.smooth_q ? "true" : "false")
         << ", \"smooth_v\": " << (row.smooth_v ? "true" : "false")
         << ", \"backend\": " << json_string(row.run.backend);
    if (!row.run.status.ok()) {
      json << ", \"error\": " << json_string(row.run.status.message()) << "}";
      continue;
    }
    json << ", \"time_ms\": " << json_number(row.run.median_ms)
         << ", \"kernel_ms\": " << (row.run.kernel_ms ? json_number(*row.run.kernel_ms) : "null")
         << ", \"kernel_tops\": "
         << (row.run.kernel_ms ? json_number(attention_tops(s, row.causal, *row.run.kernel_ms))
                               : "null")
         << ", \"tops\": " << json_number(attention_tops(s, row.causal, row.run.median_ms));
    if (row.accuracy) {
      const AccuracyMetrics& m = row.accuracy->metrics;
      json << ", \"reference_rows\": " << row.accuracy->rows_checked
           << ", \"cosine\": " << json_number(m.cosine_similarity)
           << ", \"rel_l1\": " << json_number(m.relative_l1)
           << ", \"rmse\": " << json_number(m.rmse)
           << ", \"max_abs\": " << json_number(m.max_abs_error)
           << ", \"non_finite\": " << m.non_finite;
    }
    json << "}";
  }
  json << "\n  ]\n}\n";
  std::ofstream file(path);
  file << json.str();
  if (!file) {
    *error = "cannot write " + path;
    return false;
  }
  return true;
}

}  // namespace sageattn::bench
