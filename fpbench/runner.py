"""One run, in one direction: spec -> dataset -> protect -> transforms -> embed -> scores -> run card.

Every expensive step is content-addressed and cached (protected and restored images, embeddings), and
work happens in fixed chunks whose random streams depend only on the spec and the chunk's contents, so a
re-run computes nothing and an interrupted run resumes with bit-identical results.
"""
from __future__ import annotations

import itertools
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
import pandas as pd
import torch
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from .cache import json_sha256, write_json
from .data import DATASETS, load_dataset
from .data.dataset import FaceDataset
from .errors import BadInput
from .images import tensor_sha256
from .methods import METHODS, Method, ProtectContext
from .protocol import Pair, make_pairs
from .provenance import environment
from .spec import RunSpec, check_device
from .stores import EmbeddingStore, ImageStore
from .targets import Target, make_target, target_names
from .transforms import Transform, make_transform
from .zoo.model import FaceModel

KINDS = {"impersonate": "impersonation", "dodge": "dodging"}


@dataclass
class Work:
    """What a run actually computed (zero everywhere on a fully cached re-run)."""

    protected: int = 0
    restored: int = 0
    embedded: int = 0
    stage_seconds: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        t0 = time.perf_counter()
        yield
        self.stage_seconds[name] = round(self.stage_seconds.get(name, 0.0) + time.perf_counter() - t0, 3)


@dataclass
class Protected:
    """Where a run's protected images are and what made them (later stages restore and score them)."""

    store: ImageStore
    keys: dict[str, str]  # pair id -> image key in ``store``
    method_key: str
    dataset: FaceDataset
    pairs: list[Pair]
    surrogates: list[FaceModel]
    size: int


def white_box_model(name: str, device: torch.device) -> FaceModel:
    """The differentiable model behind a target name, for use as a surrogate."""
    model = getattr(make_target(name, device), "model", None)
    if model is None:
        raise BadInput(f"target {name!r} has no local model and cannot serve as a white-box surrogate")
    return model


def compared_with(pairs: Sequence[Pair]) -> dict[str, Any]:
    """What protected faces were compared with: per target its reference photo, or for dodging how many
    sources had another photo of themselves."""
    if pairs and pairs[0].target is not None:
        return {p.target.id: p.reference.id for p in pairs}
    return source_references(pairs)


def source_references(pairs: Sequence[Pair]) -> dict[str, int]:
    """How many sources are verified (dodging, restoration) against another photo of the same person, and
    how many against their clean source face itself (the dataset has no other photo of them)."""
    other = sum(p.source_reference.id != p.source.id for p in pairs)
    return {"another photo of the same person": other, "the clean source itself": len(pairs) - other}


def chunk_seed(*parts: Any) -> int:
    """A 63-bit seed derived from the spec seed and the contents a chunk of work depends on."""
    return int(json_sha256(parts)[:15], 16)


def seeded(seed: int) -> torch.Generator:
    g = torch.Generator()
    g.manual_seed(seed)
    return g


def chunks(pairs: Sequence[Pair], size: int) -> Iterator[list[Pair]]:
    """Fixed chunks of at most ``size`` pairs, never mixing impersonation targets."""
    for _, group in itertools.groupby(pairs, key=lambda p: p.target.id if p.target else ""):
        group = list(group)
        for i in range(0, len(group), size):
            yield group[i : i + size]


