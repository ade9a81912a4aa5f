// Borrowing a DLTensor from any Python object that speaks the DLPack protocol (__dlpack__ and
// __dlpack_device__: torch, numpy >= 1.22, cupy, jax) or from a DLPack capsule.
#pragma once

#include <nanobind/nanobind.h>

#include <cstdint>

#include "sageattn/sageattn.h"

namespace sageattn::python {

// A tensor borrowed for the duration of one call. The capsule stays unconsumed, so its
// producer-installed destructor releases the tensor when this object goes away.
class ImportedTensor {
 public:
  ImportedTensor(nanobind::object capsule, DLTensor* tensor, bool read_only)
      : capsule_(std::move(capsule)), tensor_(tensor), read_only_(read_only) {}

  DLTensor* get() const { return tensor_; }
  bool read_only() const { return read_only_; }

 private:
  nanobind::object capsule_;
  DLTensor* tensor_;
  bool read_only_;
};

// Throws nanobind::type_error when `object` is neither an array with __dlpack__ nor a capsule;
// `name` prefixes the message ("q: ..."). A CUDA producer orders its pending work on the array
// before `stream` (the DLPack protocol's consumer stream; 0, the legacy default stream, is spelled
// 1 there). A capsule is taken as it is: its producer has already done what ordering it needs.
ImportedTensor import_tensor(nanobind::handle object, const char* name, std::uintptr_t stream);

}  // namespace sageattn::python
