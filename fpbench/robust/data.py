"""Face crops to fine-tune on; no identity labels are needed.

``folder_faces(DIR)`` reads every image of a folder of aligned face crops. ``offline_faces()`` is the default:
every face fpbench can build offline without showing the robustness report its own evaluation people: the
mini training faces (split ``train``), plus every other face YuNet finds in the photos the mini set draws from
(the unlabelled people of its group photos), each with ``N_AUGMENT`` seeded variants (family I of
``fpbench.data.variants``: flip, shift, scale, rotation, brightness, contrast, gamma). The mini faces of split
``test`` (the people ``mini-1n-synthetic`` protects, and the report evaluates on) are left out. The detected
faces are cached once per mini manifest version under ``FPBENCH_CACHE/robust/``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..cache import json_sha256, subdir
from ..data import load_prepared, shipped_manifest
from ..data.align import align_face
from ..data.prepare import ALIGNMENT_VERSION, packages_of, source_path
from ..data.variants import apply, draw, variant_rng
from ..errors import BadInput
from ..images import ImageError, read_image
from ..training import save_torch

SIZE = 112
BUILDER_VERSION = "1"
N_AUGMENT = 4  # seeded variants per face
SAME_FACE = 0.3  # mean landmark distance, in inter-ocular distances, under which a detection is a mini face
MIN_EYE_DISTANCE = 12.0  # pixels: smaller detections are too blurred to align usefully
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp")


@dataclass
class FaceCrops:
    """Aligned crops (N, 3, SIZE, SIZE) uint8, their ids and what they are (for the model card)."""

    images: torch.Tensor
    ids: list[str]
    description: str

    def __len__(self) -> int:
        return len(self.ids)

    def batch(self, idx: torch.Tensor) -> torch.Tensor:
        """Canonical float batch of the crops at ``idx``."""
        return self.images[idx].float() / 255


def _to_size(crop: np.ndarray) -> torch.Tensor:
    x = torch.from_numpy(np.array(crop, dtype=np.uint8, copy=True)).permute(2, 0, 1).unsqueeze(0).float()
    if x.shape[-1] != SIZE or x.shape[-2] != SIZE:
        x = F.interpolate(x, size=(SIZE, SIZE), mode="bilinear", align_corners=False, antialias=True)
    return x.round().clamp(0, 255).to(torch.uint8)[0]


def folder_faces(folder: str | Path) -> FaceCrops:
    """Every image in ``folder`` (aligned face crops, resized to SIZE); a BadInput when there is none."""
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise BadInput(f"--data {folder}: no such folder of face crops")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise BadInput(f"--data {folder}: no face crops ({', '.join(IMAGE_SUFFIXES)}) in it")
    images = []
    for p in files:
        try:
            images.append(_to_size(read_image(p)))
        except ImageError as e:
            raise BadInput(f"--data {folder}: {e}") from None
    return FaceCrops(torch.stack(images), [p.stem for p in files],
                     f"{len(files)} face crops from the folder {folder.name} (no augmentation)")


def training_identities() -> set[str]:
    """Mini identities whose faces the default training data contains (the report leaves them out)."""
    return {r["identity"] for r in shipped_manifest("mini").rows if r.get("split", "test") == "train"}


def offline_faces(augment: int = N_AUGMENT) -> FaceCrops:
    """The default training faces (see the module docstring)."""
    mini = shipped_manifest("mini")
    dataset = load_prepared(mini)
    train = sorted(dataset.select(split="train"), key=lambda r: r.id)
    base = [_to_size(read_image(r.crops[SIZE])) for r in train]
    ids = [r.id for r in train]
    found = _group_faces()
    base += list(found["images"])
    ids += found["ids"]
    images, names = list(base), list(ids)
    for face_id, crop in zip(ids, base):
        arr = crop.permute(1, 2, 0).numpy()
        for k in range(augment):
            images.append(_to_size(apply(arr, draw("I", variant_rng(0, face_id, f"robust/{k}")))))
            names.append(f"{face_id}.a{k}")
    description = (f"{len(images)} crops: {len(train)} mini training faces + {len(found['ids'])} unlabelled faces "
                   f"YuNet finds in the mini source photos, each with {augment} seeded variants; the mini test "
                   "people are held out. Tiny next to face-recognition training sets (millions of faces)")
    return FaceCrops(torch.stack(images), names, description)


def _group_faces() -> dict:
    """The detected faces of the mini photos that are not mini faces: {"images": uint8 tensor, "ids": [...]},
    built once per mini manifest version."""
    mini = shipped_manifest("mini")
    key = json_sha256([mini.sha256, BUILDER_VERSION, ALIGNMENT_VERSION, SAME_FACE, MIN_EYE_DISTANCE])[:16]
    path = subdir("robust") / f"group-faces-{key}.pt"
    if path.is_file():
        return torch.load(path, map_location="cpu", weights_only=True)
    from ..data.detect import default_detector

    packages = packages_of(mini)
    photos: dict[str, list[dict]] = {}
    for row in mini.rows:
        photos.setdefault(json.dumps(row["source"], sort_keys=True), []).append(row)
    images, ids = [], []
    for rows in photos.values():
        image = read_image(source_path(rows[0], None, packages))
        known = [np.asarray(r["landmarks5"], dtype=np.float64) for r in rows if r.get("landmarks5")]
        for k, face in enumerate(default_detector().detect_all(image)):
            lm = face.landmarks5
            eye = float(np.linalg.norm(lm[1] - lm[0]))
            if eye < MIN_EYE_DISTANCE or any(_distance(lm, ref) < SAME_FACE for ref in known):
                continue
            images.append(_to_size(align_face(image, lm, SIZE)))
            ids.append(f"{rows[0]['id']}.unlabelled{k}")
    found = {"images": torch.stack(images) if images else torch.zeros(0, 3, SIZE, SIZE, dtype=torch.uint8), "ids": ids}
    save_torch(found, path)
    return found


def _distance(a: np.ndarray, b: np.ndarray) -> float:
    """Mean landmark distance of two faces in inter-ocular distances of ``b``."""
    return float(np.linalg.norm(a - b, axis=1).mean() / max(np.linalg.norm(b[1] - b[0]), 1e-6))
