"""sageattn: quantized (SageAttention2) attention over DLPack arrays, and a drop-in for torch's
scaled_dot_product_attention.

    import sageattn
    out = sageattn.sageattn(q, k, v, is_causal=True)   # torch, numpy, cupy or any DLPack array
    with sageattn.sdpa_patched():                      # F.scaled_dot_product_attention -> sageattn
        model(inputs)

torch is imported only when a torch tensor is passed (or sdpa is used): with numpy alone the
package runs the CPU emulation of the kernels.
"""

from ._api import sageattn
from ._sageattn import version as _library_version
from ._sdpa import SdpaFallbackWarning, patch_sdpa, sdpa, sdpa_patched, unpatch_sdpa

__version__ = _library_version()

__all__ = ["sageattn", "sdpa", "patch_sdpa", "unpatch_sdpa", "sdpa_patched",
           "SdpaFallbackWarning", "__version__"]
