#include "dlpack_import.hpp"

#include <string>

namespace nb = nanobind;

namespace sageattn::python {
namespace {

// The DLPack >= 1.0 managed tensors (capsule "dltensor_versioned") and the legacy ones
// ("dltensor"): the ABI of dlpack.h, of which sageattn/dlpack_abi.h declares only DLTensor.
struct DLPackVersion {
  std::uint32_t major;
  std::uint32_t minor;
};

struct DLManagedTensorVersioned {
  DLPackVersion version;
  void* manager_ctx;
  void (*deleter)(DLManagedTensorVersioned* self);
  std::uint64_t flags;
  DLTensor dl_tensor;
};

struct DLManagedTensor {
  DLTensor dl_tensor;
  void* manager_ctx;
  void (*deleter)(DLManagedTensor* self);
};

constexpr std::uint64_t kDLPackFlagReadOnly = 1;
constexpr int kDLPackDeviceCUDA = 2;
constexpr char kVersionedName[] = "dltensor_versioned";
constexpr char kLegacyName[] = "dltensor";

std::string python_type_name(nb::handle object) {
  return nb::cast<std::string>(nb::type_name(object.type()));
}

ImportedTensor from_capsule(nb::object capsule, const char* name) {
  PyObject* raw = capsule.ptr();
  if (PyCapsule_IsValid(raw, kVersionedName)) {
    auto* managed =
        static_cast<DLManagedTensorVersioned*>(PyCapsule_GetPointer(raw, kVersionedName));
    if (managed->version.major != 1) {
      throw nb::type_error((std::string(name) + ": DLPack version " +
                            std::to_string(managed->version.major) + "." +
                            std::to_string(managed->version.minor) + " (expected 1.x)")
                               .c_str());
    }
    return {std::move(capsule), &managed->dl_tensor, (managed->flags & kDLPackFlagReadOnly) != 0};
  }
  if (PyCapsule_IsValid(raw, kLegacyName)) {
    auto* managed = static_cast<DLManagedTensor*>(PyCapsule_GetPointer(raw, kLegacyName));
    return {std::move(capsule), &managed->dl_tensor, false};
  }
  throw nb::type_error((std::string(name) +
                        ": a capsule that is not an unconsumed DLPack tensor (\"dltensor\" or "
                        "\"dltensor_versioned\")")
                           .c_str());
}

nb::object consumer_stream_argument(nb::handle object, std::uintptr_t stream) {
  const auto device = nb::cast<nb::tuple>(object.attr("__dlpack_device__")());
  // The protocol wants stream=None for every device but CUDA.
  if (nb::cast<int>(device[0]) != kDLPackDeviceCUDA) return nb::none();
  return nb::int_(stream == 0 ? std::uintptr_t{1} : stream);
}

}  // namespace

ImportedTensor import_tensor(nb::handle object, const char* name, std::uintptr_t stream) {
  if (PyCapsule_CheckExact(object.ptr())) return from_capsule(nb::borrow(object), name);
  if (!nb::hasattr(object, "__dlpack__") || !nb::hasattr(object, "__dlpack_device__")) {
    throw nb::type_error((std::string(name) + ": " + python_type_name(object) +
                          " does not support DLPack (expected an array with __dlpack__, such "
                          "as a torch tensor or a numpy, cupy or jax array)")
                             .c_str());
  }
  const nb::object stream_argument = consumer_stream_argument(object, stream);
  nb::object capsule;
  try {
    capsule = object.attr("__dlpack__")(nb::arg("stream") = stream_argument,
                                        nb::arg("max_version") = nb::make_tuple(1, 0));
  } catch (nb::python_error& error) {
    // Producers older than DLPack 1.0 (torch < 2.4, numpy < 2.1) take no max_version.
    if (!error.matches(PyExc_TypeError)) throw;
    capsule = object.attr("__dlpack__")(nb::arg("stream") = stream_argument);
  }
  return from_capsule(std::move(capsule), name);
}

}  // namespace sageattn::python
