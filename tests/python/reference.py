"""Exact attention in float64 numpy: the judge of the Python tests, independent of the C++ code."""

import numpy as np


def attention(q, k, v, causal=False, sm_scale=None, layout="HND"):
    """(out, lse) in HND order as float64; GQA by repeating each KV head over its query group;
    causal aligned bottom-right; rows that see no key give 0 and LSE -inf."""
    if layout == "NHD":
        q, k, v = (x.swapaxes(1, 2) for x in (q, k, v))
    q, k, v = (x.astype(np.float64) for x in (q, k, v))
    group = q.shape[1] // k.shape[1]
    k, v = np.repeat(k, group, axis=1), np.repeat(v, group, axis=1)
    scale = q.shape[-1] ** -0.5 if sm_scale is None else sm_scale
    logits = q @ k.swapaxes(-1, -2) * scale
    len_q, len_kv = logits.shape[-2:]
    if causal:
        visible = np.arange(len_kv)[None, :] <= np.arange(len_q)[:, None] + len_kv - len_q
        logits = np.where(visible, logits, -np.inf)
    row_max = logits.max(axis=-1, keepdims=True, initial=-np.inf)
    row_max = np.where(np.isfinite(row_max), row_max, 0.0)
    weights = np.exp(logits - row_max)
    total = weights.sum(axis=-1, keepdims=True)
    out = np.where(total > 0, (weights @ v) / np.where(total > 0, total, 1.0), 0.0)
    with np.errstate(divide="ignore"):
        lse = np.log(total[..., 0]) + row_max[..., 0]
    return out, lse


def to_hnd(x, layout):
    return x.swapaxes(1, 2) if layout == "NHD" else x


def cosine(a, b):
    a, b = a.astype(np.float64).ravel(), b.astype(np.float64).ravel()
    return float(a @ b / np.sqrt((a @ a) * (b @ b)))


def relative_l1(actual, expected):
    return float(np.abs(actual.astype(np.float64) - expected).sum() / np.abs(expected).sum())