class Runner:
    """Executes one RunSpec; ``execute()`` returns a ``fpbench.results.RunResult``."""

    def __init__(self, spec: RunSpec, out: Path | None = Path("runs"), progress: bool = True) -> None:
        self.spec = spec.validate()
        self.out = out
        self.device = check_device(spec.device)
        self.work = Work()
        self.warnings: list[str] = []
        self.set_quality: dict[str, Any] = {}
        self._fitted: set[str] = set()
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), transient=True, disable=not progress)
        # resolve every name before any work, so typos fail fast
        method_cls = METHODS.get(spec.method)
        if spec.goal not in method_cls.goals:
            raise BadInput(f"method {spec.method!r} is made for --goal {' or '.join(method_cls.goals)}, not {spec.goal!r}")
        run_values = {"profile": spec.profile, "seed": spec.seed}
        params = {**{k: run_values[k] for k in method_cls.run_options if k not in spec.params}, **spec.params}
        self.method: Method = method_cls(**params)
        self.surrogate_names: tuple[str, ...] = spec.surrogates or method_cls.default_surrogates
        self.transforms: list[Transform] = [make_transform(t) for t in spec.transforms]
        DATASETS.get(spec.dataset)
        known = set(target_names())
        for name in (*spec.targets, *self.surrogate_names):
            if name not in known:
                raise BadInput(f"unknown target {name!r}; available: {', '.join(sorted(known))}")
        if "surrogates" in self.method.needs and not self.surrogate_names:
            raise BadInput(f"method {spec.method!r} needs white-box surrogates: pass --surrogate NAME[,NAME...]")

    # ------------------------------------------------------------------ stages
    def execute(self):  # -> RunResult (imported lazily: results depends on runner's outputs only)
        from .results import RunResult

        spec = self.spec
        with self.progress:
            with self.work.stage("load"):
                dataset = load_dataset(spec.dataset)
                pairs = make_pairs(dataset, spec.goal)
                surrogates = [white_box_model(n, self.device) for n in self.surrogate_names]
                targets = [make_target(n, self.device) for n in spec.targets]
            size = int(getattr(self.method, "image_size", 112))
            with self.work.stage("protect"):
                protected = self._protect(dataset, pairs, surrogates, size)
            scores, thresholds = self._score(dataset, pairs, protected, targets, size)
            quality = self._quality(dataset, pairs, protected, size) if spec.quality else pd.DataFrame()
        card = self._card(dataset, pairs, surrogates, targets, thresholds)
        result = RunResult(card=card, scores=scores, quality=quality)
        if self.out is not None:
            result.save(self.out / self.run_name(dataset))
        return result

    def run_name(self, dataset: FaceDataset) -> str:
        s = self.spec
        return f"{dataset.name}-{s.method}-{s.goal}-{json_sha256(s.to_dict())[:8]}"

    def _method_key(self, surrogates: Sequence[FaceModel], size: int) -> str:
        s = self.spec
        return json_sha256({
            "method": self.method.card(), "surrogates": [m.card.weights_sha256 for m in surrogates],
            "goal": s.goal, "seed": s.seed, "size": size, "batch_size": s.batch_size, "profile": s.profile,
        })

    def _protect(self, dataset: FaceDataset, pairs: list[Pair], surrogates: list[FaceModel], size: int) -> Protected:
        """Protected image per pair (cached PNGs)."""
        spec, method = self.spec, self.method
        key = self._method_key(surrogates, size)
        store = ImageStore("protected", f"{spec.method}-{key[:16]}")
        faces = {r.id: r for p in pairs for r in (p.source, p.reference)}
        src_hash = {i: tensor_sha256(dataset.images([r], size)) for i, r in faces.items()}
        pair_key = {p.id: json_sha256([key, src_hash[p.source.id], src_hash[p.reference.id]]) for p in pairs}
        task = self.progress.add_task(f"protect [{spec.method}]", total=len(pairs))
        for chunk in chunks(pairs, spec.batch_size):
            keys = [pair_key[p.id] for p in chunk]
            self._fit(dataset, surrogates, chunk, size)  # also when cached: the run card names the trained model
            if not all(store.has(k) for k in keys):
                x = dataset.images([p.source for p in chunk], size)
                ctx = ProtectContext(
                    goal=spec.goal, surrogates=surrogates, device=self.device,
                    target_images=dataset.images([p.target for p in chunk], size) if chunk[0].target else None,
                    generator=seeded(chunk_seed(spec.seed, keys)),
                )
                adv = method.protect(x, ctx).detach().cpu()
                if adv.shape != x.shape:
                    raise RuntimeError(f"{spec.method}.protect returned {tuple(adv.shape)} for input {tuple(x.shape)}")
                for k, img in zip(keys, adv):
                    store.put(k, img)
                self.work.protected += len(chunk)
            self.progress.advance(task, len(chunk))
        return Protected(store, pair_key, key, dataset, pairs, surrogates, size)

    def _fit(self, dataset: FaceDataset, surrogates: list[FaceModel], chunk: list[Pair], size: int) -> None:
        """Train (or load) what a learning method needs for ``chunk``'s target, once per run."""
        target_id = chunk[0].target.id if chunk[0].target else ""
        if "training" not in self.method.needs or target_id in self._fitted:
            return
        target_img = dataset.images([chunk[0].target], size) if chunk[0].target else None
        with self.work.stage("fit"):
            self.method.fit(dataset, surrogates, self.device, target=target_img, target_id=target_id)
        self._fitted.add(target_id)

    def _context(self, protected: Protected, chunk: list[Pair], every_target: bool = False) -> ProtectContext:
        """The context a chunk was protected with (target faces route per-target models), with the method
        fitted for it, or with ``every_target`` for all the run's targets (a wrong key is another target's)."""
        dataset, size = protected.dataset, protected.size
        for part in chunks(protected.pairs, self.spec.batch_size) if every_target else [chunk]:
            self._fit(dataset, protected.surrogates, part, size)
        targets = dataset.images([p.target for p in chunk], size) if chunk[0].target else None
        return ProtectContext(goal=self.spec.goal, target_images=targets, device=self.device)

    def _channel(self, images: torch.Tensor, keys: list[str], transform: Transform) -> torch.Tensor:
        return transform(images, seeded(chunk_seed(self.spec.seed, transform.name, keys)))

    def _restored(self, protected: Protected, chunk: list[Pair], x_t: torch.Tensor, transform: Transform,
                  wrong_key: bool = False) -> torch.Tensor | None:
        """Restorations of a chunk's (transformed) protected images, cached; with ``wrong_key`` by a key the
        images were not protected with (None when the method has no second key)."""
        tag = "restore-wrong-key" if wrong_key else "restore"
        keys = [json_sha256([protected.keys[p.id], transform.name, tag]) for p in chunk]
        store = ImageStore("restored", f"{self.spec.method}-{protected.method_key[:16]}")
        if not all(store.has(k) for k in keys):
            ctx = self._context(protected, chunk, every_target=wrong_key)
            with self.work.stage("restore"), torch.no_grad():
                x_in = x_t.to(self.device)
                rec = self.method.restore_with_wrong_key(x_in, ctx) if wrong_key else self.method.restore(x_in, ctx)
            if rec is None:
                return None
            for k, img in zip(keys, rec.detach().cpu()):
                store.put(k, img)
            self.work.restored += len(keys)
        return store.get(keys)

    def _score(self, dataset, pairs, protected, targets: list[Target], size: int):
        """Scores of every pair under every transform and target. Each chunk of protected images is read once,
        and transformed (and restored) once for all targets; rows come in target, transform, pair order."""
        spec = self.spec
        reversible = self.method.reversible
        kind = KINDS[spec.goal]
        thresholds: dict[str, dict[str, Any]] = {}
        refs = {p.reference.id: p.reference for p in pairs}
        if reversible:
            refs.update({p.source_reference.id: p.source_reference for p in pairs})
        ref_records = sorted(refs.values(), key=lambda r: r.id)
        ref_images = dataset.images(ref_records, size)
        stores = [EmbeddingStore(target.cache_key) for target in targets]
        ref_emb = []
        for target, emb in zip(targets, stores):
            with self.work.stage("embed"):
                e_ref = emb.embed(ref_images, target.embed, spec.batch_size)
            ref_emb.append(dict(zip([r.id for r in ref_records], e_ref)))
            thresholds[target.display] = self._thresholds(target, dataset, emb, size)
        rows: dict[tuple[int, int], list[dict[str, Any]]] = {}  # (target index, transform index) -> rows
        task = self.progress.add_task("evaluate", total=len(targets) * len(self.transforms) * len(pairs))
        for chunk in chunks(pairs, spec.batch_size):
            keys = [protected.keys[p.id] for p in chunk]
            x = protected.store.get(keys)
            for f, transform in enumerate(self.transforms):
                x_t = self._channel(x, keys, transform)
                restored = {}
                if reversible:
                    restored = {"erasion": self._restored(protected, chunk, x_t, transform),
                                "erasion-wrong-key": self._restored(protected, chunk, x_t, transform, wrong_key=True)}
                for t, (target, emb) in enumerate(zip(targets, stores)):
                    far = thresholds[target.display]["far"]
                    tau, tau_esr = far[str(spec.far)]["tau"], far[str(spec.esr_far)]["tau"]
                    with self.work.stage("embed"):
                        e_adv = emb.embed(x_t, target.embed, spec.batch_size)
                        e_rec = {k: emb.embed(v, target.embed, spec.batch_size)
                                 for k, v in restored.items() if v is not None}
                    out = rows.setdefault((t, f), [])
                    for i, p in enumerate(chunk):
                        ref = ref_emb[t][p.reference.id]
                        sim = float(np.dot(e_adv[i], ref))
                        base = {"pair": p.id, "source": p.source.id, "target_face": p.target.id if p.target else "",
                                "target": target.display, "transform": transform.name}
                        ok = sim > tau if spec.goal == "impersonate" else sim < tau
                        out.append({**base, "kind": kind, "similarity": sim, "threshold": tau, "success": ok})
                        for rec_kind, e in e_rec.items():  # erasion succeeds when the target no longer matches
                            sim_rec = float(np.dot(e[i], ref))
                            out.append({**base, "kind": rec_kind, "similarity": sim_rec, "threshold": tau_esr,
                                        "success": sim_rec < tau_esr})
                        if "erasion" in e_rec:  # restoration succeeds when the source person matches again
                            sim_src = float(np.dot(e_rec["erasion"][i], ref_emb[t][p.source_reference.id]))
                            out.append({**base, "kind": "restoration", "similarity": sim_src, "threshold": tau,
                                        "success": sim_src > tau})
                    self.progress.advance(task, len(chunk))
        self.work.embedded += sum(emb.computed for emb in stores)
        return pd.DataFrame([row for key in sorted(rows) for row in rows[key]]), thresholds

    def _thresholds(self, target: Target, dataset: FaceDataset, emb: EmbeddingStore, size: int) -> dict[str, Any]:
        """Thresholds at the run's FARs with their provenance: published or stored calibration, else the
        run's own data (with a warning that says how many impostor pairs it rests on)."""
        from .metrics import NotEnoughScores
        from .thresholds import calibrate_embeddings, threshold_for

        fars = sorted({self.spec.far, self.spec.esr_far})
        model_name = getattr(getattr(target, "model", None), "card", None)
        model_name = model_name.name if model_name is not None else target.name
        out: dict[str, Any] = {"far": {}}
        missing = []
        for far in fars:
            found = threshold_for(model_name, far, dataset.name, dataset.manifest_sha256)
            if found is None:
                missing.append(far)
            else:
                tau, prov = found
                out["far"][str(far)] = {"tau": float(tau), **prov}
        if missing:
            records = dataset.records
            with self.work.stage("embed"):
                e = emb.embed(dataset.images(records, size), target.embed, self.spec.batch_size)
            try:
                cal = calibrate_embeddings(e, [r.identity for r in records], fars=missing)
            except NotEnoughScores as err:
                raise BadInput(f"{target.display}: no stored threshold and {dataset.name} is too small to calibrate "
                               f"one ({err}); run `fpbench calibrate --model {model_name} --dataset LARGER_SET`") from None
            for far in missing:
                est = cal[far]
                out["far"][str(far)] = {"tau": float(est.tau), "source": f"calibrated on this run's dataset ({dataset.name})",
                                        "kind": "calibrated-on-run", "n_impostor": est.n_impostor,
                                        "n_genuine": est.n_genuine, "tar": est.tar, "ci_lo": est.ci_lo, "ci_hi": est.ci_hi}
                msg = (f"{target.display}: no stored threshold at FAR {far}; calibrated on {dataset.name} "
                       f"from {est.n_impostor} impostor pairs")
                if est.n_impostor < 10 / far:
                    msg += f" (fewer than {int(10 / far)}: coarse; run `fpbench calibrate` on a larger set)"
                self.warnings.append(msg)
        return out

    def _quality(self, dataset: FaceDataset, pairs: list[Pair], protected: Protected, size: int) -> pd.DataFrame:
        """Per-image L1/MSE/PSNR/SSIM/LPIPS and set-level FID/KID (Inception features cached like embeddings,
        into ``self.set_quality``) of each image set against its reference: protected vs clean faces; for
        semantic methods protected vs the method's unperturbed output (ErasableMask's Table VI compares with
        the attribute-edited faces); for reversible methods restored vs clean faces."""
        from .metrics.fid import fid_from_features, inception_features, kid_from_features
        from .metrics.quality import per_image_quality, weights_provenance
        from .metrics.weights import fid_inception

        features = EmbeddingStore(f"inception-fid-{fid_inception().card()['sha256'][:16]}")
        embed = lambda x: inception_features(x, self.device)
        frames, sets = [], {}
        with self.work.stage("quality"):
            for image, x, ref, (x_name, ref_name) in self._quality_sets(dataset, pairs, protected, size):
                q = per_image_quality(x, ref, device=self.device)
                q.insert(0, "pair", [p.id for p in pairs])
                q.insert(1, "image", image)
                frames.append(q)
                fa = torch.from_numpy(features.embed(x, embed, self.spec.batch_size))
                fb = torch.from_numpy(features.embed(ref, embed, self.spec.batch_size))
                kid, kid_std, subset = kid_from_features(fa, fb, seed=self.spec.seed)
                sets[image] = {"fid": fid_from_features(fa, fb), "kid": kid, "kid_std": kid_std,
                               "kid_subset_size": subset, "n": len(pairs), "images": x_name, "reference": ref_name}
        self.set_quality = {"sets": sets, "weights": weights_provenance()}
        return pd.concat(frames, ignore_index=True)

    def _quality_sets(self, dataset: FaceDataset, pairs: list[Pair], protected: Protected, size: int):
        """(set name, images, reference images, (what the images are, what the reference is)) for every
        comparison the method allows."""
        clean = dataset.images([p.source for p in pairs], size)
        adv = protected.store.get([protected.keys[p.id] for p in pairs])
        yield "protected", adv, clean, ("protected faces", "clean source faces")
        edited = self._unperturbed(pairs, protected)
        if edited is not None:
            yield "protected vs edited", adv, edited, ("protected faces", self.method.unperturbed_name)
        if self.method.reversible:
            identity, restored, start = make_transform("identity"), [], 0
            for chunk in chunks(pairs, self.spec.batch_size):  # chunks keep the pairs' order
                restored.append(self._restored(protected, chunk, adv[start : start + len(chunk)], identity))
                start += len(chunk)
            yield "restored", torch.cat(restored), clean, ("restored faces", "clean source faces")

    def _unperturbed(self, pairs: list[Pair], protected: Protected) -> torch.Tensor | None:
        """The method's ``unperturbed`` output per pair (cached like protected images), or None."""
        if type(self.method).unperturbed is Method.unperturbed:
            return None
        store = ImageStore("unperturbed", f"{self.spec.method}-{protected.method_key[:16]}")
        out = []
        for chunk in chunks(pairs, self.spec.batch_size):
            keys = [protected.keys[p.id] for p in chunk]
            if not all(store.has(k) for k in keys):
                x = protected.dataset.images([p.source for p in chunk], protected.size)
                y = self.method.unperturbed(x, self._context(protected, chunk))
                if y is None:
                    return None
                for k, img in zip(keys, y.detach().cpu()):
                    store.put(k, img)
            out.append(store.get(keys))
        return torch.cat(out)

    def _card(self, dataset, pairs, surrogates, targets, thresholds) -> dict[str, Any]:
        spec = self.spec
        return {
            "fpbench_run": 1,
            "spec": spec.to_dict(),
            "method": self.method.card(),
            "reversible": self.method.reversible,
            "dataset": {"name": dataset.name, "manifest_sha256": dataset.manifest_sha256, "pairs": len(pairs),
                        "attribute_source": dataset.attribute_source},
            "protocol": {"goal": spec.goal, "far": spec.far, "esr_far": spec.esr_far,
                         "compared_with": compared_with(pairs),
                         **({"restored_compared_with": source_references(pairs)} if self.method.reversible else {})},
            "targets": [t.card() for t in targets],
            "white_box": [t.display for t in targets if getattr(t, "model", None) is not None
                          and t.model.card.weights_sha256 in {m.card.weights_sha256 for m in surrogates}],
            "surrogates": [{"name": n, "model": m.card.name, "weights_sha256": m.card.weights_sha256}
                           for n, m in zip(self.surrogate_names, surrogates)],
            "thresholds": thresholds,
            "images": "protected and restored images are quantised to 8-bit PNG before evaluation",
            "quality": self.set_quality,
            "work": {"protected": self.work.protected, "restored": self.work.restored, "embedded": self.work.embedded},
            "stage_seconds": self.work.stage_seconds,
            "warnings": self.warnings,
            "environment": environment(self.device),
        }


def run(
    method: str,
    targets: Sequence[str] | str,
    dataset: str = "mini",
    transforms: Sequence[str] = ("identity",),
    *,
    out: str | Path | None = "runs",
    progress: bool = False,
    **options: Any,
):
    """Python API mirroring ``fpbench run``: returns a ``RunResult`` (``.scores``, ``.table()``, ``.to_latex()``).

    ``options`` are the other RunSpec fields (goal, surrogates, params, profile, seed, device, batch_size,
    far, esr_far, quality).
    """
    targets = (targets,) if isinstance(targets, str) else tuple(targets)
    for key in ("surrogates", "transforms"):
        if key in options and isinstance(options[key], str):
            options[key] = tuple(options[key].split(","))
    spec = RunSpec(method=method, targets=targets, dataset=dataset, transforms=tuple(transforms),
                   **{k: tuple(v) if isinstance(v, list) else v for k, v in options.items()})
    return Runner(spec, Path(out) if out is not None else None, progress=progress).execute()
