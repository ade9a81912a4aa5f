"""The binding with numpy alone (what CI runs): CPU arrays run the CPU reference and the CPU
emulation of the quantized kernels, checked against a float64 numpy reference (reference.py).
Bounds are measured margins over the emulation's errors on Gaussian inputs with a K bias."""

import subprocess
import sys

import numpy as np
import pytest

import reference
import sageattn


def make_inputs(rng, batch=2, heads_q=4, heads_kv=2, len_q=100, len_kv=130, dim=64,
                layout="HND", dtype=np.float16, k_bias=4.0):
    def tensor(heads, tokens):
        shape = (batch, heads, tokens, dim) if layout == "HND" else (batch, tokens, heads, dim)
        return rng.standard_normal(shape)

    q, k, v = tensor(heads_q, len_q), tensor(heads_kv, len_kv), tensor(heads_kv, len_kv)
    k = k + k_bias * rng.standard_normal(dim)  # the channel bias K smoothing removes
    return q.astype(dtype), k.astype(dtype), v.astype(dtype)


def errors(out, lse, q, k, v, layout="HND", causal=False, sm_scale=None):
    expected, expected_lse = reference.attention(q, k, v, causal, sm_scale, layout)
    out = reference.to_hnd(out, layout)
    finite = np.isfinite(expected_lse)
    np.testing.assert_array_equal(np.isfinite(lse), finite)  # -inf exactly where no key is seen
    return {
        "cosine": reference.cosine(out, expected),
        "relative_l1": reference.relative_l1(out, expected),
        "lse": float(np.abs(lse[finite] - expected_lse[finite]).max(initial=0.0)),
    }


# (options, minimum cosine, maximum relative L1, maximum LSE error)
EMULATION_MODES = [
    pytest.param({"backend": "cpu_reference"}, 0.99999, 1e-3, 1e-4, id="reference"),
    pytest.param({}, 0.998, 0.06, 0.05, id="default-int8-warp-fp8"),
    pytest.param({"qk_quant_gran": "per_block"}, 0.998, 0.06, 0.05, id="int8-block"),
    pytest.param({"qk_quant_gran": "per_thread"}, 0.998, 0.06, 0.05, id="int8-thread"),
    pytest.param({"qk_quant_dtype": "int4", "qk_quant_gran": "per_thread"}, 0.96, 0.3, 0.5,
                 id="int4-thread"),
    pytest.param({"qk_quant_dtype": "fp16"}, 0.998, 0.06, 1e-3, id="qk-fp16"),
    pytest.param({"pv_accum_dtype": "fp32"}, 0.9998, 0.02, 0.05, id="pv-fp16-fp32"),
    pytest.param({"pv_accum_dtype": "fp16+fp32"}, 0.9998, 0.02, 0.05, id="pv-fp16-fp16"),
    pytest.param({"pv_accum_dtype": "fp32+fp32"}, 0.998, 0.06, 0.05, id="pv-fp8"),
    pytest.param({"smooth_v": True}, 0.998, 0.06, 0.05, id="smooth-v"),
    pytest.param({"smooth_q": True}, 0.998, 0.06, 0.05, id="smooth-q"),
]


@pytest.mark.parametrize("options,min_cosine,max_l1,max_lse", EMULATION_MODES)
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("dim", [64, 128])
def test_modes_match_fp64_reference(rng, options, min_cosine, max_l1, max_lse, causal, dim):
    q, k, v = make_inputs(rng, dim=dim)
    out, lse = sageattn.sageattn(q, k, v, is_causal=causal, return_lse=True, **options)
    assert out.dtype == np.float16 and out.shape == q.shape and lse.shape == (2, 4, 100)
    measured = errors(out, lse, q, k, v, causal=causal)
    assert measured["cosine"] > min_cosine, measured
    assert measured["relative_l1"] < max_l1, measured
    assert measured["lse"] < max_lse, measured


@pytest.mark.parametrize("layout", ["HND", "NHD"])
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("len_q,len_kv", [(64, 64), (37, 100), (100, 37), (1, 200), (129, 1)])
@pytest.mark.parametrize("heads_q,heads_kv", [(4, 4), (4, 2), (6, 1)])
def test_shapes_layouts_gqa(rng, layout, causal, len_q, len_kv, heads_q, heads_kv):
    q, k, v = make_inputs(rng, heads_q=heads_q, heads_kv=heads_kv, len_q=len_q, len_kv=len_kv,
                          layout=layout)
    out, lse = sageattn.sageattn(q, k, v, tensor_layout=layout, is_causal=causal,
                                 return_lse=True)
    assert out.shape == q.shape and lse.shape == (2, heads_q, len_q)
    measured = errors(out, lse, q, k, v, layout, causal)
    assert measured["cosine"] > 0.998 and measured["relative_l1"] < 0.06, measured
    assert measured["lse"] < 0.05, measured


