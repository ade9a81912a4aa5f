// Tensor checks of the API boundary. Messages read "<tensor>: <what was seen> (expected <what>)".
#include "core/validate_tensors.hpp"

#include <cstdint>
#include <limits>

#include "core/message.hpp"

namespace sageattn::core {
namespace {

// The bytes a view can touch, [begin, end); begin == end for a view without elements.
struct ByteRange {
  std::uintptr_t begin = 0;
  std::uintptr_t end = 0;
  bool empty() const { return begin == end; }
  bool overlaps(const ByteRange& other) const {
    return !empty() && !other.empty() && begin < other.end && other.begin < end;
  }
};

bool has_elements(const TensorView& view) {
  for (int d = 0; d < view.rank; ++d) {
    if (view.shape[d] == 0) return false;
  }
  return true;
}

// False when the extent does not fit in the address space (sizes and strides already >= 0).
bool byte_range(const TensorView& view, ByteRange* range) {
  *range = {};
  if (!has_elements(view)) return true;
  std::int64_t last_element = 0;
  for (int d = 0; d < view.rank; ++d) {
    std::int64_t step = 0;
    if (__builtin_mul_overflow(view.shape[d] - 1, view.strides[d], &step) ||
        __builtin_add_overflow(last_element, step, &last_element)) {
      return false;
    }
  }
  std::int64_t bytes = 0;
  if (__builtin_mul_overflow(last_element + 1, static_cast<std::int64_t>(dtype_size(view.dtype)),
                             &bytes)) {
    return false;
  }
  const auto begin = reinterpret_cast<std::uintptr_t>(view.data);
  if (static_cast<std::uint64_t>(bytes) > std::numeric_limits<std::uintptr_t>::max() - begin) {
    return false;
  }
  *range = {begin, begin + static_cast<std::uintptr_t>(bytes)};
  return true;
}

bool same_device(Device a, Device b) {
  return a.kind == b.kind && (a.kind == DeviceKind::kCPU || a.index == b.index);
}

std::string dims_string(std::int64_t a, std::int64_t b, std::int64_t c) {
  return concat("[", a, ",", b, ",", c, "]");
}

Status check_same_dtype_and_device(const char* name, const TensorView& view, const TensorView& q) {
  if (view.dtype != q.dtype) {
    return invalid_argument(name, ": dtype ", to_string(view.dtype), " does not match q's ",
                            to_string(q.dtype));
  }
  if (!same_device(view.device, q.device)) {
    return invalid_argument(name, ": device ", device_string(view.device), " differs from q's ",
                            device_string(q.device));
  }
  return {};
}

Status check_kv_against_q(const char* name, const HeadMajorShape& kv, const HeadMajorShape& q) {
  if (kv.dim != q.dim) {
    return invalid_argument(name, ": head_dim ", kv.dim, " does not match q's ", q.dim);
  }
  if (kv.batch != q.batch) {
    return invalid_argument(name, ": batch ", kv.batch, " does not match q's ", q.batch);
  }
  return {};
}

}  // namespace

std::string shape_string(const TensorView& view) {
  std::ostringstream text;
  text << '[';
  for (int d = 0; d < view.rank && d < 4; ++d) text << (d ? "," : "") << view.shape[d];
  text << ']';
  return text.str();
}

std::string device_string(Device device) {
  switch (device.kind) {
    case DeviceKind::kCPU:
      return "cpu";
    case DeviceKind::kCUDA:
      return concat("cuda:", device.index);
  }
  return concat("device kind ", static_cast<int>(device.kind));
}

Status check_view(const char* name, const TensorView& view, int expected_rank, TensorRole role) {
  if (view.rank != expected_rank) {
    return invalid_argument(name, ": rank ", view.rank, " (expected ", expected_rank, ")");
  }
  if (static_cast<int>(view.dtype) > static_cast<int>(DType::kFloat32)) {
    return invalid_argument(name, ": dtype value ", static_cast<int>(view.dtype),
                            " is not a DType (expected float16, bfloat16 or float32)");
  }
  if (view.device.kind != DeviceKind::kCPU && view.device.kind != DeviceKind::kCUDA) {
    return invalid_argument(name, ": device kind ", static_cast<int>(view.device.kind),
                            " is not a DeviceKind (expected cpu or cuda)");
  }
  if (view.device.kind == DeviceKind::kCUDA && view.device.index < 0) {
    return invalid_argument(name, ": CUDA device index ", view.device.index, " (expected >= 0)");
  }
  for (int d = 0; d < expected_rank; ++d) {
    if (view.shape[d] < 0) {
      return invalid_argument(name, ": size of dimension ", d, " is ", view.shape[d],
                              " (expected >= 0)");
    }
    if (view.strides[d] < 0) {
      return invalid_argument(name, ": stride of dimension ", d, " is ", view.strides[d],
                              " (expected >= 0; negative strides are not supported)");
    }
  }
  // A tensor without elements is never addressed, and frameworks give such tensors arbitrary
  // strides (numpy: all zero), so only tensors with elements need a unit innermost stride.
  if (expected_rank == 4 && view.strides[3] != 1 && has_elements(view)) {
    return invalid_argument(name, ": stride of the last dimension is ", view.strides[3],
                            " (expected 1)");
  }
  if (view.data == nullptr && has_elements(view)) {
    return invalid_argument(name, ": data is null");
  }
  ByteRange range;
  if (!byte_range(view, &range)) {
    return invalid_argument(name, ": shape ", shape_string(view),
                            " with these strides spans more memory than can be addressed");
  }
  if (role == TensorRole::kOutput && has_elements(view)) {
    for (int d = 0; d < expected_rank; ++d) {
      if (view.strides[d] == 0 && view.shape[d] > 1) {
        return invalid_argument(name, ": stride of dimension ", d, " is 0 with size ",
                                view.shape[d], " (an output must not write an element twice)");
      }
    }
  }
  return {};
}

HeadMajorShape head_major_shape(const TensorView& view, Layout layout) {
  const auto& s = view.shape;
  const auto& st = view.strides;
  if (layout == Layout::kNHD) return {s[0], s[2], s[1], s[3], {st[0], st[2], st[1]}};
  return {s[0], s[1], s[2], s[3], {st[0], st[1], st[2]}};
}

Status check_consistency(const TensorView& q, const TensorView& k, const TensorView& v,
                         const TensorView* out, const TensorView* lse, Layout layout) {
  if (q.dtype != DType::kFloat16 && q.dtype != DType::kBFloat16) {
    return unsupported("q: dtype ", to_string(q.dtype),
                       " is not supported (expected float16 or bfloat16)");
  }
  if (Status s = check_same_dtype_and_device("k", k, q); !s.ok()) return s;
  if (Status s = check_same_dtype_and_device("v", v, q); !s.ok()) return s;
  if (out != nullptr) {
    if (Status s = check_same_dtype_and_device("out", *out, q); !s.ok()) return s;
  }
  if (lse != nullptr) {
    if (lse->dtype != DType::kFloat32) {
      return invalid_argument("lse: dtype ", to_string(lse->dtype), " (expected float32)");
    }
    if (!same_device(lse->device, q.device)) {
      return invalid_argument("lse: device ", device_string(lse->device), " differs from q's ",
                              device_string(q.device));
    }
  }

  const HeadMajorShape qs = head_major_shape(q, layout);
  const HeadMajorShape ks = head_major_shape(k, layout);
  const HeadMajorShape vs = head_major_shape(v, layout);
  if (qs.dim != 64 && qs.dim != 128) {
    return unsupported("q: head_dim ", qs.dim, " is not supported (expected 64 or 128)");
  }
  if (Status s = check_kv_against_q("k", ks, qs); !s.ok()) return s;
  if (Status s = check_kv_against_q("v", vs, qs); !s.ok()) return s;
  if (vs.heads != ks.heads) {
    return invalid_argument("v: heads ", vs.heads, " do not match k's ", ks.heads);
  }
  if (vs.tokens != ks.tokens) {
    return invalid_argument("v: tokens ", vs.tokens, " do not match k's ", ks.tokens);
  }
  if (ks.heads == 0 && qs.heads > 0) {
    return invalid_argument("k: heads 0 (expected at least 1 when q has ", qs.heads, " heads)");
  }
  if (ks.heads > 0 && qs.heads % ks.heads != 0) {
    return invalid_argument("k: heads ", ks.heads, " do not divide q's heads ", qs.heads);
  }
  if (out != nullptr && out->shape != q.shape) {
    return invalid_argument("out: shape ", shape_string(*out), " does not match q's ",
                            shape_string(q));
  }
  if (lse != nullptr &&
      (lse->shape[0] != qs.batch || lse->shape[1] != qs.heads || lse->shape[2] != qs.tokens)) {
    return invalid_argument("lse: shape ", shape_string(*lse),
                            " (expected [B, Hq, Nq] = ", dims_string(qs.batch, qs.heads, qs.tokens),
                            ")");
  }
  return {};
}

Status check_no_overlap(const TensorView& q, const TensorView& k, const TensorView& v,
                        const TensorView* out, const TensorView* lse) {
  struct Named {
    const char* name;
    ByteRange range;
  };
  auto range_of = [](const TensorView& view) {
    ByteRange range;
    byte_range(view, &range);
    return range;
  };
  const Named inputs[] = {{"q", range_of(q)}, {"k", range_of(k)}, {"v", range_of(v)}};
  const ByteRange out_range = out ? range_of(*out) : ByteRange{};
  const ByteRange lse_range = lse ? range_of(*lse) : ByteRange{};
  for (const Named& input : inputs) {
    if (out_range.overlaps(input.range)) {
      return invalid_argument("out: memory overlaps ", input.name,
                              " (outputs must not alias the inputs)");
    }
    if (lse_range.overlaps(input.range)) {
      return invalid_argument("lse: memory overlaps ", input.name,
                              " (outputs must not alias the inputs)");
    }
  }
  if (lse_range.overlaps(out_range)) return invalid_argument("lse: memory overlaps out");
  return {};
}

}  // namespace sageattn::core
