"""The one list of fpbench's metrics: what each reads, how it aggregates, how it is shown.

The run view, `fpbench table`, run results and published baselines all take metric names from ``METRICS``.
A metric reads the score rows of some ``kinds`` (``scores.parquet``), the per-image quality rows
(``quality.parquet``, kind ``"quality"``) or the run card's set-level quality (aggregation ``"set"``).

Aggregations: ``rate`` (share of true values, row bootstrap CI), ``clustered-rate`` (the same with a CI that
resamples identities: probes of one person are correlated), ``black-box-mean`` (clustered rate averaged over
the targets that were not white-box for the run and are not weak controls), ``mean`` (mean with a row bootstrap CI) and ``set`` (one
number per image set from the run card, no CI).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from ..errors import BadInput
from .estimate import Estimate, clustered_rate_ci, mean_ci, rate_ci

PROTOCOLS = ("verify", "identify", "authorise")
AGGREGATIONS = ("rate", "clustered-rate", "black-box-mean", "mean", "set")
#: the score kind of each protocol's rows (verify has several, one per outcome)
IDENTIFY_KINDS = ("identification",)
AUTHORISE_KINDS = ("authorised", "unauthorised")
AUTHORISE_KAPPA_KINDS = ("authorised-kappa", "unauthorised-kappa")  # at PMT's single cosine threshold 0.2
#: rows of the adversaries (``fpbench.adversaries``) under the authorise protocol: reconstruction from the
#: released feature z~ (the references: from unprotected and permuted-noise features), UP of x~ and of x
RECONSTRUCTION_KINDS = ("reconstruction",)
LEARNED_RECONSTRUCTION_KINDS = ("reconstruction-learned",)  # Level 1 (RecFace) from z~
UP_KINDS = ("utility-privacy",)
#: the adaptive attacker (spec B6, outside PMT's threat model): eq. 10 with the de-obfuscated D(x~1) in place of
#: x~1 (authorised / unauthorised models, calibrated threshold and kappa), and SSIM/PSNR of D(x~1) to x1
DEOBFUSCATED_KINDS = ("deobfuscated-authorised", "deobfuscated-unauthorised")
DEOBFUSCATED_KAPPA_KINDS = ("deobfuscated-authorised-kappa", "deobfuscated-unauthorised-kappa")
DEOBFUSCATION_KINDS = ("deobfuscation",)
#: the attribute adversary's rows for the released 8-bit x~ (its references: ``attributes-float``,
#: ``attributes-noise-0.3``, ``attributes-noise-0.15``; PMT Table VIII)
ATTRIBUTE_KINDS = ("attributes",)
#: what the attribute adversary's networks are, wherever its numbers are shown
ATTRIBUTE_LABEL = "attributes: human-models (FER2013 / GEAR / SSR-Net), not DeepFace"
QUALITY_KIND = "quality"


@dataclass(frozen=True)
class Metric:
    """One metric: where its values come from, how they aggregate, and how a table shows them."""

    name: str
    title: str  # header text with unit, e.g. "ASR %"
    kinds: tuple[str, ...]  # score kinds it reads; ("quality",) for quality.parquet; () for the card's sets
    column: str  # the column of those rows it reads (for "set": the key in the card's quality sets)
    higher_is_better: bool
    aggregation: str
    protocols: tuple[str, ...]
    description: str
    unit: str = "%"  # "%": rates of 0/1 values, shown x100
    fmt: str = ".2f"  # format spec of a shown value
    negate: bool = False  # the rate of false values (top-k protection = share of probes *not* found)
    cluster: str | None = None  # column of the clusters a clustered CI resamples
    default: bool = False  # shown in the run view when the run has its rows

    def __post_init__(self) -> None:
        if self.aggregation not in AGGREGATIONS or not set(self.protocols) <= set(PROTOCOLS):
            raise ValueError(f"metric {self.name}: unknown aggregation or protocol")

    @property
    def label(self) -> str:
        """The header without its unit (CSV, Markdown, LaTeX)."""
        return self.title.removesuffix(f" {self.unit}") if self.unit else self.title

    @property
    def percent(self) -> bool:
        return self.unit == "%"

    def estimate(self, rows: pd.DataFrame) -> Estimate | None:
        """This metric over ``rows`` (already selected: its kinds, one table cell), or None without values."""
        if self.aggregation == "set":
            raise ValueError(f"{self.name} is a set-level metric: it is read from the run card, not from rows")
        if self.column not in rows:
            return None
        rows = rows[rows[self.column].notna()]
        if rows.empty:
            return None
        values = rows[self.column].to_numpy()
        if self.aggregation == "mean":
            est = mean_ci(values.astype(float))
        else:
            flags = values.astype(bool) != self.negate
            if self.aggregation == "rate":
                est = rate_ci(flags)
            else:
                clusters = rows[self.cluster] if self.cluster in rows else rows["pair"]
                strata = rows["target"].to_numpy() if self.aggregation == "black-box-mean" else None
                est = clustered_rate_ci(flags, clusters.to_numpy(), strata)
        return est.scaled(100.0) if self.percent else est

    def format(self, value: float) -> str:
        return f"{value:{self.fmt}}"


def _verify(name: str, kind: str, description: str, **extra) -> Metric:
    return Metric(name, f"{name.upper()} %", (kind,), "success", True, "rate", ("verify",), description,
                  default=True, **extra)


def _topk(k: int, default: bool) -> Metric:
    return Metric(f"top{k}", f"Top-{k} prot. %", IDENTIFY_KINDS, f"hit{k}", True, "clustered-rate", ("identify",),
                  f"probes whose owner is not among their {k} most similar gallery entries (100 - top-{k} accuracy)",
                  negate=True, cluster="identity", default=default)


def _topk_real(k: int) -> Metric:
    return Metric(f"top{k}_real", f"Top-{k} prot. real %", IDENTIFY_KINDS, f"hit{k}_real", True, "clustered-rate",
                  ("identify",), f"top-{k} protection over the pairs whose probe and genuine entry are different "
                  "photos (the real-photo subset of a set with synthetic variants, e.g. mini-1n-synthetic)",
                  negate=True, cluster="identity", default=True)


def _reconstruction(name: str, title: str, column: str, higher: bool, aggregation: str, description: str,
                    default: bool = True, level: str = "white-box") -> Metric:
    extra = {} if aggregation == "rate" else {"unit": "", "fmt": ".4g"}
    kinds = RECONSTRUCTION_KINDS if level == "white-box" else LEARNED_RECONSTRUCTION_KINDS
    how = "white-box (Level 2)" if level == "white-box" else "black-box (Level 1, RecFace)"
    return Metric(name, title, kinds, column, higher, aggregation, ("authorise",),
                  f"{description} ({how} reconstruction from the released feature z~, PMT Table VI)",
                  default=default, **extra)


def _attribute(name: str, title: str, higher: bool, description: str, default: bool = True) -> Metric:
    return Metric(name, title, ATTRIBUTE_KINDS, name, higher, "mean", ("authorise",),
                  f"{description} of the released x~ and the original x (PMT Table VIII analog; not DeepFace)",
                  unit="", fmt=".4g", default=default)


def _quality(name: str, title: str, higher: bool, description: str, aggregation: str = "mean") -> Metric:
    kinds = () if aggregation == "set" else (QUALITY_KIND,)
    return Metric(name, title, kinds, name, higher, aggregation, PROTOCOLS, description, unit="", fmt=".4g")


_ALL: list[Metric] = [
    _verify("asr", "impersonation", "impersonation success: protected faces accepted as the target"),
    _verify("psr", "dodging", "protection success: protected faces no longer match their owner"),
    _verify("esr", "erasion", "erasion success: restored faces no longer match the target"),
    _verify("esr_wrong", "erasion-wrong-key", "ESR of faces restored with a key they were not protected for"),
    _verify("rvr", "restoration", "restored faces verified as the source person"),
    Metric("sim", "SIM", ("impersonation", "dodging"), "similarity", True, "mean", ("verify",),
           "mean cosine similarity of protected faces and their reference", unit="", fmt=".4g"),
    _topk(1, True), _topk(5, True), _topk(10, False),
    Metric("apsr", "APSR %", IDENTIFY_KINDS, "hit1", True, "black-box-mean", ("identify",),
           "average top-1 protection over the targets that were not white-box for the run (weak controls, e.g. "
           "mobileface256, left out)",
           negate=True, cluster="identity"),
    _topk_real(1), _topk_real(5),
    Metric("accuracy", "Acc. %", AUTHORISE_KINDS, "correct", True, "rate", ("authorise",),
           "verification accuracy: genuine pairs accepted and impostor pairs rejected (authorised models "
           "should keep it high, unauthorised ones low), PMT eq. 10 at each model's calibrated threshold",
           default=True),
    Metric("accuracy_kappa", "Acc.@0.2 %", AUTHORISE_KAPPA_KINDS, "correct", True, "rate", ("authorise",),
           "PMT eq. 10 accuracy at the paper's kappa = 0.2 for every model", default=True),
    Metric("accuracy_float", "Acc. float %", AUTHORISE_KINDS, "correct_float", True, "rate", ("authorise",),
           "eq. 10 accuracy (calibrated threshold) of the float x~ before 8-bit quantisation (methods that release "
           "one, identity transform); beside `accuracy` it shows what the released PNG costs"),
    _reconstruction("rec_ssim", "Rec. SSIM", "ssim", False, "mean",
                    "SSIM of the reconstruction to the original face (lower: the face stays hidden)"),
    _reconstruction("rec_psnr", "Rec. PSNR", "psnr", False, "mean",
                    "PSNR (dB) of the reconstruction to the original face (lower: the face stays hidden)"),
    _reconstruction("rec_cos", "Rec. COS", "cos", True, "mean",
                    "cosine of the authorised model's embeddings of the reconstruction and the original"),
    _reconstruction("rec_srra", "Rec. SRRA %", "srra", True, "rate",
                    "reconstructions the authorised model still matches to the original at kappa 0.2"),
    _reconstruction("rec_srra_feat", "SRRA feat. %", "srra_feat", True, "rate",
                    "released features whose deep part E_s(z~) matches the original at kappa 0.2", default=False),
    _reconstruction("rec1_ssim", "Rec.L1 SSIM", "ssim", False, "mean",
                    "SSIM of the reconstruction to the original face (lower: the face stays hidden)",
                    level="black-box"),
    _reconstruction("rec1_psnr", "Rec.L1 PSNR", "psnr", False, "mean",
                    "PSNR (dB) of the reconstruction to the original face (lower: the face stays hidden)",
                    default=False, level="black-box"),
    _reconstruction("rec1_cos", "Rec.L1 COS", "cos", True, "mean",
                    "cosine of the authorised model's embeddings of the reconstruction and the original",
                    default=False, level="black-box"),
    _reconstruction("rec1_srra", "Rec.L1 SRRA %", "srra", True, "rate",
                    "reconstructions the authorised model still matches to the original at kappa 0.2",
                    default=False, level="black-box"),
    Metric("deob_accuracy", "Adaptive acc. %", DEOBFUSCATED_KINDS, "correct", True, "rate", ("authorise",),
           "PMT eq. 10 accuracy with D(x~1) in place of x~1, D a de-obfuscator trained on (x, PMT(x)) pairs of "
           "auxiliary faces (adaptive attacker, outside the paper's threat model; spec B6), calibrated threshold",
           default=True),
    Metric("deob_accuracy_kappa", "Adaptive acc.@0.2 %", DEOBFUSCATED_KAPPA_KINDS, "correct", True, "rate",
           ("authorise",), "the adaptive attacker's eq. 10 accuracy at kappa = 0.2 (outside the paper's threat "
           "model)"),
    Metric("deob_ssim", "Adaptive SSIM", DEOBFUSCATION_KINDS, "ssim", False, "mean", ("authorise",),
           "SSIM of the de-obfuscated D(x~) to the original face (lower: the face stays hidden; adaptive "
           "attacker, outside the paper's threat model)", unit="", fmt=".4g", default=True),
    Metric("deob_psnr", "Adaptive PSNR", DEOBFUSCATION_KINDS, "psnr", False, "mean", ("authorise",),
           "PSNR (dB) of D(x~) to the original face (adaptive attacker, outside the paper's threat model)",
           unit="", fmt=".4g"),
    Metric("up", "UP (AlexNet LPIPS)", UP_KINDS, "up", True, "mean", ("authorise",),
           "PMT eq. 9 UP(0.1, 0.3) of the released x~: utility [cos(f(x~+n), f(x+n')) > 0.3] for the authorised "
           "model plus privacy LPIPS (AlexNet, not the paper's VGG) of the noisy pair; range 0-2",
           unit="", fmt=".4g", default=True),
    Metric("up_utility", "UP utility", UP_KINDS, "utility", True, "mean", ("authorise",),
           "the utility term of UP: share of noisy x~ the authorised model matches to noisy x at kappa 0.3",
           unit="", fmt=".4g"),
    Metric("up_privacy", "UP privacy (AlexNet LPIPS)", UP_KINDS, "privacy", True, "mean", ("authorise",),
           "the privacy term of UP: AlexNet LPIPS between noisy x~ and noisy x", unit="", fmt=".4g"),
    _attribute("attr_emotion", "Emotion CosSim", False, "eq. 11 CosSim of the FER2013 emotion probabilities"),
    _attribute("attr_race", "Race CosSim", False, "eq. 11 CosSim of GEAR's race probabilities"),
    _attribute("attr_gender", "Gender CosSim", False, "eq. 11 CosSim of GEAR's gender probabilities"),
    _attribute("attr_age", "|d age| (yr)", True, "absolute difference of the SSR-Net ages (years)"),
    _attribute("attr_gender_xception", "Gender CosSim (Xception)", False,
               "eq. 11 CosSim of the mini-Xception gender probabilities", default=False),
    _attribute("attr_age_gear", "|d age| GEAR (yr)", True,
               "absolute difference of GEAR's ages (its 7 bins read as human reads them, years)", default=False),
    _quality("l1", "L1", False, "mean absolute pixel difference to the reference image"),
    _quality("mse", "MSE", False, "mean squared pixel difference to the reference image"),
    _quality("psnr", "PSNR", True, "peak signal-to-noise ratio to the reference image (dB)"),
    _quality("ssim", "SSIM", True, "structural similarity to the reference image"),
    _quality("lpips", "LPIPS", False, "learned perceptual distance to the reference image"),
    _quality("fid", "FID", False, "Frechet Inception distance of the image set to its reference set", "set"),
    _quality("kid", "KID", False, "kernel Inception distance of the image set to its reference set", "set"),
]
METRICS: dict[str, Metric] = {m.name: m for m in _ALL}


def metric(name: str) -> Metric:
    if name not in METRICS:
        raise BadInput(f"unknown metric {name!r}; available: {', '.join(METRICS)}")
    return METRICS[name]


def parse_metrics(text: str | Sequence[str]) -> list[str]:
    """Metric names from ``"asr,esr"`` or a list, each checked against the registry."""
    names = [m.strip() for m in (text.split(",") if isinstance(text, str) else text) if m.strip()]
    for name in names:
        metric(name)
    return names


def protocol_of(kinds: set[str]) -> str:
    """The protocol that produces score rows of these kinds."""
    if kinds & set(IDENTIFY_KINDS):
        return "identify"
    if kinds & set(AUTHORISE_KINDS + AUTHORISE_KAPPA_KINDS + RECONSTRUCTION_KINDS + LEARNED_RECONSTRUCTION_KINDS
                     + UP_KINDS + DEOBFUSCATED_KINDS + DEOBFUSCATION_KINDS + ATTRIBUTE_KINDS):
        return "authorise"
    return "verify"


def default_metric_names(protocol: str, kinds: set[str]) -> list[str]:
    """The run view's metrics: the protocol's default metrics whose rows are present."""
    if protocol not in PROTOCOLS:
        raise BadInput(f"unknown protocol {protocol!r}; available: {', '.join(PROTOCOLS)}")
    return [m.name for m in _ALL if m.default and protocol in m.protocols and set(m.kinds) & kinds]


def held_metrics(scores: pd.DataFrame, quality: pd.DataFrame, set_metrics: set[str]) -> list[str]:
    """Names of the metrics these rows (and these set-level values of the run cards) have values for."""
    held = []
    for m in _ALL:
        if m.aggregation == "set":
            present = m.name in set_metrics
        else:
            rows = quality if m.kinds == (QUALITY_KIND,) else scores
            if not rows.empty and "kind" in rows and m.kinds != (QUALITY_KIND,):
                rows = rows[rows["kind"].isin(m.kinds)]
            present = m.column in rows and bool(np.any(rows[m.column].notna()))
        if present:
            held.append(m.name)
    return held