def test_causal_rows_without_keys_are_zero(rng):
    q, k, v = make_inputs(rng, len_q=50, len_kv=20)
    out, lse = sageattn.sageattn(q, k, v, is_causal=True, return_lse=True)
    # Bottom-right alignment: query i sees key j iff j <= i + 20 - 50, so rows 0..29 see none.
    assert np.all(out[:, :, :30] == 0) and np.all(lse[:, :, :30] == -np.inf)
    assert np.all(np.isfinite(lse[:, :, 30:]))


@pytest.mark.parametrize("sm_scale", [0.05, 0.3])
def test_sm_scale(rng, sm_scale):
    q, k, v = make_inputs(rng)
    out, lse = sageattn.sageattn(q, k, v, sm_scale=sm_scale, return_lse=True,
                                 backend="cpu_reference")
    measured = errors(out, lse, q, k, v, sm_scale=sm_scale)
    assert measured["cosine"] > 0.99999 and measured["lse"] < 1e-4, measured


def test_smooth_k_removes_k_bias_error(rng):
    q, k, v = make_inputs(rng, k_bias=8.0)
    with_smoothing = errors(*sageattn.sageattn(q, k, v, return_lse=True), q, k, v)
    without = errors(*sageattn.sageattn(q, k, v, return_lse=True, smooth_k=False), q, k, v)
    assert with_smoothing["relative_l1"] < without["relative_l1"], (with_smoothing, without)


def test_lse_is_optional(rng):
    q, k, v = make_inputs(rng)
    out = sageattn.sageattn(q, k, v)
    assert isinstance(out, np.ndarray)
    out_with_lse, _ = sageattn.sageattn(q, k, v, return_lse=True)
    np.testing.assert_array_equal(out, out_with_lse)


def test_zero_padded_head_dim_is_exact(rng):
    # sageattn.sdpa pads head dims below 64 with zeros: the first channels must be unchanged by
    # the padding up to quantization, and the padded channels exactly 0.
    q, k, v = make_inputs(rng, dim=32)
    padded = [np.pad(x, ((0, 0), (0, 0), (0, 0), (0, 32))) for x in (q, k, v)]
    out, lse = sageattn.sageattn(*padded, sm_scale=32 ** -0.5, return_lse=True)
    assert np.all(out[..., 32:] == 0)
    measured = errors(out[..., :32], lse, q, k, v)
    assert measured["cosine"] > 0.998 and measured["relative_l1"] < 0.06, measured


def test_non_contiguous_and_read_only_inputs(rng):
    q, k, v = make_inputs(rng, layout="NHD")
    expected = sageattn.sageattn(q, k, v, tensor_layout="NHD")
    # Strided views: HND views of NHD memory, a reversed token axis, a strided head dim.
    views = [x.swapaxes(1, 2) for x in (q, k, v)]
    np.testing.assert_array_equal(sageattn.sageattn(*views).swapaxes(1, 2), expected)
    reversed_kv = [x[:, ::-1].copy()[:, ::-1] for x in (k, v)]
    np.testing.assert_array_equal(sageattn.sageattn(q, *reversed_kv, tensor_layout="NHD"),
                                  expected)
    wide = np.repeat(q, 2, axis=-1)[..., ::2]
    np.testing.assert_array_equal(sageattn.sageattn(wide, k, v, tensor_layout="NHD"), expected)
    for x in (q, k, v):
        x.flags.writeable = False
    np.testing.assert_array_equal(sageattn.sageattn(q, k, v, tensor_layout="NHD"), expected)


def test_stride_zero_broadcast_inputs(rng):
    q, k, v = make_inputs(rng, heads_kv=1)
    broadcast = [np.broadcast_to(x, (2, 4) + x.shape[2:]) for x in (k, v)]
    out, lse = sageattn.sageattn(q, *broadcast, return_lse=True)
    measured = errors(out, lse, q, k, v)
    assert measured["cosine"] > 0.998, measured


class DLPackOnly:
    """An array of some other framework: only the DLPack protocol, no numpy type."""

    def __init__(self, array):
        self._array = array

    def __dlpack__(self, **kwargs):
        return self._array.__dlpack__(**kwargs)

    def __dlpack_device__(self):
        return self._array.__dlpack_device__()


def test_any_dlpack_producer(rng):
    q, k, v = make_inputs(rng)
    out = sageattn.sageattn(*(DLPackOnly(x) for x in (q, k, v)), is_causal=True)
    assert isinstance(out, np.ndarray)
    np.testing.assert_array_equal(out, sageattn.sageattn(q, k, v, is_causal=True))


