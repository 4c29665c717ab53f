"""The face recognition models of the papers, as bring-your-own-weights zoo entries.

No registry package ships these weights, so each paper name (``arcface``, ``cosface``, ``ir152``, ``irse50``,
``facenet``, ``mobileface``) is a zoo entry without a package source: ``fpbench zoo add NAME --weights FILE``
checks the user's checkpoint against the architecture and caches it (see ``fpbench.zoo.user``).

``ARCHS`` are the architectures a user checkpoint can be added as; ``PAPER_MODELS`` says which ones each
paper name accepts (the first is the default), what is known about the public checkpoints, and the LFW
thresholds the Adv-Makeup/AMT-GAN test code publishes for them (read by ``fpbench.thresholds``).
"""
from __future__ import annotations

from dataclasses import dataclass

from .arch.inception_resnet_v1 import InceptionResnetV1
from .arch.iresnet import iresnet50, iresnet100
from .arch.irse import ir50, ir152, irse50
from .arch.mobilefacenet_paper import MobileFaceNet
from .cfg import Architecture, PretrainedCfg, PublishedThresholds, WeightsSource
from .model import InputSpec

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


ARCHS: dict[str, Architecture] = {
    a.name: a
    for a in (
        Architecture("iresnet100", "IResNet-100", iresnet100, 512, INSIGHTFACE_INPUT),
        Architecture("iresnet50", "IResNet-50", iresnet50, 512, INSIGHTFACE_INPUT),
        Architecture("ir152", "IR-152", ir152, 512, AMT_INPUT_112),
        Architecture("ir50", "IR-50", ir50, 512, AMT_INPUT_112),  # face.evoLVe; RobFR's natural and robust models
        Architecture("irse50", "IR-SE-50", irse50, 512, AMT_INPUT_112),
        Architecture("inception_resnet_v1", "Inception-ResNet-v1", InceptionResnetV1, 512, AMT_INPUT_160, ("logits.",)),
        Architecture("mobilefacenet512", "MobileFaceNet-512", MobileFaceNet, 512, AMT_INPUT_112),
    )
}

PUBLISHED_SOURCE = "Adv-Makeup/AMT-GAN test code (LFW)"


@dataclass(frozen=True)
class PaperModel:
    """A target of the papers: which architectures its checkpoint may have, and what the papers used."""

    name: str
    archs: tuple[str, ...]  # accepted architectures, default first
    loss: str
    training_data: str
    reference: str  # where the public checkpoint and its test code come from
    notes: str = ""
    thresholds: PublishedThresholds | None = None


def _published(paper_key: str, tau_01: float, tau_001: float, tau_0001: float) -> PublishedThresholds:
    """The LFW thresholds at FAR 0.1 / 0.01 / 0.001 of the Adv-Makeup/AMT-GAN test code (its name ``paper_key``)."""
    return PublishedThresholds(PUBLISHED_SOURCE, "LFW", {0.1: tau_01, 0.01: tau_001, 0.001: tau_0001},
                               note=f"{paper_key} in that code; they hold for its checkpoint")


PAPER_MODELS: dict[str, PaperModel] = {
    m.name: m
    for m in (
        PaperModel("arcface", ("iresnet100", "iresnet50"), "ArcFace", "MS1MV2/MS1MV3/Glint360K (per checkpoint)",
                   "insightface arcface_torch backbone.pth"),
        PaperModel("cosface", ("iresnet100", "iresnet50"), "CosFace", "MS1MV3/Glint360K (per checkpoint)",
                   "insightface arcface_torch backbone.pth (cosface runs)"),
        PaperModel("ir152", ("ir152",), "ArcFace (face.evoLVe)", "MS1M (face.evoLVe)",
                   "Adv-Makeup/AMT-GAN assets ir152.pth", AMT_CROP_NOTE, _published("ir152", 0.094632, 0.166788, 0.227922)),
        PaperModel("irse50", ("irse50",), "ArcFace (InsightFace_Pytorch)", "MS1M",
                   "Adv-Makeup/AMT-GAN assets irse50.pth", AMT_CROP_NOTE, _published("irse50", 0.144840, 0.241045, 0.312703)),
        PaperModel("facenet", ("inception_resnet_v1",), "softmax + center loss (FaceNet, facenet-pytorch)", "VGGFace2",
                   "Adv-Makeup/AMT-GAN assets facenet.pth / facenet-pytorch 20180402-114759-vggface2.pt",
                   AMT_CROP_NOTE + " facenet-pytorch itself normalises with (x*255 - 127.5) / 128 on MTCNN crops.",
                   _published("facenet", 0.256587, 0.409131, 0.591191)),
        PaperModel("mobileface", ("mobilefacenet512",), "ArcFace (InsightFace_Pytorch)", "MS1M",
                   "Adv-Makeup/AMT-GAN assets mobile_face.pth", AMT_CROP_NOTE,
                   _published("mobile_face", 0.183635, 0.301611, 0.380878)),
    )
}

#: Other spellings of paper names (the Adv-Makeup/AMT-GAN code says ``mobile_face``).
PAPER_ALIASES: dict[str, str] = {"mobile_face": "mobileface"}


def paper_cfg(name: str, arch: Architecture, source: WeightsSource, weights_sha256: str = "",
              notes: str = "", tag: str = "") -> PretrainedCfg:
    """Cfg of paper model ``name`` (or its ``tag``) built as ``arch``; published thresholds only for the
    untagged name, whose weights are the paper's checkpoint."""
    m = PAPER_MODELS[name]
    published = m.thresholds if not tag else None
    notes = " ".join(s for s in (f"Checkpoint: {m.reference}.", m.notes, notes) if s)
    if published:
        notes += " Published thresholds hold for the Adv-Makeup/AMT-GAN checkpoint; other weights need `fpbench calibrate`."
    return PretrainedCfg(source, weights_sha256, arch.input, loss=m.loss, training_data=m.training_data, notes=notes,
                         thresholds=published)
