"""Converters from the files shipped in registry packages to state dicts of the zoo architectures.

Each reader turns a foreign file into an ordered list of ``Layer`` records (convolutions, PReLUs and
linear layers with their float arrays and geometry); ``state_dict_in_order`` then walks the fpbench
module and gives each of its parametric layers the next record, checking kind, shapes, strides,
padding and groups, so a structural mismatch fails loudly instead of producing a wrong network.

Vanishing weights are set to zero: entries below 1e-12 of their tensor's largest magnitude (and float32
subnormals). BatchNorm folding over dead channels leaves such weights in some exports (187k of 1.2M in
mfn512); they leave the outputs bit-identical, but the subnormal products they cause make x86 CPUs several
times slower.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn as nn

from ..integrity import WeightsMismatch


@dataclass
class Layer:
    """One parametric layer read from a foreign file.

    ``kind`` is ``"conv"``, ``"prelu"`` or ``"linear"``; ``weight`` uses PyTorch's layout; ``geometry``
    holds ``stride``, ``padding`` and ``groups`` (pairs as tuples) for convolutions.
    """

    kind: str
    name: str
    weight: np.ndarray
    bias: np.ndarray | None = None
    geometry: dict[str, tuple[int, int] | int] = field(default_factory=dict)


#: relative magnitude below which a converted weight is set to zero (see the module docstring)
VANISHING = 1e-12

_KINDS = {nn.Conv2d: "conv", nn.PReLU: "prelu", nn.Linear: "linear"}


def state_dict_in_order(module: nn.Module, layers: list[Layer]) -> dict[str, torch.Tensor]:
    """The state dict of ``module`` filled from ``layers`` in module registration order."""
    targets = [(name, m) for name, m in module.named_modules() if type(m) in _KINDS]
    if len(targets) != len(layers):
        raise WeightsMismatch(
            f"{type(module).__name__} has {len(targets)} parametric layers, the file has {len(layers)}"
        )
    sd: dict[str, torch.Tensor] = {}
    for (name, m), layer in zip(targets, layers):
        kind = _KINDS[type(m)]
        where = f"{type(module).__name__}.{name} <- {layer.name}"
        if layer.kind != kind:
            raise WeightsMismatch(f"{where}: expected a {kind} layer, the file has a {layer.kind}")
        if kind == "conv":
            _check_geometry(m, layer, where)
        sd[f"{name}.weight"] = _tensor(layer.weight, m.weight.shape, where)
        if getattr(m, "bias", None) is not None:
            if layer.bias is None:
                raise WeightsMismatch(f"{where}: the module has a bias, the file has none")
            sd[f"{name}.bias"] = _tensor(layer.bias, m.bias.shape, where)
        elif layer.bias is not None and np.any(layer.bias):
            raise WeightsMismatch(f"{where}: the file has a non-zero bias the module cannot hold")
    return sd


def _check_geometry(conv: nn.Conv2d, layer: Layer, where: str) -> None:
    want = {"stride": tuple(conv.stride), "padding": tuple(conv.padding), "groups": conv.groups}
    got = {k: layer.geometry.get(k) for k in want}
    if got != want:
        raise WeightsMismatch(f"{where}: geometry {got} differs from the module's {want}")


def _tensor(a: np.ndarray, shape: torch.Size, where: str) -> torch.Tensor:
    if a.size != int(np.prod(shape)) or (a.ndim == len(shape) and tuple(a.shape) != tuple(shape)):
        raise WeightsMismatch(f"{where}: shape {tuple(a.shape)} does not fit {tuple(shape)}")
    t = torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32).reshape(tuple(shape)))
    largest = float(t.abs().max()) if t.numel() else 0.0
    threshold = max(largest * VANISHING, torch.finfo(torch.float32).tiny)
    return t.masked_fill(t.abs() < threshold, 0.0)
