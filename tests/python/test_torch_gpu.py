"""torch on a CUDA GPU (run on the device: `pytest tests/python --gpu`; CI never collects this file).

sageattn.sdpa against torch's SDPA in float32 on a grid, each fallback (warned once, identical to
torch), errors, torch.compile(fullgraph=True), CUDA-graph capture and replay, streams,
non-contiguous inputs, and the same entry point with cupy and jax arrays."""

import os
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import sageattn
from sageattn import _sdpa

DEVICE = "cuda"


@pytest.fixture(autouse=True)
def fresh_inputs_and_warnings(monkeypatch):
    seed = int(np.random.SeedSequence().entropy % 2**63)
    print(f"seed {seed}")
    torch.manual_seed(seed)
    monkeypatch.setattr(_sdpa, "_warned_reasons", set())


def qkv(batch=2, heads_q=8, heads_kv=8, len_q=128, len_kv=128, dim=64, dtype=torch.float16,
        k_bias=4.0):
    def tensor(heads, tokens):
        return torch.randn(batch, heads, tokens, dim, device=DEVICE, dtype=torch.float32)

    q, k, v = tensor(heads_q, len_q), tensor(heads_kv, len_kv), tensor(heads_kv, len_kv)
    k = k + k_bias * torch.randn(dim, device=DEVICE)
    return q.to(dtype), k.to(dtype), v.to(dtype)


def cosine(a, b):
    a, b = a.double().flatten(), b.double().flatten()
    return float(a @ b / (a.norm() * b.norm()))


def relative_l1(a, b):
    return float((a.double() - b.double()).abs().sum() / b.double().abs().sum())


def exact_sdpa(q, k, v, **kwargs):
    """torch's SDPA in float32 (math backend): the reference for the parity grid."""
    with torch.nn.attention.sdpa_kernel(torch.nn.attention.SDPBackend.MATH):
        return F.scaled_dot_product_attention(q.float(), k.float(), v.float(), **kwargs)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("dim", [32, 64, 100, 128])
@pytest.mark.parametrize("is_causal", [False, True])
@pytest.mark.parametrize("len_q,len_kv", [(128, 128), (100, 300), (1, 257), (1000, 1000)])
@pytest.mark.parametrize("heads_q,heads_kv", [(8, 8), (8, 2)])
@pytest.mark.parametrize("scale", [None, 0.07])
def test_sdpa_parity_grid(dtype, dim, is_causal, len_q, len_kv, heads_q, heads_kv, scale):
    q, k, v = qkv(heads_q=heads_q, heads_kv=heads_kv, len_q=len_q, len_kv=len_kv, dim=dim,
                  dtype=dtype)
    gqa = heads_q != heads_kv
    with warnings.catch_warnings():
        warnings.simplefilter("error", sageattn.SdpaFallbackWarning)  # sageattn must run these
        out = sageattn.sdpa(q, k, v, is_causal=is_causal, scale=scale, enable_gqa=gqa)
    expected = exact_sdpa(q, k, v, is_causal=is_causal, scale=scale, enable_gqa=gqa)
    assert out.dtype == dtype and out.shape == expected.shape
    assert cosine(out, expected) > 0.998
    assert relative_l1(out, expected) < 0.07


@pytest.mark.parametrize("layout", ["HND", "NHD"])
@pytest.mark.parametrize("is_causal", [False, True])
@pytest.mark.parametrize("len_q,len_kv", [(256, 256), (70, 333), (333, 70)])
def test_sageattn_layouts_and_lse(layout, is_causal, len_q, len_kv):
    q, k, v = qkv(heads_q=8, heads_kv=4, len_q=len_q, len_kv=len_kv, dim=128)
    args = [x.transpose(1, 2).contiguous() for x in (q, k, v)] if layout == "NHD" else [q, k, v]
    out, lse = sageattn.sageattn(*args, tensor_layout=layout, is_causal=is_causal,
                                 return_lse=True)
    if layout == "NHD":
        out = out.transpose(1, 2)
    # Bottom-right causal mask, built explicitly for torch (whose is_causal is top-left).
    visible = (torch.arange(len_kv, device=DEVICE)[None, :]
               <= torch.arange(len_q, device=DEVICE)[:, None] + len_kv - len_q)
    mask = visible if is_causal else None
    k_full, v_full = (x.repeat_interleave(2, dim=1).float() for x in (k, v))
    logits = q.float() @ k_full.transpose(-1, -2) * 128 ** -0.5
    if mask is not None:
        logits = logits.masked_fill(~mask, float("-inf"))
    expected_lse = torch.logsumexp(logits, dim=-1)
    expected = torch.nan_to_num(torch.softmax(logits, dim=-1)) @ v_full
    seen = torch.isfinite(expected_lse)
    assert torch.equal(torch.isfinite(lse), seen)
    assert (lse[seen] - expected_lse[seen]).abs().max() < 0.05
    assert cosine(out, expected) > 0.998 and relative_l1(out, expected) < 0.07