def test_empty_inputs(rng):
    q, k, v = make_inputs(rng, len_kv=0)
    out, lse = sageattn.sageattn(q, k, v, return_lse=True)
    assert np.all(out == 0) and np.all(lse == -np.inf)
    q, k, v = make_inputs(rng, batch=0)
    assert sageattn.sageattn(q, k, v).shape == q.shape


def test_wider_float_dtypes_are_refused(rng):
    # numpy has no bfloat16; float32 and float64 are refused with the C API's message.
    q, k, v = make_inputs(rng, dtype=np.float32)
    with pytest.raises(NotImplementedError, match=r"q: dtype float32 is not supported"):
        sageattn.sageattn(q, k, v)
    q, k, v = make_inputs(rng, dtype=np.float64)
    with pytest.raises(NotImplementedError, match=r"q: DLPack dtype \(code 2, bits 64\)"):
        sageattn.sageattn(q, k, v)


def _replace(inputs, index, value):
    inputs = list(inputs)
    inputs[index] = value
    return inputs


@pytest.mark.parametrize("mutate,kwargs,error,message", [
    (lambda x: _replace(x, 0, x[0][..., :48]), {}, NotImplementedError,
     r"q: head_dim 48 is not supported \(expected 64 or 128\)"),
    (lambda x: _replace(x, 0, x[0][:, :3]), {}, ValueError, r"k: heads 2 do not divide q's heads 3"),
    (lambda x: _replace(x, 2, x[2][:, :, :7]), {}, ValueError, r"v: tokens 7 do not match k's 130"),
    (lambda x: _replace(x, 1, x[1][:1]), {}, ValueError, r"k: batch 1 does not match q's 2"),
    (lambda x: _replace(x, 1, x[1].astype(np.float32)), {}, ValueError,
     r"k: dtype float32 does not match q's float16"),
    (lambda x: _replace(x, 0, x[0][0]), {}, ValueError, r"q: rank 3 \(expected 4\)"),
    (lambda x: x, {"backend": "cuda"}, ValueError, r"options.backend: cuda needs CUDA tensors"),
    (lambda x: x, {"sm_scale": -1.0}, ValueError, r"options.sm_scale: -1"),
    (lambda x: x, {"tensor_layout": "BHND"}, ValueError,
     r"tensor_layout: 'BHND' \(expected one of 'HND', 'NHD'\)"),
    (lambda x: x, {"qk_quant_dtype": "int4"}, ValueError,
     r"qk_quant_gran: 'per_warp' with qk_quant_dtype 'int4' \(expected one of 'per_thread'\)"),
    (lambda x: x, {"qk_quant_dtype": "fp8"}, ValueError, r"qk_quant_dtype: 'fp8'"),
    (lambda x: x, {"pv_accum_dtype": "fp16"}, ValueError, r"pv_accum_dtype: 'fp16' \(expected"),
    (lambda x: x, {"backend": "gpu"}, ValueError, r"backend: 'gpu'"),
    (lambda x: x, {"smooth_k": 1}, TypeError, r"smooth_k: int \(expected bool\)"),
    (lambda x: x, {"is_causal": None}, TypeError, r"is_causal: NoneType \(expected bool\)"),
    (lambda x: x, {"sm_scale": "0.1"}, TypeError, r"sm_scale: str"),
    (lambda x: x, {"return_lse": 1}, TypeError, r"return_lse: int \(expected bool\)"),
    (lambda x: _replace(x, 0, x[0].tolist()), {}, TypeError,
     r"q, k, v: list, ndarray, ndarray \(expected arrays with __dlpack__\)"),
], ids=["head-dim", "gqa-heads", "kv-tokens", "batch", "dtype-mix", "rank", "backend-device",
        "sm-scale", "layout", "int4-gran", "qk-dtype", "pv-accum", "backend-name", "flag-type",
        "causal-type", "scale-type", "lse-type", "not-an-array"])
def test_errors_carry_messages(rng, mutate, kwargs, error, message):
    inputs = mutate(make_inputs(rng))
    with pytest.raises(error, match=message):
        sageattn.sageattn(*inputs, **kwargs)


def test_output_must_be_writable_and_capsules_are_accepted(rng):
    from sageattn import _options, _sageattn

    q, k, v = make_inputs(rng)
    options = _options.to_c(_options.parse("HND", False, None, "per_warp", "int8", "auto",
                                           True, False, False, "auto"))
    out = np.empty_like(q)
    out.flags.writeable = False
    with pytest.raises(ValueError, match="out: the array is read-only"):
        _sageattn.forward(q, k, v, out, None, options)
    out = np.empty_like(q)
    _sageattn.forward(q.__dlpack__(), k.__dlpack__(), v.__dlpack__(), out, None, options)
    np.testing.assert_array_equal(out, sageattn.sageattn(q, k, v))


def test_numpy_alone_does_not_import_torch():
    code = "import sys, numpy, sageattn; sageattn.sageattn; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False"
