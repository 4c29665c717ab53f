"""1:N identification (OPOM / AdvCloak protocol): does a protected probe still find its owner in a gallery?"""
from __future__ import annotations

import numpy as np
import torch

from .estimate import Estimate, rate_ci
from .verification import as_numpy, normalize_rows

_CHUNK = 256  # probes scored at a time, to bound the (probes x gallery) similarity block


def topk_hits(
    probe_emb: np.ndarray | torch.Tensor,
    probe_ids: np.ndarray | list,
    gallery_emb: np.ndarray | torch.Tensor,
    gallery_ids: np.ndarray | list,
    k: int,
) -> np.ndarray:
    """Per probe: whether one of the ``k`` most cosine-similar gallery entries has the probe's identity.

    Ties in similarity are broken by gallery order (stable sort), so the result is deterministic.
    """
    probes, gallery = as_numpy(probe_emb), as_numpy(gallery_emb)
    p_ids, g_ids = np.asarray(probe_ids), np.asarray(gallery_ids)
    if probes.ndim != 2 or gallery.ndim != 2 or probes.shape[1] != gallery.shape[1]:
        raise ValueError(f"need (N, D) probes and (M, D) gallery embeddings, got {probes.shape} and {gallery.shape}")
    if len(p_ids) != len(probes) or len(g_ids) != len(gallery):
        raise ValueError("need one identity per probe and per gallery embedding")
    if not 1 <= k <= len(gallery):
        raise ValueError(f"k must lie in 1..{len(gallery)} (the gallery size), got {k}")
    probes, gallery = normalize_rows(probes), normalize_rows(gallery)
    hits = []
    for start in range(0, len(probes), _CHUNK):
        sims = probes[start : start + _CHUNK] @ gallery.T
        top = np.argsort(-sims, axis=1, kind="stable")[:, :k]
        hits.append((g_ids[top] == p_ids[start : start + _CHUNK, None]).any(axis=1))
    return np.concatenate(hits) if hits else np.zeros(0, dtype=bool)


def topk_protection(
    probe_emb: np.ndarray | torch.Tensor,
    probe_ids: np.ndarray | list,
    gallery_emb: np.ndarray | torch.Tensor,
    gallery_ids: np.ndarray | list,
    k: int,
    **bootstrap,
) -> Estimate:
    """Top-k protection success rate = 1 - top-k identification accuracy of the (protected) probes.

    The gallery holds clean images of the probes' identities plus distractors; building it (e.g. taking
    turns so each clean image is in the gallery once) is the protocol's job.
    """
    return rate_ci(~topk_hits(probe_emb, probe_ids, gallery_emb, gallery_ids, k), **bootstrap)


def distractors_above(
    probe_emb: np.ndarray | torch.Tensor,
    genuine_emb: np.ndarray | torch.Tensor,
    distractor_emb: np.ndarray | torch.Tensor,
) -> np.ndarray:
    """Per probe: how many distractors are more cosine-similar to it than its own genuine gallery entry
    (row ``i`` of ``genuine_emb``). Its rank in the gallery is this + 1; a tie counts for the genuine entry.

    These are the ``n_above`` of the identify protocol's score rows; ``topk_flags`` turns them into hits.
    """
    probes, genuine, distractors = (normalize_rows(as_numpy(a)) for a in (probe_emb, genuine_emb, distractor_emb))
    if probes.shape != genuine.shape or distractors.ndim != 2 or distractors.shape[1] != probes.shape[1]:
        raise ValueError(f"need (N, D) probes and genuine entries and (M, D) distractors, got {probes.shape}, "
                         f"{genuine.shape} and {distractors.shape}")
    genuine_sim = (probes * genuine).sum(axis=1)
    counts = [((probes[s : s + _CHUNK] @ distractors.T) > genuine_sim[s : s + _CHUNK, None]).sum(axis=1)
              for s in range(0, len(probes), _CHUNK)]
    return np.concatenate(counts) if counts else np.zeros(0, dtype=int)


def topk_flags(n_above: np.ndarray, ks: tuple[int, ...] = (1, 5, 10)) -> dict[str, np.ndarray]:
    """``{"hit1": ..., "hit5": ...}``: whether the genuine entry ranks within the top ``k`` (``n_above < k``)."""
    n = np.asarray(n_above)
    return {f"hit{k}": n < k for k in ks}
