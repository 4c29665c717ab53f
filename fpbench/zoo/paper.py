"""The face recognition models of the papers, as bring-your-own-weights zoo entries.

No registry package ships these weights, so each paper name (``arcface``, ``cosface``, ``ir152``, ``irse50``,
``facenet``, ``mobileface``) is a zoo entry without a package source: ``fpbench zoo add NAME --weights FILE``
checks the user's checkpoint against the architecture and caches it (see ``fpbench.zoo.user``).

``ARCHS`` are the architectures a user checkpoint can be added as; ``PAPER_MODELS`` says which ones each
paper name accepts (the first is the default) and what is known about the public checkpoints.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import torch.nn as nn

from ..thresholds import PUBLISHED, PUBLISHED_SOURCE
from .arch.inception_resnet_v1 import InceptionResnetV1
from .arch.iresnet import iresnet50, iresnet100
from .arch.irse import ir152, irse50
from .arch.mobilefacenet_paper import MobileFaceNet
from .model import InputSpec, ModelCard

#: insightface arcface_torch evaluation: RGB, (x / 255 - 0.5) / 0.5 on the 5-point aligned 112 crop.
INSIGHTFACE_INPUT = InputSpec(size=112, channels="RGB", scale=1.0, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))

#: Adv-Makeup / AMT-GAN: RGB in [0, 1] normalised with mean = std = 0.5, bilinearly resized to the model size.
AMT_INPUT_112 = InputSpec(size=112, channels="RGB", scale=1.0, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))
AMT_INPUT_160 = InputSpec(size=160, channels="RGB", scale=1.0, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))

AMT_CROP_NOTE = (
    "Adv-Makeup/AMT-GAN feed their own face crops (600x600 aligned faces; AMT-GAN: dlib face box widened and "
    "resized to 256) bilinearly resized to the model size; fpbench feeds the ArcFace-template crop resized the "
    "same way, so scores can differ slightly from the papers'."
)


@dataclass(frozen=True)
class Arch:
    """An architecture user weights can be added as."""

    name: str
    label: str  # for cards and tables, e.g. "IResNet-100"
    build: Callable[[], nn.Module]
    embedding_dim: int
    input: InputSpec
    #: key prefixes of training-only parts found in public checkpoints (dropped on `zoo add`, and reported)
    dropped_prefixes: tuple[str, ...] = ()


ARCHS: dict[str, Arch] = {
    a.name: a
    for a in (
        Arch("iresnet100", "IResNet-100", iresnet100, 512, INSIGHTFACE_INPUT),
        Arch("iresnet50", "IResNet-50", iresnet50, 512, INSIGHTFACE_INPUT),
        Arch("ir152", "IR-152", ir152, 512, AMT_INPUT_112),
        Arch("irse50", "IR-SE-50", irse50, 512, AMT_INPUT_112),
        Arch("inception_resnet_v1", "Inception-ResNet-v1", InceptionResnetV1, 512, AMT_INPUT_160, ("logits.",)),
        Arch("mobilefacenet512", "MobileFaceNet-512", MobileFaceNet, 512, AMT_INPUT_112),
    )
}


@dataclass(frozen=True)
class PaperModel:
    """A target of the papers: which architectures its checkpoint may have, and what the papers used."""

    name: str
    archs: tuple[str, ...]  # accepted architectures, default first
    loss: str
    training_data: str
    reference: str  # where the public checkpoint and its test code come from
    notes: str = ""
    thresholds: dict[str, Any] = field(default_factory=dict)


def _published(name: str, paper_key: str) -> dict[str, Any]:
    return {"source": PUBLISHED_SOURCE, "dataset": "LFW", "paper_name": paper_key,
            "far": {str(far): tau for far, tau in PUBLISHED[name].items()}}


PAPER_MODELS: dict[str, PaperModel] = {
    m.name: m
    for m in (
        PaperModel("arcface", ("iresnet100", "iresnet50"), "ArcFace", "MS1MV2/MS1MV3/Glint360K (per checkpoint)",
                   "insightface arcface_torch backbone.pth"),
        PaperModel("cosface", ("iresnet100", "iresnet50"), "CosFace", "MS1MV3/Glint360K (per checkpoint)",
                   "insightface arcface_torch backbone.pth (cosface runs)"),
        PaperModel("ir152", ("ir152",), "ArcFace (face.evoLVe)", "MS1M (face.evoLVe)",
                   "Adv-Makeup/AMT-GAN assets ir152.pth", AMT_CROP_NOTE, _published("ir152", "ir152")),
        PaperModel("irse50", ("irse50",), "ArcFace (InsightFace_Pytorch)", "MS1M",
                   "Adv-Makeup/AMT-GAN assets irse50.pth", AMT_CROP_NOTE, _published("irse50", "irse50")),
        PaperModel("facenet", ("inception_resnet_v1",), "softmax + center loss (FaceNet, facenet-pytorch)", "VGGFace2",
                   "Adv-Makeup/AMT-GAN assets facenet.pth / facenet-pytorch 20180402-114759-vggface2.pt",
                   AMT_CROP_NOTE + " facenet-pytorch itself normalises with (x*255 - 127.5) / 128 on MTCNN crops.",
                   _published("facenet", "facenet")),
        PaperModel("mobileface", ("mobilefacenet512",), "ArcFace (InsightFace_Pytorch)", "MS1M",
                   "Adv-Makeup/AMT-GAN assets mobile_face.pth", AMT_CROP_NOTE, _published("mobileface", "mobile_face")),
    )
}

#: Other spellings of paper names (the Adv-Makeup/AMT-GAN code says ``mobile_face``).
PAPER_ALIASES: dict[str, str] = {"mobile_face": "mobileface"}


def arch_card(name: str, arch: Arch, **fields: Any) -> ModelCard:
    """Card of a user-added model of architecture ``arch`` (``fields`` fill source, sha256, notes...)."""
    return ModelCard(name=name, architecture=arch.label, embedding_dim=arch.embedding_dim, input=arch.input, **fields)


def paper_card(name: str, arch_name: str | None = None, **fields: Any) -> ModelCard:
    """Card of paper model ``name`` built as ``arch_name`` (default: its first architecture)."""
    m = PAPER_MODELS[name]
    arch = ARCHS[arch_name or m.archs[0]]
    notes = " ".join(s for s in (f"Checkpoint: {m.reference}.", m.notes, fields.pop("notes", "")) if s)
    if m.thresholds:
        notes += " Published thresholds hold for the Adv-Makeup/AMT-GAN checkpoint; other weights need `fpbench calibrate`."
    return arch_card(name, arch, loss=m.loss, training_data=m.training_data, notes=notes,
                     thresholds=dict(m.thresholds), **fields)
