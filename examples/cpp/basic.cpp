// sageattn from C++: attention over fp16 tensors in host memory (the CPU emulation of the
// quantized kernels); pass CUDA pointers and Device{DeviceKind::kCUDA, 0} to run on the GPU.
#include <sageattn/sageattn.hpp>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <vector>

// fp16 bit pattern of a float in [-2, 2] (no rounding subtleties needed for example data).
std::uint16_t to_fp16(float x) {
  const int exponent = x == 0 ? -15 : static_cast<int>(std::floor(std::log2(std::fabs(x))));
  if (exponent < -14) return 0;
  const float mantissa = std::fabs(x) / std::ldexp(1.0f, exponent) - 1.0f;
  return static_cast<std::uint16_t>((x < 0 ? 0x8000 : 0) | ((exponent + 15) << 10) |
                                    static_cast<int>(mantissa * 1024.0f + 0.5f));
}

int main() {
  const std::int64_t batch = 1, heads = 8, tokens = 256, head_dim = 128;
  const std::int64_t count = batch * heads * tokens * head_dim;
  std::vector<std::uint16_t> q(count), k(count), v(count), out(count);
  for (std::int64_t i = 0; i < count; ++i) {
    q[i] = to_fp16(std::sin(0.01f * i));
    k[i] = to_fp16(std::cos(0.02f * i));
    v[i] = to_fp16(std::sin(0.03f * i + 1.0f));
  }
  std::vector<float> lse(batch * heads * tokens);

  using sageattn::DType;
  using sageattn::TensorView;
  const std::array<std::int64_t, 4> shape{batch, heads, tokens, head_dim};  // HND
  const TensorView q_view = TensorView::contiguous(q.data(), DType::kFloat16, shape);
  const TensorView k_view = TensorView::contiguous(k.data(), DType::kFloat16, shape);
  const TensorView v_view = TensorView::contiguous(v.data(), DType::kFloat16, shape);
  const TensorView out_view = TensorView::contiguous(out.data(), DType::kFloat16, shape);
  const TensorView lse_view =
      TensorView::contiguous3(lse.data(), DType::kFloat32, {batch, heads, tokens});

  sageattn::Options options;
  options.causal = true;  // qk_quant, pv_precision: kAuto (INT8 per-warp QK, FP8 PV)
  const sageattn::Status status =
      sageattn::attention(q_view, k_view, v_view, out_view, &lse_view, options);
  if (!status.ok()) {
    std::fprintf(stderr, "sageattn: %s\n", status.message().c_str());
    return 1;
  }
  std::printf("lse[0, 0, 255] = %.4f, out[0, 0, 255, 0] bits = 0x%04x\n", lse[tokens - 1],
              out[(tokens - 1) * head_dim]);
  return 0;
}
