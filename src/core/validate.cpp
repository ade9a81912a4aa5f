// Options checks, backend choice and the resolution of kAuto; the tensor checks live in
// validate_tensors.cpp.
#include "core/validate.hpp"

#include <cmath>

#include "core/message.hpp"
#include "core/validate_tensors.hpp"

#ifdef SAGEATTN_HAS_CUDA
#include "cuda/cuda_backend.hpp"
#endif

namespace sageattn::core {
namespace {

template <class Enum>
Status check_enum(const char* name, Enum value, Enum last, const char* expected) {
  const int raw = static_cast<int>(value);
  if (raw > static_cast<int>(last)) {
    return invalid_argument("options.", name, ": value ", raw, " is out of range (expected ",
                            expected, ")");
  }
  return {};
}

Status check_option_values(const Options& options) {
  if (Status s = check_enum("layout", options.layout, Layout::kNHD, "kHND or kNHD"); !s.ok()) {
    return s;
  }
  if (Status s = check_enum("qk_quant", options.qk_quant, QKQuant::kNone, "kAuto .. kNone");
      !s.ok()) {
    return s;
  }
  if (Status s = check_enum("pv_precision", options.pv_precision, PVPrecision::kFp8Fp32Accum,
                            "kAuto .. kFp8Fp32Accum");
      !s.ok()) {
    return s;
  }
  if (Status s = check_enum("backend", options.backend, Backend::kCuda, "kAuto .. kCuda");
      !s.ok()) {
    return s;
  }
  if (options.sm_scale && !(std::isfinite(*options.sm_scale) && *options.sm_scale > 0.0f)) {
    return invalid_argument("options.sm_scale: ", float_string(*options.sm_scale),
                            " (expected a finite positive number)");
  }
  return {};
}

const char* backend_name(Backend backend) {
  switch (backend) {
    case Backend::kAuto:
      return "auto";
    case Backend::kCpuEmulation:
      return "cpu_emulation";
    case Backend::kCpuReference:
      return "cpu_reference";
    case Backend::kCuda:
      return "cuda";
  }
  return "unknown";
}

// The backend follows the tensors' device; an explicit choice must match it.
Status choose_backend(Backend requested, Device device, Backend* chosen) {
  const bool on_cuda = device.kind == DeviceKind::kCUDA;
  if (requested == Backend::kAuto) {
    *chosen = on_cuda ? Backend::kCuda : Backend::kCpuEmulation;
    return {};
  }
  if (on_cuda != (requested == Backend::kCuda)) {
    return invalid_argument("options.backend: ", backend_name(requested), " needs ",
                            on_cuda ? "CPU" : "CUDA", " tensors (q is on ", device_string(device),
                            ")");
  }
  *chosen = requested;
  return {};
}

Status resolve_for_device(ValidatedCall* call) {
  AttentionProblem& problem = call->problem;
  if (call->backend != Backend::kCuda) {
    // The CPU follows what the GPUs run by default: SageAttention2-8bit.
    if (problem.qk_quant == QKQuant::kAuto) problem.qk_quant = QKQuant::kInt8PerWarp;
    if (problem.pv_precision == PVPrecision::kAuto) {
      problem.pv_precision = PVPrecision::kFp8Fp32Accum;
    }
    return {};
  }
#ifdef SAGEATTN_HAS_CUDA
  if (Status s = cuda::compute_capability(problem.device.index, &call->capability); !s.ok()) {
    return s;
  }
  return cuda::resolve_options(call->capability, &problem.qk_quant, &problem.pv_precision);
#else
  return unsupported("q: on ", device_string(problem.device),
                     ", but this build has no CUDA backend (rebuild with CUDA)");
#endif
}

}  // namespace

Status validate_call(const TensorView& q, const TensorView& k, const TensorView& v,
                     const TensorView* out, const TensorView* lse, const Options& options,
                     ValidatedCall* call) {
  if (Status s = check_option_values(options); !s.ok()) return s;
  if (Status s = check_view("q", q, 4, TensorRole::kInput); !s.ok()) return s;
  if (Status s = check_view("k", k, 4, TensorRole::kInput); !s.ok()) return s;
  if (Status s = check_view("v", v, 4, TensorRole::kInput); !s.ok()) return s;
  if (out != nullptr) {
    if (Status s = check_view("out", *out, 4, TensorRole::kOutput); !s.ok()) return s;
  }
  if (lse != nullptr) {
    if (Status s = check_view("lse", *lse, 3, TensorRole::kOutput); !s.ok()) return s;
  }
  if (Status s = check_consistency(q, k, v, out, lse, options.layout); !s.ok()) return s;
  if (Status s = check_no_overlap(q, k, v, out, lse); !s.ok()) return s;

  const HeadMajorShape qs = head_major_shape(q, options.layout);
  const HeadMajorShape ks = head_major_shape(k, options.layout);
  const HeadMajorShape vs = head_major_shape(v, options.layout);
  AttentionProblem& problem = call->problem;
  problem = AttentionProblem{};
  problem.batch = qs.batch;
  problem.heads_q = qs.heads;
  problem.heads_kv = ks.heads;
  problem.len_q = qs.tokens;
  problem.len_kv = ks.tokens;
  problem.head_dim = static_cast<int>(qs.dim);
  problem.dtype = q.dtype;
  problem.device = q.device;
  problem.q = q.data;
  problem.k = k.data;
  problem.v = v.data;
  problem.q_strides = qs.strides;
  problem.k_strides = ks.strides;
  problem.v_strides = vs.strides;
  if (out != nullptr) {
    problem.out = out->data;
    problem.out_strides = head_major_shape(*out, options.layout).strides;
  }
  if (lse != nullptr) {
    problem.lse = static_cast<float*>(lse->data);
    problem.lse_strides = {lse->strides[0], lse->strides[1], lse->strides[2]};
  }
  problem.causal = options.causal;
  problem.sm_scale = options.sm_scale.value_or(1.0f / std::sqrt(static_cast<float>(qs.dim)));
  problem.qk_quant = options.qk_quant;
  problem.pv_precision = options.pv_precision;
  problem.smooth_k = options.smooth_k;
  problem.smooth_q = options.smooth_q;
  problem.smooth_v = options.smooth_v;

  if (Status s = choose_backend(options.backend, q.device, &call->backend); !s.ok()) return s;
  return resolve_for_device(call);
}

}  // namespace sageattn::core
