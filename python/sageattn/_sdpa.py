"""sageattn.sdpa: torch.nn.functional.scaled_dot_product_attention with the same semantics,
computed by sageattn where it can be, and by torch's own SDPA (with a warning, once per reason)
where it cannot. patch_sdpa / unpatch_sdpa / sdpa_patched swap it into torch.nn.functional."""

import contextlib
import warnings

from ._options import OptionValues

# The head dims the kernels take; smaller ones are zero-padded up to the next (see _padded_dim).
_KERNEL_HEAD_DIMS = (64, 128)
# sageattn's defaults: int8 per-warp Q K^T, the device's best P V, K smoothing.
_AUTO, _HND = 0, 0


class SdpaFallbackWarning(UserWarning):
    """sageattn.sdpa handed a call to torch's SDPA; the message says why. Given once per reason."""


_warned_reasons = set()
_original_sdpa = None


def _warn_fallback(reason):
    if reason in _warned_reasons:
        return
    _warned_reasons.add(reason)
    warnings.warn(f"sageattn.sdpa falls back to torch's scaled_dot_product_attention: {reason}",
                  SdpaFallbackWarning, stacklevel=3)


# What torch._dynamo.assume_constant_result sets (without importing torch here): torch.compile
# runs this function while tracing instead of tracing it, so the fallback, which is decided at
# trace time, warns then, without a graph break.
_warn_fallback._dynamo_marked_constant = True


def _torch_sdpa():
    """torch's own SDPA (the one patch_sdpa replaced, if it did)."""
    import torch

    if _original_sdpa is not None:
        return _original_sdpa
    return torch.nn.functional.scaled_dot_product_attention


def _padded_dim(head_dim):
    """The kernel head dim that a smaller one is zero-padded to, or None past the largest.

    Zero channels leave q @ k^T unchanged, add zero output channels (sliced off), and leave the
    per-token quantization scales unchanged (they follow the largest magnitude), so padding is
    exact given the original sm_scale, 1/sqrt(head_dim)."""
    return next((d for d in _KERNEL_HEAD_DIMS if d >= head_dim), None)


def _fallback_reason(torch, query, key, value, attn_mask, dropout_p, is_causal, scale,
                     enable_gqa):
    """Why sageattn cannot compute this call exactly as torch's SDPA would, or None if it can."""
    tensors = (query, key, value)
    if attn_mask is not None:
        return "attn_mask is given (sageattn supports no mask other than is_causal)"
    if dropout_p != 0.0:
        return "dropout_p > 0 (sageattn has no dropout)"
    if not all(isinstance(t, torch.Tensor) for t in tensors) or any(t.is_nested for t in tensors):
        return "an input is not a (non-nested) torch.Tensor"
    if torch.is_grad_enabled() and any(t.requires_grad for t in tensors):
        return "an input requires grad (sageattn has no backward pass)"
    if any(t.dim() != 4 for t in tensors):
        return "inputs are not 4-d [batch, heads, tokens, head_dim]"
    if any(t.device != query.device for t in tensors) or query.device.type != "cuda":
        return "inputs are not all on one CUDA device (the CPU backend is an emulation for tests)"
    if any(t.dtype != query.dtype for t in tensors) or query.dtype not in (torch.float16,
                                                                           torch.bfloat16):
        return f"dtype {query.dtype} (sageattn takes float16 or bfloat16 q, k, v of one dtype)"
    batch, heads_q, len_q, head_dim = query.shape
    batch_k, heads_kv, len_kv, _ = key.shape
    if key.shape[-1] != head_dim or value.shape[-1] != head_dim:
        return "query, key and value head dims differ"
    if _padded_dim(head_dim) is None:
        return f"head_dim {head_dim} (sageattn takes head dims up to {_KERNEL_HEAD_DIMS[-1]})"
    if value.shape != key.shape or batch_k != batch:
        return "key/value shapes do not match query's batch (torch would broadcast)"
    if heads_q != heads_kv and not enable_gqa:
        return "query and key/value head counts differ without enable_gqa"
    if heads_q % heads_kv != 0:
        return "query heads are not a multiple of key/value heads"
    if len_q == 0 or len_kv == 0:
        return "an empty sequence"
    if is_causal and len_q > len_kv:
        return ("is_causal with more queries than keys (torch aligns the causal mask to the "
                "top-left corner, sageattn to the bottom-right)")
    if scale is not None and not scale > 0:
        return "scale <= 0"
    if torch.cuda.get_device_properties(query.device).major < 8:
        return "a GPU older than Ampere (compute capability 8.0)"
    return None


