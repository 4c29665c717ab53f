"""Real photos, real models: every embedded model separates people, and the mini set's identity labels hold."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from fpbench.zoo.names import embedded_models


def embeddings(model, dataset, records) -> np.ndarray:
    with torch.no_grad():
        return model(dataset.images(records, 112)).numpy()


@pytest.mark.parametrize("name", embedded_models())
def test_same_person_pairs_score_above_different_person_pairs(name, mini, embedded):
    """Obama x3 vs Biden (face_recognition's test photos): every genuine pair beats every impostor pair."""
    model = embedded(name)
    obama = mini.by_id(["obama", "obama2", "obama3"])
    e = embeddings(model, mini, obama + mini.by_id(["biden"]))
    genuine = [e[i] @ e[j] for i, j in itertools.combinations(range(3), 2)]
    impostor = [e[i] @ e[3] for i in range(3)]
    assert min(genuine) > max(impostor), (name, genuine, impostor)


#: Thresholds published by the models' originators (not fpbench calibrations): OpenCV's SFace sample accepts
#: cosine > 0.363 (LFW); dlib accepts descriptor distance < 0.6 (99.38% on LFW).
SFACE_COSINE = 0.363
DLIB_DISTANCE = 0.6


def test_different_names_are_different_people(mini, embedded):
    """The manifest assumes faces of different identities are different people: no cross-identity pair may
    be accepted by both SFace and dlib at their originators' thresholds, while every genuine pair is
    accepted by at least one of them (the check has power)."""
    records = sorted(mini.records, key=lambda r: r.id)
    x = mini.images(records, 112)
    sface, dlib = embedded("sface"), embedded("dlib-resnet29")
    with torch.no_grad():
        e = sface(x).numpy()
        raw = dlib.backbone(dlib.preprocess(x)).flatten(1).numpy()
    accepted_sface = e @ e.T > SFACE_COSINE
    accepted_dlib = np.linalg.norm(raw[:, None] - raw[None], axis=-1) < DLIB_DISTANCE
    ids = np.array([r.identity for r in records])
    same = ids[:, None] == ids[None, :]
    upper = np.triu(np.ones_like(same), k=1).astype(bool)
    both = upper & ~same & accepted_sface & accepted_dlib
    assert not [(records[i].id, records[j].id) for i, j in zip(*np.nonzero(both))]
    assert (accepted_sface | accepted_dlib)[upper & same].all()
