// sageattn._sageattn: the C API (sageattn/sageattn.h) for Python. Arrays arrive through DLPack;
// the Python package (python/sageattn) chooses the options, allocates the output, LSE and
// workspace with the caller's framework and passes its current CUDA stream.
#include <nanobind/nanobind.h>
#include <nanobind/stl/optional.h>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

#include "dlpack_import.hpp"
#include "sageattn/sageattn.h"

namespace nb = nanobind;
using sageattn::python::import_tensor;
using sageattn::python::ImportedTensor;

namespace {

// The C API's failures as Python exceptions carrying its message: a malformed argument is a
// ValueError, a well-formed request this build or device cannot run a NotImplementedError.
[[noreturn]] void raise_status(sageattn_status status) {
  const std::string message = sageattn_last_error();
  switch (status) {
    case SAGEATTN_INVALID_ARGUMENT:
      throw nb::value_error(message.c_str());
    case SAGEATTN_UNSUPPORTED:
      PyErr_SetString(PyExc_NotImplementedError, message.c_str());
      throw nb::python_error();
    case SAGEATTN_OUT_OF_MEMORY:
      PyErr_SetString(PyExc_MemoryError, message.c_str());
      throw nb::python_error();
    default:
      throw std::runtime_error(message);
  }
}

void check(sageattn_status status) {
  if (status != SAGEATTN_OK) raise_status(status);
}

std::optional<float> get_sm_scale(const sageattn_options& options) {
  if (options.has_sm_scale == 0) return std::nullopt;
  return options.sm_scale;
}

void set_sm_scale(sageattn_options& options, std::optional<float> sm_scale) {
  options.has_sm_scale = sm_scale.has_value() ? 1 : 0;
  options.sm_scale = sm_scale.value_or(0.0f);
}

struct Inputs {
  ImportedTensor q, k, v;
};

Inputs import_inputs(nb::handle q, nb::handle k, nb::handle v, std::uintptr_t stream) {
  return {import_tensor(q, "q", stream), import_tensor(k, "k", stream),
          import_tensor(v, "v", stream)};
}

ImportedTensor import_output(nb::handle object, const char* name, std::uintptr_t stream) {
  ImportedTensor tensor = import_tensor(object, name, stream);
  if (tensor.read_only()) {
    throw nb::value_error((std::string(name) + ": the array is read-only").c_str());
  }
  return tensor;
}

// The workspace as (pointer, bytes): none, a byte array, or the array a callable returns when given
// the byte count the call needs (skipped when it needs none), so one crossing into Python allocates
// it with the caller's framework.
struct WorkspaceBuffer {
  std::optional<ImportedTensor> tensor;
  void* data = nullptr;
  std::size_t bytes = 0;
};

WorkspaceBuffer import_workspace(nb::handle workspace, const Inputs& inputs,
                                 const sageattn_options& options, std::uintptr_t stream) {
  WorkspaceBuffer buffer;
  nb::object array = nb::borrow(workspace);
  if (PyCallable_Check(workspace.ptr())) {
    std::size_t needed = 0;
    check(
        sageattn_workspace_size(inputs.q.get(), inputs.k.get(), inputs.v.get(), &options, &needed));
    if (needed == 0) return buffer;
    array = workspace(needed);
  }
  if (array.is_none()) return buffer;
  buffer.tensor = import_output(array, "workspace", stream);
  const DLTensor* tensor = buffer.tensor->get();
  if (tensor->ndim != 1 || tensor->dtype.bits != 8 || tensor->dtype.lanes != 1 ||
      (tensor->strides != nullptr && tensor->strides[0] != 1)) {
    throw nb::value_error("workspace: expected a contiguous 1-d array of bytes (uint8)");
  }
  buffer.data = static_cast<char*>(tensor->data) + tensor->byte_offset;
  buffer.bytes = static_cast<std::size_t>(tensor->shape[0]);
  return buffer;
}

void forward(nb::handle q, nb::handle k, nb::handle v, nb::handle out, nb::handle lse,
             const sageattn_options& options, nb::handle workspace, std::uintptr_t stream) {
  const Inputs inputs = import_inputs(q, k, v, stream);
  const ImportedTensor out_tensor = import_output(out, "out", stream);
  std::optional<ImportedTensor> lse_tensor;
  if (!lse.is_none()) lse_tensor = import_output(lse, "lse", stream);
  const WorkspaceBuffer workspace_buffer = import_workspace(workspace, inputs, options, stream);
  sageattn_status status;
  {
    // The CPU backends take long and run their own threads; CUDA calls only enqueue work.
    nb::gil_scoped_release release;
    status =
        sageattn_forward(inputs.q.get(), inputs.k.get(), inputs.v.get(), out_tensor.get(),
                         lse_tensor ? lse_tensor->get() : nullptr, &options, workspace_buffer.data,
                         workspace_buffer.bytes, reinterpret_cast<void*>(stream));
  }
  check(status);
}

}  // namespace

NB_MODULE(_sageattn, m) {
  m.doc() = "The sageattn C API over DLPack (use the sageattn package, not this module)";

  nb::class_<sageattn_options>(m, "Options",
                               "sageattn_options: the integer values of sageattn/sageattn.h")
      .def("__init__",
           [](sageattn_options* options) {
             new (options) sageattn_options;
             sageattn_options_init(options);
           })
      .def_rw("layout", &sageattn_options::layout)
      .def_rw("causal", &sageattn_options::causal)
      .def_prop_rw("sm_scale", &get_sm_scale, &set_sm_scale, nb::arg("sm_scale").none())
      .def_rw("qk_quant", &sageattn_options::qk_quant)
      .def_rw("pv_precision", &sageattn_options::pv_precision)
      .def_rw("smooth_k", &sageattn_options::smooth_k)
      .def_rw("smooth_q", &sageattn_options::smooth_q)
      .def_rw("smooth_v", &sageattn_options::smooth_v)
      .def_rw("backend", &sageattn_options::backend);

  m.def("forward", &forward, nb::arg("q"), nb::arg("k"), nb::arg("v"), nb::arg("out"),
        nb::arg("lse").none(), nb::arg("options"), nb::arg("workspace").none() = nb::none(),
        nb::arg("stream") = 0,
        "Attention of q, k, v into out (and lse) on `stream` (a cudaStream_t as int; ignored on "
        "the CPU). Arrays are DLPack producers (ordered before `stream`) or DLPack capsules (taken "
        "as they are). workspace: None (the library allocates it), a uint8 array or capsule, or a "
        "callable that returns one of the byte count it is given.");
  m.def("version", &sageattn_version, "The C library's version string.");
}
