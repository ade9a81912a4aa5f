// The results table on stdout and the --json file.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "reference_check.hpp"
#include "runner.hpp"

namespace sageattn::bench {

struct ResultRow {
  ProblemShape shape;
  bool causal = false;
  InputFamily family = InputFamily::kGaussian;
  bool smooth_k = true, smooth_q = false, smooth_v = false;
  RunOutcome run;                          // status, backend, resolved qk/pv, times
  std::optional<ReferenceCheck> accuracy;  // absent with --no-reference or on failure
};

// 4·B·H·Nq·Nkv·D operations (two GEMMs), halved for causal as FlashAttention reports it.
double attention_tops(const ProblemShape& shape, bool causal, double milliseconds);

void print_table_header();
void print_table_row(const ResultRow& row);

// Writes every row with its configuration, accuracy and timing; false with `error` on I/O failure.
bool write_json(const std::string& path, const std::string& device,
                const std::vector<ResultRow>& rows, std::uint64_t seed, std::string* error);

}  // namespace sageattn::bench
