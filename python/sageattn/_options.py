"""The string options of the Python API and their integer values in the C API (sageattn.h).

Options travel as an ``OptionValues`` tuple of plain ints, floats and bools, so torch.compile can
trace them as constants; the extension's ``Options`` object is built only where the C API is called.
"""

from typing import NamedTuple, Optional

from . import _sageattn

# sageattn_layout
_LAYOUTS = {"HND": 0, "NHD": 1}

# sageattn_qk_quant, keyed by (qk_quant_dtype, qk_quant_gran).
_QK_QUANT = {
    ("int8", "per_block"): 1,
    ("int8", "per_warp"): 2,
    ("int8", "per_thread"): 3,
    ("int4", "per_thread"): 4,
}
_QK_NONE = 5

# sageattn_pv_precision
_PV_ACCUM = {"auto": 0, "fp32": 1, "fp16+fp32": 2, "fp32+fp32": 3}

# sageattn_backend
_BACKENDS = {"auto": 0, "cpu_emulation": 1, "cpu_reference": 2, "cuda": 3}


class OptionValues(NamedTuple):
    """The fields of sageattn_options, as the C API spells them."""

    layout: int
    causal: bool
    sm_scale: Optional[float]
    qk_quant: int
    pv_precision: int
    smooth_k: bool
    smooth_q: bool
    smooth_v: bool
    backend: int


def _choice(name, value, table):
    if value not in table:
        accepted = ", ".join(repr(key) for key in table)
        raise ValueError(f"{name}: {value!r} (expected one of {accepted})")
    return table[value]


def _flag(name, value):
    if not isinstance(value, bool):
        raise TypeError(f"{name}: {type(value).__name__} (expected bool)")
    return value


def _qk_quant(dtype, gran):
    if dtype == "fp16":
        return _QK_NONE
    dtypes = ("int8", "int4", "fp16")
    if dtype not in dtypes:
        raise ValueError(f"qk_quant_dtype: {dtype!r} (expected one of {', '.join(map(repr, dtypes))})")
    if (dtype, gran) not in _QK_QUANT:
        grans = [g for d, g in _QK_QUANT if d == dtype]
        raise ValueError(
            f"qk_quant_gran: {gran!r} with qk_quant_dtype {dtype!r} "
            f"(expected one of {', '.join(map(repr, grans))})"
        )
    return _QK_QUANT[(dtype, gran)]


def _sm_scale(value):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"sm_scale: {type(value).__name__} (expected a float or None)")
    return float(value)


def parse(tensor_layout, is_causal, sm_scale, qk_quant_gran, qk_quant_dtype, pv_accum_dtype,
          smooth_k, smooth_v, smooth_q, backend):
    """Checks the keyword options of sageattn.sageattn and returns their C API values."""
    return OptionValues(
        layout=_choice("tensor_layout", tensor_layout, _LAYOUTS),
        causal=_flag("is_causal", is_causal),
        sm_scale=_sm_scale(sm_scale),
        qk_quant=_qk_quant(qk_quant_dtype, qk_quant_gran),
        pv_precision=_choice("pv_accum_dtype", pv_accum_dtype, _PV_ACCUM),
        smooth_k=_flag("smooth_k", smooth_k),
        smooth_q=_flag("smooth_q", smooth_q),
        smooth_v=_flag("smooth_v", smooth_v),
        backend=_choice("backend", backend, _BACKENDS),
    )


def to_c(values):
    """The extension's Options object (sageattn_options) for these values."""
    options = _sageattn.Options()
    options.layout = values.layout
    options.causal = int(values.causal)
    options.sm_scale = values.sm_scale
    options.qk_quant = values.qk_quant
    options.pv_precision = values.pv_precision
    options.smooth_k = int(values.smooth_k)
    options.smooth_q = int(values.smooth_q)
    options.smooth_v = int(values.smooth_v)
    options.backend = values.backend
    return options


def lse_shape(shape, layout):
    """[B, Hq, Nq] of a q of this shape in this layout (the LSE's order whatever the layout)."""
    batch, second, third, _ = shape
    return (batch, second, third) if layout == _LAYOUTS["HND"] else (batch, third, second)