@pytest.mark.parametrize("options", [
    {}, {"qk_quant_gran": "per_block"}, {"qk_quant_gran": "per_thread"},
    {"pv_accum_dtype": "fp32"}, {"pv_accum_dtype": "fp16+fp32"}, {"pv_accum_dtype": "fp32+fp32"},
    {"smooth_v": True}, {"smooth_q": True},
], ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()) or "default")
def test_sageattn_options(options):
    q, k, v = qkv(len_q=512, len_kv=512, dim=128)
    out = sageattn.sageattn(q, k, v, **options)
    expected = exact_sdpa(q, k, v)
    assert cosine(out, expected) > 0.998 and relative_l1(out, expected) < 0.07


def _fallback_cases():
    def mask(q, k, v):
        return (q, k, v), {"attn_mask": torch.rand(q.shape[2], k.shape[2], device=DEVICE) > 0.3}

    def dropout(q, k, v):
        return (q, k, v), {"dropout_p": 0.25}

    def grad(q, k, v):
        return (q.clone().requires_grad_(), k, v), {}

    def fp32(q, k, v):
        return (q.float(), k.float(), v.float()), {}

    def cpu(q, k, v):
        return (q.cpu(), k.cpu(), v.cpu()), {}

    def dim256(q, k, v):
        return tuple(x.repeat(1, 1, 1, 4) for x in (q, k, v)), {}

    def causal_more_queries(q, k, v):
        return (q, k[:, :, :50], v[:, :, :50]), {"is_causal": True}

    def three_d(q, k, v):
        return (q[0], k[0], v[0]), {}

    def broadcast_batch(q, k, v):
        return (q, k[:1], v[:1]), {}

    return {"attn_mask": (mask, "attn_mask is given"), "dropout": (dropout, "dropout_p > 0"),
            "requires_grad": (grad, "requires grad"), "float32": (fp32, "dtype torch.float32"),
            "cpu": (cpu, "not all on one CUDA device"), "head_dim_256": (dim256, "head_dim 256"),
            "causal_lq_gt_lkv": (causal_more_queries, "top-left"),
            "3d": (three_d, "not 4-d"), "broadcast": (broadcast_batch, "broadcast")}


@pytest.mark.parametrize("case", list(_fallback_cases()))
def test_fallbacks_warn_once_and_match_torch(case):
    make, reason = _fallback_cases()[case]
    args, kwargs = make(*qkv())
    results = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(2):
            torch.manual_seed(0)  # the same dropout mask for both functions
            results.append(sageattn.sdpa(*args, **kwargs))
    fallback = [w for w in caught if issubclass(w.category, sageattn.SdpaFallbackWarning)]
    assert len(fallback) == 1 and reason in str(fallback[0].message)
    torch.manual_seed(0)
    expected = F.scaled_dot_product_attention(*args, **kwargs)
    assert all(torch.equal(r, expected) for r in results)


def test_fallback_keeps_autograd():
    q, k, v = (x.requires_grad_() for x in qkv(dtype=torch.float32))
    sageattn.sdpa(q, k, v).sum().backward()
    assert q.grad is not None and torch.isfinite(q.grad).all()


def test_head_count_mismatch_without_gqa_behaves_as_torch():
    q, k, v = qkv(heads_q=8, heads_kv=2)
    with pytest.raises(RuntimeError) as torch_error:
        F.scaled_dot_product_attention(q, k, v)
    with pytest.warns(sageattn.SdpaFallbackWarning, match="without enable_gqa"):
        with pytest.raises(type(torch_error.value)):
            sageattn.sdpa(q, k, v)


def test_errors():
    q, k, v = qkv()
    with pytest.raises(NotImplementedError, match=r"q: head_dim 48 is not supported"):
        sageattn.sageattn(q[..., :48].contiguous(), k[..., :48].contiguous(),
                          v[..., :48].contiguous())
    with pytest.raises(ValueError, match=r"k: device cpu differs from q's cuda:0"):
        sageattn.sageattn(q, k.cpu(), v)
    with pytest.raises(RuntimeError, match="no backward pass"):
        sageattn.sageattn(q.clone().requires_grad_(), k, v)
    with pytest.raises(TypeError, match="different frameworks"):
        sageattn.sageattn(q, k.cpu().numpy(), v)
    with pytest.raises(ValueError, match=r"options.backend: cpu_emulation needs CPU tensors"):
        sageattn.sageattn(q, k, v, backend="cpu_emulation")


class AttentionBlock(torch.nn.Module):
    def __init__(self, width=512, heads=8):
        super().__init__()
        self.heads = heads
        self.qkv = torch.nn.Linear(width, 3 * width)
        self.proj = torch.nn.Linear(width, width)

    def forward(self, x):
        batch, tokens, width = x.shape
        q, k, v = self.qkv(x).view(batch, tokens, 3, self.heads, -1).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.proj(out.transpose(1, 2).reshape(batch, tokens, width))


