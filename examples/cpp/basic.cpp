// sageattn from C++: causal attention over fp16 tensors in host memory, which runs the CPU
// emulation of the quantized kernels. CUDA pointers with Device{DeviceKind::kCUDA, 0} run on the
// GPU.
#include <sageattn/sageattn.hpp>

#include <cstdint>
#include <cstdio>
#include <vector>

int main() {
  const std::int64_t batch = 1, heads = 8, tokens = 256, head_dim = 128;
  const std::size_t count = batch * heads * tokens * head_dim;
  std::vector<std::uint16_t> q(count), k(count), v(count), out(count);  // fp16 bit patterns
  for (std::size_t i = 0; i < count; ++i) {
    q[i] = static_cast<std::uint16_t>(0x3000 + i % 512);  // values in [0.125, 0.25)
    k[i] = static_cast<std::uint16_t>(0x3400 + i % 256);
    v[i] = static_cast<std::uint16_t>(0xB800 + i % 128);
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
  options.causal = true;  // qk_quant and pv_precision stay kAuto: INT8 per-warp QK, FP8 PV
  const sageattn::Status status =
      sageattn::attention(q_view, k_view, v_view, out_view, &lse_view, options);
  if (!status.ok()) {
    std::fprintf(stderr, "sageattn: %s\n", status.message().c_str());
    return 1;
  }
  std::printf("lse[0, 0, 255] = %.4f\n", lse[tokens - 1]);
  return 0;
}
