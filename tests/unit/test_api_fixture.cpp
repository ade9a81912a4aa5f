#include "test_api_fixture.hpp"

#include <random>

#include "cpu/half_convert.hpp"

namespace sageattn::testing {
namespace {

std::vector<std::uint16_t> random_fp16(std::int64_t count, std::mt19937& rng) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<std::uint16_t> values(static_cast<std::size_t>(count));
  for (auto& value : values) value = cpu::float_to_fp16(normal(rng));
  return values;
}

std::array<std::int64_t, 4> shape_in(Layout layout, std::int64_t b, std::int64_t h, std::int64_t n,
                                     std::int64_t d) {
  return layout == Layout::kNHD ? std::array<std::int64_t, 4>{b, n, h, d}
                                : std::array<std::int64_t, 4>{b, h, n, d};
}

}  // namespace

ApiTestCall::ApiTestCall(std::int64_t batch, std::int64_t heads_q, std::int64_t heads_kv,
                         std::int64_t len_q, std::int64_t len_kv, std::int64_t head_dim,
                         Layout layout) {
  std::mt19937 rng(std::random_device{}());
  q_data = random_fp16(batch * heads_q * len_q * head_dim, rng);
  k_data = random_fp16(batch * heads_kv * len_kv * head_dim, rng);
  v_data = random_fp16(batch * heads_kv * len_kv * head_dim, rng);
  out_data.assign(q_data.size(), 0x7E00);  // NaN: poisoned until the call writes it
  lse_data.assign(static_cast<std::size_t>(batch * heads_q * len_q), 12345.0f);
  q = TensorView::contiguous(q_data.data(), DType::kFloat16,
                             shape_in(layout, batch, heads_q, len_q, head_dim));
  k = TensorView::contiguous(k_data.data(), DType::kFloat16,
                             shape_in(layout, batch, heads_kv, len_kv, head_dim));
  v = TensorView::contiguous(v_data.data(), DType::kFloat16,
                             shape_in(layout, batch, heads_kv, len_kv, head_dim));
  out = TensorView::contiguous(out_data.data(), DType::kFloat16, q.shape);
  lse = TensorView::contiguous3(lse_data.data(), DType::kFloat32, {batch, heads_q, len_q});
  options.layout = layout;
}

ApiTestCall::ApiTestCall(const ApiTestCall& other)
    : q_data(other.q_data),
      k_data(other.k_data),
      v_data(other.v_data),
      out_data(other.out_data),
      lse_data(other.lse_data),
      q(other.q),
      k(other.k),
      v(other.v),
      out(other.out),
      lse(other.lse),
      with_lse(other.with_lse),
      options(other.options) {
  q.data = q_data.data();
  k.data = k_data.data();
  v.data = v_data.data();
  out.data = out_data.data();
  lse.data = lse_data.data();
}

}  // namespace sageattn::testing