@torch.inference_mode()
def test_compile_fullgraph_without_graph_breaks():
    block = AttentionBlock().to(DEVICE, torch.float16)
    x = torch.randn(2, 1024, 512, device=DEVICE, dtype=torch.float16)
    with sageattn.sdpa_patched():
        eager = block(x)
        explanation = torch._dynamo.explain(block)(x)
        assert explanation.graph_break_count == 0 and explanation.graph_count == 1
        compiled = torch.compile(block, fullgraph=True)(x)
    assert cosine(compiled, eager) > 0.9999
    q, k, v = qkv(len_q=300, len_kv=400)
    op_only = torch.compile(lambda q, k, v: sageattn.sageattn(q, k, v, return_lse=True),
                            fullgraph=True)
    out, lse = op_only(q, k, v)
    eager_out, eager_lse = sageattn.sageattn(q, k, v, return_lse=True)
    assert torch.equal(out, eager_out) and torch.equal(lse, eager_lse)


@torch.inference_mode()
def test_compile_reduce_overhead_cudagraphs():
    q, k, v = qkv(len_q=512, len_kv=512)
    compiled = torch.compile(lambda q, k, v: sageattn.sageattn(q, k, v, is_causal=True) * 2,
                             mode="reduce-overhead", fullgraph=True)
    for _ in range(3):  # warm-up, record, replay
        out = compiled(q, k, v).clone()
    assert torch.equal(out, sageattn.sageattn(q, k, v, is_causal=True) * 2)


@torch.inference_mode()
def test_cuda_graph_capture_and_replay():
    static = qkv(len_q=777, len_kv=901, heads_kv=2)
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):  # warm-up outside the capture, as torch recommends
        sageattn.sageattn(*static, is_causal=True)
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        captured, captured_lse = sageattn.sageattn(*static, is_causal=True, return_lse=True)
    for _ in range(2):
        fresh = qkv(len_q=777, len_kv=901, heads_kv=2)
        for target, source in zip(static, fresh):
            target.copy_(source)
        graph.replay()
        expected, expected_lse = sageattn.sageattn(*fresh, is_causal=True, return_lse=True)
        assert torch.equal(captured, expected) and torch.equal(captured_lse, expected_lse)


@torch.inference_mode()
def test_runs_on_the_current_stream():
    q, k, v = qkv(len_q=2048, len_kv=2048)
    expected = sageattn.sageattn(q, k, v)
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        q2 = q * 1  # produced on `stream` just before the call: the call must be ordered after it
        out = sageattn.sageattn(q2, k, v)
    torch.cuda.current_stream().wait_stream(stream)
    assert torch.equal(out, expected)


@torch.inference_mode()
def test_non_contiguous_inputs():
    q, k, v = qkv(len_q=300, len_kv=300)
    expected = sageattn.sageattn(q, k, v)
    nhd_memory = [x.transpose(1, 2).contiguous().transpose(1, 2) for x in (q, k, v)]
    assert torch.equal(sageattn.sageattn(*nhd_memory), expected)
    wide_q = torch.stack([q, q], dim=-1).flatten(-2)[..., ::2]  # head-dim stride 2: copied
    assert wide_q.stride(-1) == 2
    assert torch.equal(sageattn.sageattn(wide_q, k, v), expected)
    sliced = [x[:, :, 100:200] for x in (q, k, v)]
    assert torch.equal(sageattn.sageattn(*sliced),
                       sageattn.sageattn(*(x.contiguous() for x in sliced)))
    k1, v1 = k[:, :1], v[:, :1]
    expanded = sageattn.sageattn(q, k1.expand_as(k), v1.expand_as(v))  # zero head stride
    assert torch.equal(expanded, sageattn.sageattn(q, k1, v1))
    out = sageattn.sdpa(*nhd_memory)
    assert cosine(out, exact_sdpa(q, k, v)) > 0.998


def test_cupy_arrays():
    import cupy

    q, k, v = qkv(len_q=200, len_kv=300)
    out = sageattn.sageattn(*(cupy.from_dlpack(x) for x in (q, k, v)), is_causal=True)
    assert isinstance(out, cupy.ndarray)
    torch.cuda.synchronize()
    assert torch.equal(torch.from_dlpack(out), sageattn.sageattn(q, k, v, is_causal=True))


def test_jax_arrays():
    os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")  # leave torch its memory
    import jax

    q, k, v = qkv(len_q=200, len_kv=300)
    arrays = [jax.device_put(x.cpu().numpy(), jax.devices("gpu")[0]) for x in (q, k, v)]
    out = sageattn.sageattn(*arrays)
    torch.cuda.synchronize()
    assert torch.equal(torch.from_dlpack(out).cpu(), sageattn.sageattn(q, k, v).cpu())
