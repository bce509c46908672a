"""Token-state sums of passages: what mean pooling divides, kept so that texts can be added up.

A mean-pooling model's vector of a text is the mean of its token states. The sum over a
text's tokens keeps that direction, and sums of consecutive texts add up: the sum over two
sentences' tokens, each read on its own, stands for the pair. rag.index.vectors gives every
two-sentence window its vector this way when `window_vectors = "sentences"`, from sentences
encoded once, instead of reading each sentence again in both windows it belongs to (on the
seeds and NorQuAD: retrieval within 0.01 of encoding each window, half of the tokens).

Texts are encoded in the batches the caller gives (by length: little padding). The sums
cover the model's whole input (prompt and special tokens included, as its own mean pooling
does).
"""
from __future__ import annotations

import numpy as np


def supports_token_sums(model) -> bool:
    """True for a sentence-transformers model of a transformer, mean pooling over every token
    (prompt included) and optionally normalisation: its vector is the normalised token-state sum."""
    modules = list(model)
    if len(modules) not in (2, 3) or not hasattr(modules[0], "auto_model"):
        return False
    return (getattr(modules[1], "pooling_mode", None) in ("mean", ("mean",), ["mean"])
            and getattr(modules[1], "include_prompt", True)
            and all(type(extra).__name__ == "Normalize" for extra in modules[2:]))


def encode_token_sums(model, texts: list[str], prefix: str, batches: list[list[int]]) -> np.ndarray:
    """(len(texts), dim) sums of the token states of each `prefix + text`, encoded in `batches`
    (lists of indices into `texts`, e.g. rag.embedding.batching.token_batches)."""
    import torch

    transformer = model[0]
    sums = np.zeros((len(texts), transformer.auto_model.config.hidden_size), dtype=np.float32)
    for batch in batches:
        encoded = transformer.tokenizer([prefix + texts[n] for n in batch], padding=True, truncation=True,
                                        max_length=transformer.max_seq_length, return_tensors="pt")
        with torch.inference_mode():
            states = transformer.auto_model(**encoded).last_hidden_state
            sums[batch] = (states * encoded["attention_mask"].unsqueeze(-1)).sum(dim=1).float().numpy()
    return sums
