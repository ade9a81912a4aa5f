"""The torch custom op ``sageattn::attention`` (imported only once a torch tensor is seen).

The op is functional: it allocates the output, the LSE and the workspace with torch's allocator
(so CUDA-graph capture takes them from the graph's pool), runs on torch's current CUDA stream and
has a fake implementation, so torch.compile(fullgraph=True) traces it without a graph break.
"""

import functools

import torch
from torch.utils.dlpack import to_dlpack

from . import _options, _sageattn

_SCHEMA = (
    "(Tensor q, Tensor k, Tensor v, int layout, bool causal, float? sm_scale, "
    "int qk_quant, int pv_precision, bool smooth_k, bool smooth_q, bool smooth_v, int backend, "
    "bool return_lse) -> (Tensor, Tensor)"
)
# Torch allocates our tensors and we run on its current stream, so the arrays need no
# synchronization when exported: they go to the extension as DLPack capsules made by
# torch.utils.dlpack.to_dlpack (no stream handshake). Tensor.__dlpack__ costs ~6 us of Python per
# tensor (its stream and device checks), a quarter of an eager call's host time on H100.

torch.library.define("sageattn::attention", _SCHEMA)


def _dense_last_dim(tensor):
    # The C API takes any strides but a unit head-dim stride.
    return tensor if tensor.stride(-1) == 1 else tensor.contiguous()


def _new_outputs(q, layout, return_lse):
    q = _dense_last_dim(q)
    out = torch.empty_like(q)
    lse_shape = _options.lse_shape(tuple(q.shape), layout) if return_lse else (0,)
    lse = torch.empty(lse_shape, dtype=torch.float32, device=q.device)
    return out, lse


def _values(layout, causal, sm_scale, qk_quant, pv_precision, smooth_k, smooth_q, smooth_v,
            backend):
    return _options.OptionValues(layout, causal, sm_scale, qk_quant, pv_precision, smooth_k,
                                 smooth_q, smooth_v, backend)


@torch.library.impl("sageattn::attention", ["CPU", "CUDA"])
def _attention(q, k, v, layout, causal, sm_scale, qk_quant, pv_precision, smooth_k, smooth_q,
               smooth_v, backend, return_lse):
    q, k, v = (_dense_last_dim(t).detach() for t in (q, k, v))
    options = _options.to_c(_values(layout, causal, sm_scale, qk_quant, pv_precision, smooth_k,
                                    smooth_q, smooth_v, backend))
    out, lse = _new_outputs(q, layout, return_lse)
    stream, workspace = 0, None
    if q.is_cuda:
        stream = torch.cuda.current_stream(q.device).cuda_stream
        new_bytes = functools.partial(torch.empty, dtype=torch.uint8, device=q.device)
        workspace = lambda size: to_dlpack(new_bytes(size))  # noqa: E731
    _sageattn.forward(to_dlpack(q), to_dlpack(k), to_dlpack(v), to_dlpack(out),
                      to_dlpack(lse) if return_lse else None, options, workspace, stream)
    return out, lse


_register_fake = getattr(torch.library, "register_fake", None) or torch.library.impl_abstract


@_register_fake("sageattn::attention")
def _attention_fake(q, k, v, layout, causal, sm_scale, qk_quant, pv_precision, smooth_k,
                    smooth_q, smooth_v, backend, return_lse):
    return _new_outputs(q, layout, return_lse)


def attention(q, k, v, values, return_lse):
    """sageattn.sageattn for torch tensors: the custom op, after the checks it cannot make."""
    if torch.is_grad_enabled() and (q.requires_grad or k.requires_grad or v.requires_grad):
        raise RuntimeError(
            "sageattn has no backward pass, and an input requires grad: run under "
            "torch.no_grad() or torch.inference_mode(), or use sageattn.sdpa, which falls back "
            "to torch's SDPA for such inputs"
        )
    out, lse = torch.ops.sageattn.attention(q, k, v, *values, return_lse)
    return (out, lse) if return_lse else out
