"""sageattn.sageattn: quantized attention with the call shape of the SageAttention package."""

from . import _arrays, _options


def sageattn(q, k, v, tensor_layout="HND", is_causal=False, sm_scale=None, return_lse=False,
             qk_quant_gran="per_warp", qk_quant_dtype="int8", pv_accum_dtype="auto",
             smooth_k=True, smooth_v=False, smooth_q=False, backend="auto"):
    """Quantized attention ``softmax(sm_scale * q @ k^T [+ causal mask]) @ v`` (SageAttention2).

    q, k and v are arrays of one framework: torch tensors (CUDA or CPU), numpy arrays (CPU),
    cupy arrays (CUDA), or arrays of any other DLPack producer (e.g. jax), which are viewed
    without a copy as numpy arrays on the CPU and as cupy arrays (else torch tensors) on CUDA; the
    result is then a numpy, cupy or torch array.
    CUDA arrays run the CUDA kernels on the framework's current stream; CPU arrays run the CPU
    emulation of those kernels (bit-faithful, slow: for testing). Nothing is synchronized.

    Args:
        q: ``[B, Hq, Nq, D]`` (HND) or ``[B, Nq, Hq, D]`` (NHD); float16 or bfloat16; D is 64 or
            128. Any strides; arrays with a non-unit head-dimension stride or (numpy, cupy) a
            negative stride are copied first.
        k, v: ``[B, Hkv, Nkv, D]`` (HND) or ``[B, Nkv, Hkv, D]`` (NHD), q's dtype and device.
            Hq must be a multiple of Hkv (grouped-query / multi-query attention: query head h
            reads key/value head ``h // (Hq // Hkv)``).
        tensor_layout: ``"HND"`` or ``"NHD"``, the order of the heads and tokens axes.
        is_causal: mask future keys, aligned to the bottom-right corner: query i sees key j iff
            ``j <= i + Nkv - Nq`` (FlashAttention >= 2.1). With Nq > Nkv the first rows see no key:
            their output is 0 and their LSE -inf.
        sm_scale: the softmax scale; None means ``1 / sqrt(D)``.
        return_lse: also return the natural-log log-sum-exp of each query row's scaled logits,
            float32 ``[B, Hq, Nq]`` whatever the layout (for merging partial attentions).
        qk_quant_gran: which tokens share a quantization scale of Q and K, following the kernel's
            MMA tile: ``"per_block"`` (one per Q block / K block), ``"per_warp"`` (one per warp's
            slab of Q rows; per K block) or ``"per_thread"`` (per MMA thread-row group of Q and
            thread-column group of K; the most accurate). INT4 supports only ``"per_thread"``;
            ignored when qk_quant_dtype is ``"fp16"``.
        qk_quant_dtype: ``"int8"`` (SageAttention2-8bit), ``"int4"`` (SageAttention2-4bit: INT4
            tensor cores, sm80 to sm89 only) or ``"fp16"`` (no quantization of Q K^T: the accuracy
            baseline, CPU emulation only).
        pv_accum_dtype: how P @ V is computed and accumulated. ``"auto"``: ``"fp32+fp32"`` where the
            GPU has fp8 tensor cores (sm89+) and on the CPU, else ``"fp32"``. ``"fp32+fp32"``: P
            and V in fp8 e4m3 (V with per-channel scales), an fp32 accumulator per KV tile added
            into an fp32 buffer (sm89+). ``"fp16+fp32"``: P and V in fp16, an fp16 accumulator per
            KV tile added into an fp32 buffer (fastest on sm80). ``"fp32"``: P and V in fp16 with
            an fp32 accumulator.
        smooth_k: subtract K's mean over tokens before quantizing (per batch and head). Softmax is
            invariant to it, and it removes the channel outliers that ruin INT8 K. Leave it on.
        smooth_v: subtract V's per-channel mean before quantizing it and add it back to the
            output; helps fp8 P @ V when V has a large channel bias.
        smooth_q: subtract Q's per-block mean before quantizing and add ``mean(q) @ k^T`` back
            exactly; helps when Q has a large channel bias.
        backend: ``"auto"`` (the arrays' device decides), ``"cuda"``, ``"cpu_emulation"``
            (the quantized pipeline) or ``"cpu_reference"`` (exact attention in fp64). An explicit
            backend must match the arrays' device.

    Returns:
        The output, q's shape and dtype, in q's framework; with return_lse, ``(output, lse)``.

    Raises:
        TypeError: an argument of the wrong type, or arrays of mixed frameworks.
        ValueError: a malformed argument (mismatched shapes, dtypes or devices, an unknown option
            value, a zero head-dim stride, overlapping memory); the message names it.
        NotImplementedError: a well-formed request that this build or GPU cannot run (a head dim
            other than 64 or 128, float32 inputs, fp8 P @ V before sm89, a CUDA array in a build
            without CUDA).
        RuntimeError: a CUDA error, or (torch) an input that requires grad while grad is enabled:
            sageattn has no backward pass.
    """
    values = _options.parse(tensor_layout, is_causal, sm_scale, qk_quant_gran, qk_quant_dtype,
                            pv_accum_dtype, smooth_k, smooth_v, smooth_q, backend)
    if not isinstance(return_lse, bool):
        raise TypeError(f"return_lse: {type(return_lse).__name__} (expected bool)")
    kinds = {_arrays.framework(t) for t in (q, k, v)}
    if None in kinds:
        names = ", ".join(type(t).__name__ for t in (q, k, v))
        raise TypeError(f"q, k, v: {names} (expected arrays with __dlpack__)")
    if len(kinds) != 1:
        raise TypeError(f"q, k, v: arrays of different frameworks ({', '.join(sorted(kinds))})")
    kind = kinds.pop()
    if kind == "torch":
        from . import _torch

        return _torch.attention(q, k, v, values, return_lse)
    if kind == "numpy":
        return _arrays.attention_numpy(q, k, v, values, return_lse)
    if kind == "cupy":
        return _arrays.attention_cupy(q, k, v, values, return_lse)
    return sageattn(*(_arrays.as_native(t) for t in (q, k, v)), tensor_layout=tensor_layout,
                    is_causal=is_causal, sm_scale=sm_scale, return_lse=return_lse,
                    qk_quant_gran=qk_quant_gran, qk_quant_dtype=qk_quant_dtype,
                    pv_accum_dtype=pv_accum_dtype, smooth_k=smooth_k, smooth_v=smooth_v,
                    smooth_q=smooth_q, backend=backend)