def sdpa(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
         enable_gqa=False):
    """torch.nn.functional.scaled_dot_product_attention, computed by sageattn where it can be.

    Same arguments, semantics and result as torch's function (up to quantization error):
    query ``[B, Hq, L, E]``, key and value ``[B, Hkv, S, E]``, output ``[B, Hq, L, E]``.

    Args:
        query, key, value: torch tensors.
        attn_mask: any mask makes the call fall back to torch's SDPA.
        dropout_p: any value but 0.0 makes the call fall back (torch applies dropout whenever
            dropout_p > 0, also in eval mode; modules pass 0.0 when not training).
        is_causal: torch's causal mask is aligned to the top-left corner (query i sees key j iff
            j <= i). For L <= S this equals sageattn's bottom-right mask over the first L keys
            (the later keys are seen by no query), which is what runs; L > S falls back.
        scale: the softmax scale; None means ``1 / sqrt(E)``.
        enable_gqa: allow Hkv < Hq with Hq a multiple of Hkv (query head h reads key/value
            head ``h // (Hq // Hkv)``, as torch's repeat_interleave). Without it, differing head
            counts fall back to torch (which raises or broadcasts as it does).

    sageattn runs 4-d float16/bfloat16 CUDA tensors on Ampere or newer with E <= 128 (E below 64
    or between 64 and 128 is zero-padded to 64 or 128, which is exact) and no input requiring
    grad while grad is enabled. Every other call goes to torch's SDPA, with a
    ``SdpaFallbackWarning`` the first time each reason occurs.
    """
    import torch

    reason = _fallback_reason(torch, query, key, value, attn_mask, dropout_p, is_causal, scale,
                              enable_gqa)
    if reason is not None:
        _warn_fallback(reason)
        gqa = {"enable_gqa": True} if enable_gqa else {}
        return _torch_sdpa()(query, key, value, attn_mask=attn_mask, dropout_p=dropout_p,
                             is_causal=is_causal, scale=scale, **gqa)
    from . import _torch  # registers the custom op

    head_dim = query.shape[-1]
    sm_scale = float(scale) if scale is not None else head_dim ** -0.5
    if is_causal and key.shape[2] > query.shape[2]:
        key, value = key[:, :, : query.shape[2]], value[:, :, : query.shape[2]]
    padded = _padded_dim(head_dim)
    if padded != head_dim:
        query, key, value = (torch.nn.functional.pad(t, (0, padded - head_dim))
                             for t in (query, key, value))
    values = OptionValues(layout=_HND, causal=bool(is_causal), sm_scale=sm_scale, qk_quant=_AUTO,
                          pv_precision=_AUTO, smooth_k=True, smooth_q=False, smooth_v=False,
                          backend=_AUTO)
    out = _torch.attention(query, key, value, values, False)
    return out if padded == head_dim else out[..., :head_dim]


def patch_sdpa():
    """Replaces torch.nn.functional.scaled_dot_product_attention with sageattn.sdpa.

    Code that looks the function up at call time (``F.scaled_dot_product_attention(...)``, as
    transformers and diffusers do) then runs sageattn; a name imported earlier with
    ``from torch.nn.functional import scaled_dot_product_attention`` keeps torch's. Idempotent.
    """
    global _original_sdpa
    import torch.nn.functional as F

    if F.scaled_dot_product_attention is not sdpa:
        _original_sdpa = F.scaled_dot_product_attention
        F.scaled_dot_product_attention = sdpa


def unpatch_sdpa():
    """Restores torch's scaled_dot_product_attention (a no-op when not patched)."""
    global _original_sdpa
    import torch.nn.functional as F

    if _original_sdpa is not None:
        F.scaled_dot_product_attention = _original_sdpa
        _original_sdpa = None


@contextlib.contextmanager
def sdpa_patched():
    """``with sageattn.sdpa_patched(): ...`` runs the block with patch_sdpa() in force, and
    restores the previous state afterwards (also on an exception)."""
    import torch.nn.functional as F

    was_patched = F.scaled_dot_product_attention is sdpa
    patch_sdpa()
    try:
        yield
    finally:
        if not was_patched:
            unpatch_sdpa()
