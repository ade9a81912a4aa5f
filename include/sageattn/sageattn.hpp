// sageattn C++ API: quantized (SageAttention / SageAttention2) attention over tensor views.
//
//   out = softmax(sm_scale * Q K^T [+ causal mask]) V
//
// Q is [B, Hq, Nq, D] (HND) or [B, Nq, Hq, D] (NHD); K and V are [B, Hkv, Nkv, D] in the same layout
// with Hq a multiple of Hkv (GQA/MQA). Inputs are fp16 or bf16, all three the same dtype; the output
// has the input dtype and the shape of Q. D is 64 or 128.
#pragma once

#include <cstddef>
#include <optional>

#include "sageattn/types.hpp"

namespace sageattn {

enum class Layout : std::uint8_t {
  kHND,  // [batch, heads, tokens, head_dim]
  kNHD,  // [batch, tokens, heads, head_dim]
};

// How Q K^T is computed. The INT8/INT4 modes quantize Q and K symmetrically with one scale per
// group of tokens; the groups follow the kernel's tile layout (src/quant/granularity.hpp documents
// which tokens share a scale). Finer groups are more accurate and cost slightly more.
enum class QKQuant : std::uint8_t {
  kAuto,           // the fastest accurate choice for the device (int8 per_warp today)
  kInt8PerBlock,   // one scale per Q block / K block of the kernel tile
  kInt8PerWarp,    // one scale per warp's slab of Q rows; per K block
  kInt8PerThread,  // one scale per MMA thread-row group of Q, per thread-column group of K
  kInt4PerThread,  // SageAttention2-4bit: INT4 with per-thread scales (needs INT4 tensor cores)
  kNone,           // no quantization: fp16 Q K^T (the accuracy baseline)
};

// How P V is computed.
enum class PVPrecision : std::uint8_t {
  kAuto,           // fp8 where the device has fp8 tensor cores (sm89+), else fp16/fp32
  kFp16Fp32Accum,  // P and V in fp16, fp32 accumulator
  kFp16Fp16Accum,  // fp16 accumulator per KV tile, added into an fp32 buffer (two-level)
  kFp8Fp32Accum,   // P and V in fp8 e4m3 (V per-channel scales), per-tile fp32 accumulator added
                   // into an fp32 buffer (two-level)
};

enum class Backend : std::uint8_t {
  kAuto,           // the device of the tensors: CUDA kernels for CUDA tensors, CPU emulation for CPU
  kCpuEmulation,   // the quantized pipeline, step by step as the GPU computes it (CPU tensors)
  kCpuReference,   // exact attention, fp64 accumulation (CPU tensors)
  kCuda,           // CUDA kernels (CUDA tensors)
};

struct Options {
  Layout layout = Layout::kHND;
  // Causal mask aligned to the bottom-right corner: query i sees key j iff j <= i + (Nkv - Nq),
  // as FlashAttention >= 2.1. Rows that see no key output 0 and have LSE = -inf.
  bool causal = false;
  std::optional<float> sm_scale;  // default 1/sqrt(D)
  QKQuant qk_quant = QKQuant::kAuto;
  PVPrecision pv_precision = PVPrecision::kAuto;
  bool smooth_k = true;   // subtract mean_k over tokens: softmax-invariant, removes channel outliers
  bool smooth_q = false;  // subtract per-block mean of Q, add back mean(q) K^T exactly
  bool smooth_v = false;  // subtract mean_v per channel, add it back to the output
  Backend backend = Backend::kAuto;
};

// Memory for quantized copies of Q, K, V and their scales. With data == nullptr the library
// allocates it per call (stream-ordered on CUDA); pass a buffer of workspace_bytes() to avoid that.
struct Workspace {
  void* data = nullptr;
  std::size_t bytes = 0;
};

// Bytes of workspace attention() needs for these arguments (0 for CPU tensors).
Status workspace_bytes(const TensorView& q, const TensorView& k, const TensorView& v,
                       const Options& options, std::size_t* bytes);

// Computes attention into `out` (the shape and dtype of q). `lse`, if not null, receives the
// natural-log log-sum-exp of each query row, fp32 [B, Hq, Nq] (always this order, any strides),
// corrected for K smoothing so it is the LSE of the exact logits. `stream` is a cudaStream_t for
// CUDA tensors (nullptr: the default stream) and ignored for CPU tensors. The call returns without
// synchronizing the stream.
Status attention(const TensorView& q, const TensorView& k, const TensorView& v,
                 const TensorView& out, const TensorView* lse = nullptr,
                 const Options& options = {}, Workspace workspace = {}, void* stream = nullptr);

}  // namespace sageattn
