// The C API (sageattn/sageattn.h) over the C++ one. No exception crosses this boundary.
#include <exception>
#include <new>
#include <string>

#include "core/dlpack_view.hpp"
#include "sageattn/sageattn.h"
#include "sageattn/sageattn.hpp"

namespace {

using sageattn::Status;
using sageattn::StatusCode;

static_assert(static_cast<int>(StatusCode::kInvalidArgument) == SAGEATTN_INVALID_ARGUMENT &&
              static_cast<int>(StatusCode::kUnsupported) == SAGEATTN_UNSUPPORTED &&
              static_cast<int>(StatusCode::kCudaError) == SAGEATTN_CUDA_ERROR &&
              static_cast<int>(StatusCode::kOutOfMemory) == SAGEATTN_OUT_OF_MEMORY &&
              static_cast<int>(StatusCode::kInternal) == SAGEATTN_INTERNAL);

thread_local std::string last_error;

sageattn_status record(const Status& status) {
  if (!status.ok()) last_error = status.message();
  return static_cast<sageattn_status>(status.code());
}

// Short enough for the string's inline buffer, so assigning it cannot allocate, hence cannot throw.
constexpr const char* kOutOfMemoryMessage = "out of memory";

sageattn_status record_internal_error(const char* message) noexcept {
  try {
    last_error = message;
    return SAGEATTN_INTERNAL;
  } catch (...) {
    last_error = kOutOfMemoryMessage;
    return SAGEATTN_OUT_OF_MEMORY;
  }
}

// Runs `body` (which returns a Status) and turns any escaping exception into a status: nothing
// may unwind through a C caller.
template <class Body>
sageattn_status guarded(Body&& body) noexcept {
  try {
    return record(body());
  } catch (const std::bad_alloc&) {
    last_error = kOutOfMemoryMessage;
    return SAGEATTN_OUT_OF_MEMORY;
  } catch (const std::exception& error) {
    return record_internal_error(error.what());
  } catch (...) {
    return record_internal_error("unknown exception");
  }
}

struct CallArguments {
  sageattn::TensorView q, k, v;
  sageattn::Options options;
};

Status convert_inputs(const DLTensor* q, const DLTensor* k, const DLTensor* v,
                      const sageattn_options* options, CallArguments* arguments) {
  using sageattn::core::view_from_dlpack;
  if (Status s = view_from_dlpack("q", q, 4, &arguments->q); !s.ok()) return s;
  if (Status s = view_from_dlpack("k", k, 4, &arguments->k); !s.ok()) return s;
  if (Status s = view_from_dlpack("v", v, 4, &arguments->v); !s.ok()) return s;
  return sageattn::core::options_from_c(options, &arguments->options);
}

}  // namespace

extern "C" {

void sageattn_options_init(sageattn_options* options) {
  if (options == nullptr) return;
  *options = sageattn_options{};
  options->struct_size = sizeof(sageattn_options);
  options->layout = SAGEATTN_LAYOUT_HND;
  options->qk_quant = SAGEATTN_QK_AUTO;
  options->pv_precision = SAGEATTN_PV_AUTO;
  options->smooth_k = 1;
  options->backend = SAGEATTN_BACKEND_AUTO;
}

sageattn_status sageattn_workspace_size(const DLTensor* q, const DLTensor* k, const DLTensor* v,
                                        const sageattn_options* options, size_t* bytes) {
  return guarded([&]() -> Status {
    CallArguments arguments;
    if (Status s = convert_inputs(q, k, v, options, &arguments); !s.ok()) return s;
    return sageattn::workspace_bytes(arguments.q, arguments.k, arguments.v, arguments.options,
                                     bytes);
  });
}

sageattn_status sageattn_forward(const DLTensor* q, const DLTensor* k, const DLTensor* v,
                                 DLTensor* out, DLTensor* lse, const sageattn_options* options,
                                 void* workspace, size_t workspace_bytes, void* stream) {
  return guarded([&]() -> Status {
    CallArguments arguments;
    if (Status s = convert_inputs(q, k, v, options, &arguments); !s.ok()) return s;
    sageattn::TensorView out_view;
    if (Status s = sageattn::core::view_from_dlpack("out", out, 4, &out_view); !s.ok()) return s;
    sageattn::TensorView lse_view;
    if (lse != nullptr) {
      if (Status s = sageattn::core::view_from_dlpack("lse", lse, 3, &lse_view); !s.ok()) return s;
    }
    return sageattn::attention(arguments.q, arguments.k, arguments.v, out_view,
                               lse != nullptr ? &lse_view : nullptr, arguments.options,
                               {workspace, workspace_bytes}, stream);
  });
}

const char* sageattn_last_error(void) { return last_error.c_str(); }

const char* sageattn_version(void) { return SAGEATTN_VERSION_STRING; }

}  // extern "C"
