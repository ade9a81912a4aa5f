// DLPack tensors and the C options struct as the C++ API's TensorView and Options.
#pragma once

#include "sageattn/sageattn.h"
#include "sageattn/sageattn.hpp"

namespace sageattn::core {

// `name` prefixes the messages ("q: ..."). The view keeps the DLTensor's byte_offset folded into
// data; strides == NULL becomes the compact row-major strides.
Status view_from_dlpack(const char* name, const DLTensor* tensor, int expected_rank,
                        TensorView* view);

// NULL gives the defaults. struct_size must cover this version's struct; a larger struct (from a
// newer header) is accepted only when the fields this version does not know are zero.
Status options_from_c(const sageattn_options* options, Options* converted);

}  // namespace sageattn::core
