"""Quality stage: per-image L1/MSE/PSNR/SSIM/LPIPS and set-level FID/KID of each image set against its
reference: protected vs clean faces; for semantic methods protected vs the method's unperturbed output
(ErasableMask's Table VI compares with the attribute-edited faces); for reversible methods restored vs clean."""
from __future__ import annotations

from typing import Iterator

import pandas as pd
import torch

from ..methods import Method
from ..stores import EmbeddingStore, ImageStore
from ..transforms import make_transform
from .protect import Protected, context
from .restore import restored, restored_keys, restored_store
from .state import RunState
from .work import chunks


def run_quality(state: RunState, protected: Protected) -> pd.DataFrame:
    from ..metrics.fid import fid_from_features, inception_features, kid_from_features
    from ..metrics.quality import per_image_quality, weights_provenance
    from ..metrics.weights import fid_inception

    items, spec = state.items, state.spec
    features = EmbeddingStore(f"inception-fid-{fid_inception().card()['sha256'][:16]}")
    embed = lambda x: inception_features(x, state.device)
    frames, sets = [], {}
    with state.work.stage("quality"):
        for image, x, ref, (x_name, ref_name), (x_files, ref_files) in quality_sets(state, protected):
            q = per_image_quality(x, ref, device=state.device)
            q.insert(0, "pair", [i.id for i in items])
            q.insert(1, "image", image)
            q["file"], q["reference_file"] = x_files, ref_files
            frames.append(q)
            fa = torch.from_numpy(features.embed(x, embed, spec.batch_size))
            fb = torch.from_numpy(features.embed(ref, embed, spec.batch_size))
            kid, kid_std, subset = kid_from_features(fa, fb, seed=spec.seed)
            sets[image] = {"fid": fid_from_features(fa, fb), "kid": kid,
                           "kid_std": kid_std if subset < len(items) else None,  # one subset: no spread to report
                           "kid_subset_size": subset, "n": len(items), "images": x_name, "reference": ref_name}
    state.set_quality = {"sets": sets, "weights": weights_provenance()}
    return pd.concat(frames, ignore_index=True)


QualitySet = tuple[str, torch.Tensor, torch.Tensor, tuple[str, str], tuple[list[str], list[str]]]


def quality_sets(state: RunState, protected: Protected) -> Iterator[QualitySet]:
    """(set name, images, reference images, (what the images are, what the reference is), (their files))."""
    from ..results.files import cache_relative, record_file

    items = state.items
    clean = state.images([i.source for i in items])
    clean_files = [record_file(i.source, state.size) for i in items]
    adv = protected.images(items)
    adv_files = [cache_relative(protected.store.path(protected.keys[i.id])) for i in items]
    yield "protected", adv, clean, ("protected faces", "clean source faces"), (adv_files, clean_files)
    edited = _unperturbed(state, protected)
    if edited is not None:
        store = _unperturbed_store(state, protected)
        edited_files = [cache_relative(store.path(protected.keys[i.id])) for i in items]
        yield ("protected vs edited", adv, edited, ("protected faces", state.method.unperturbed_name),
               (adv_files, edited_files))
    if state.method.reversible:
        identity, parts, files, start = make_transform("identity"), [], [], 0
        store = restored_store(state, protected)
        for chunk in _chunks(state):  # chunks keep the items' order
            parts.append(restored(state, protected, chunk, adv[start : start + len(chunk)], identity))
            files += [cache_relative(store.path(k)) for k in restored_keys(protected, chunk, identity.name)]
            start += len(chunk)
        yield "restored", torch.cat(parts), clean, ("restored faces", "clean source faces"), (files, clean_files)


def _chunks(state: RunState):
    return chunks(state.items, state.spec.batch_size, lambda i: i.target.id if i.target is not None else "")


def _unperturbed(state: RunState, protected: Protected) -> torch.Tensor | None:
    """The method's ``unperturbed`` output per item (cached like protected images), or None."""
    if type(state.method).unperturbed is Method.unperturbed:
        return None
    store = _unperturbed_store(state, protected)
    out = []
    for chunk in _chunks(state):
        keys = [protected.keys[i.id] for i in chunk]
        if not all(store.has(k) for k in keys):
            y = state.method.unperturbed(state.images([i.source for i in chunk]), context(state, chunk))
            if y is None:
                return None
            for k, img in zip(keys, y.detach().cpu()):
                store.put(k, img)
        out.append(store.get(keys))
    return torch.cat(out)


def _unperturbed_store(state: RunState, protected: Protected) -> ImageStore:
    return ImageStore("unperturbed", f"{state.spec.method}-{protected.method_key[:16]}")
