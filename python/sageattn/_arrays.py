"""sageattn over arrays of frameworks other than torch: numpy (CPU), cupy (CUDA) and any other
DLPack producer, whose arrays are viewed (zero-copy) as numpy, cupy or torch arrays."""

import functools
import sys

import numpy as np

from . import _options, _sageattn


def framework(array):
    """'torch', 'numpy', 'cupy' or 'dlpack' (any other array with __dlpack__); None otherwise."""
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(array, torch.Tensor):
        return "torch"
    if isinstance(array, np.ndarray):
        return "numpy"
    cupy = sys.modules.get("cupy")
    if cupy is not None and isinstance(array, cupy.ndarray):
        return "cupy"
    if hasattr(array, "__dlpack__") and hasattr(array, "__dlpack_device__"):
        return "dlpack"
    return None


_KDLCUDA = 2


def as_native(array):
    """A zero-copy view of a DLPack producer's array: numpy on the CPU; cupy, else torch, on CUDA."""
    device_type, _ = array.__dlpack_device__()
    if device_type != _KDLCUDA:
        return np.from_dlpack(array)
    try:
        import cupy
    except ImportError:
        try:
            import torch
        except ImportError:
            raise TypeError(
                f"{type(array).__name__} on CUDA: importing it needs cupy or torch, and neither "
                "is installed"
            ) from None
        return torch.from_dlpack(array)
    return cupy.from_dlpack(array)


def _strides_taken(array):
    # The C API needs non-negative strides and a unit stride in the head dimension.
    return array.strides[-1] == array.itemsize and min(array.strides) >= 0


def _with_taken_strides(arrays, ascontiguousarray):
    return [a if _strides_taken(a) else ascontiguousarray(a) for a in arrays]


def attention_numpy(q, k, v, values, return_lse):
    q, k, v = _with_taken_strides((q, k, v), np.ascontiguousarray)
    out = np.empty_like(q)
    lse = np.empty(_options.lse_shape(q.shape, values.layout), np.float32) if return_lse else None
    _sageattn.forward(q, k, v, out, lse, _options.to_c(values))
    return (out, lse) if return_lse else out


def attention_cupy(q, k, v, values, return_lse):
    import cupy

    q, k, v = _with_taken_strides((q, k, v), cupy.ascontiguousarray)
    options = _options.to_c(values)
    with cupy.cuda.Device(q.device.id):  # the arrays' device: its current stream, allocations
        stream = cupy.cuda.get_current_stream().ptr
        out = cupy.empty_like(q)
        lse = (cupy.empty(_options.lse_shape(q.shape, values.layout), cupy.float32)
               if return_lse else None)
        workspace = functools.partial(cupy.empty, dtype=cupy.uint8)
        _sageattn.forward(q, k, v, out, lse, options, workspace, stream)
    return (out, lse) if return_lse else out
