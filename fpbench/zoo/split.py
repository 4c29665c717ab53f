"""Split a face model into a shallow part E_c and a deep part E_s (PMT, spec B5.2).

``split(model, n)`` returns ``(E_c, E_s)`` with ``E_s(E_c(x)) == model(x)`` for canonical images x: E_c owns
the model's preprocessing (resize, dlib chip warp, colour order, normalisation) and its first ``n`` units,
E_s the remaining units, the head and the final L2 normalisation. ``E_c.layers(x)`` returns every shallow
unit's output in forward order (PMT's layer aggregation).

A *unit* is one computational unit in forward order [decision, spec B5.2]: the stem convolution (with its
activation, and a pooling that follows it) is unit 1, every residual / bottleneck / depthwise-separable unit
is one unit. So the paper's "first five layers" are ``n = 5``:

* mfn512: stem (s2), stem_dw, stage2[0] (s2), stage2[1], stage2[2] -> 64 x 28 x 28
* mobilefacenet: stem (s2), stem_depthwise, stem_pointwise, blocks[0] (s2), blocks[1] -> 64 x 28 x 28
* sface: stem, units[0], units[1] (s2), units[2], units[3] (s2) -> 256 x 28 x 28
* dlib-resnet29: stem + max-pool, blocks[0..2], blocks[3] (s2) -> 64 x 17 x 17
* hse-faceres(-deep): stem (s2), blocks[0..3] -> 256 x 28 x 28
* mobileface256: stem, its four units: the whole trunk (E_s is only the embedding layer)
* paper architectures: IR / IR-SE (input layer + body units), IResNet (stem + blocks), MobileFaceNet
  (paper layout), Inception-ResNet-v1 (stem convolutions, max-pool folded into the next one, then blocks).
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..errors import BadInput
from .model import FaceModel

#: PMT's "first five layers" [decision, spec B5.2]
DEFAULT_UNITS = 5


class Fn(nn.Module):
    """A parameter-free step (pooling, flattening) as a module, so that units can be listed."""

    def __init__(self, fn: Callable[[torch.Tensor], torch.Tensor], name: str) -> None:
        super().__init__()
        self.fn, self.name = fn, name

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(x)

    def extra_repr(self) -> str:
        return self.name


class Chain(nn.Module):
    """Modules applied in order (unlike ``nn.Sequential`` it may hold modules owned by another network)."""

    def __init__(self, *steps: nn.Module) -> None:
        super().__init__()
        self.steps = nn.ModuleList(steps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for step in self.steps:
            x = step(x)
        return x


def _channels_last(x: torch.Tensor) -> torch.Tensor:
    return x.contiguous(memory_format=torch.channels_last)


#: a backbone's units in forward order and the head after them: backbone(x) == head(units(x))
Layout = tuple[list[nn.Module], nn.Module]


def _mfn512(b: nn.Module) -> Layout:
    units = [Chain(Fn(_channels_last, "channels_last"), b.stem), b.stem_dw, *b.stage2, *b.stage3, *b.stage4]
    return units, Chain(b.head, b.gdc, Fn(lambda x: x.flatten(1), "flatten"), b.embedding)


def _mobilefacenet(b: nn.Module) -> Layout:
    units = [Chain(Fn(_channels_last, "channels_last"), b.stem), b.stem_depthwise, b.stem_pointwise, *b.blocks]
    return units, Chain(b.head, b.global_depthwise, b.linear, b.embedding, Fn(lambda x: x.flatten(1), "flatten"))


def _mobilenet_v1_face(b: nn.Module) -> Layout:
    units = [Chain(Fn(_channels_last, "channels_last"), b.stem), *b.units]
    return units, Chain(Fn(lambda x: x.flatten(1), "flatten"), b.embedding)


def _dlib(b: nn.Module) -> Layout:
    stem = Chain(Fn(_channels_last, "channels_last"), b.stem, Fn(F.relu, "relu"),
                 Fn(lambda x: F.max_pool2d(x, 3, 2), "max_pool 3 s2"))
    return [stem, *b.blocks], Chain(Fn(lambda x: x.mean(dim=(2, 3)), "global mean"), b.embedding)


def _hse_mobilenet(b: nn.Module) -> Layout:
    stem = Chain(Fn(_channels_last, "channels_last"), b.stem, b.act)
    return [stem, *b.blocks], Fn(lambda x: x.mean(dim=(2, 3)), "global mean")


def _mobileface_v3(b: nn.Module) -> Layout:
    stem = Chain(Fn(_channels_last, "channels_last"), b.stem, b.stem_act)
    return [stem, *b.units], Chain(Fn(lambda x: x.flatten(1), "flatten"), b.fc)


def _irse(b: nn.Module) -> Layout:
    return [b.input_layer, *b.body], b.output_layer


def _iresnet(b: nn.Module) -> Layout:
    blocks = [blk for stage in (b.layer1, b.layer2, b.layer3, b.layer4) for blk in stage]
    head = Chain(b.bn2, Fn(lambda x: x.flatten(1), "flatten"), b.fc, b.features)
    return [Chain(b.conv1, b.bn1, b.prelu), *blocks], head


def _mobilefacenet_paper(b: nn.Module) -> Layout:
    units = [b.conv1, b.conv2_dw, b.conv_23, *b.conv_3.model, b.conv_34, *b.conv_4.model, b.conv_45, *b.conv_5.model]
    return units, Chain(b.conv_6_sep, b.conv_6_dw, Fn(lambda x: x.flatten(1), "flatten"), b.linear, b.bn)


def _inception_resnet_v1(b: nn.Module) -> Layout:
    units = [b.conv2d_1a, b.conv2d_2a, b.conv2d_2b, Chain(b.maxpool_3a, b.conv2d_3b), b.conv2d_4a, b.conv2d_4b,
             *b.repeat_1, b.mixed_6a, *b.repeat_2, b.mixed_7a, *b.repeat_3, b.block8]
    return units, Chain(Fn(lambda x: x.mean(dim=(2, 3)), "global mean"), b.last_linear, b.last_bn)


def _layouts() -> dict[type, Callable[[nn.Module], Layout]]:
    from .arch import dlib_resnet, inception_resnet_v1, iresnet, irse, mobilefacenet_paper
    from .arch import mobilefacenet as mfn
    from .hse import MobileFaceV3, MobileNetV1
    from .mobilefacenet import MobileFaceNet as ExpoMobileFaceNet

    return {
        mfn.MobileFaceNet: _mfn512, mfn.MobileNetV1Face: _mobilenet_v1_face, ExpoMobileFaceNet: _mobilefacenet,
        dlib_resnet.DlibResNet29: _dlib, MobileNetV1: _hse_mobilenet, MobileFaceV3: _mobileface_v3,
        irse.IRBackbone: _irse, iresnet.IResNet: _iresnet, mobilefacenet_paper.MobileFaceNet: _mobilefacenet_paper,
        inception_resnet_v1.InceptionResnetV1: _inception_resnet_v1,
    }


def units(model: FaceModel) -> Layout:
    """The ordered units of ``model``'s backbone and its head; a BadInput for an architecture without a layout."""
    layout = _layouts().get(type(model.backbone))
    if layout is None:
        raise BadInput(f"model {model.card.name!r} ({type(model.backbone).__name__}) has no shallow/deep split; "
                       f"PMT can use: {', '.join(sorted(c.__name__ for c in _layouts()))}")
    return layout(model.backbone)


class Preprocess(nn.Module):
    """``model.preprocess`` as a module of its own (same buffers, same code), the input side of E_c."""

    forward = FaceModel.preprocess

    def __init__(self, model: FaceModel) -> None:
        super().__init__()
        self.card = model.card
        for name in ("_order", "_gain", "_bias"):
            self.register_buffer(name, getattr(model, name), persistent=False)

    @property
    def spec(self):  # noqa: ANN201  (FaceModel.preprocess reads it)
        return self.card.input


class Shallow(nn.Module):
    """E_c: canonical images -> the model's preprocessing -> its first n units (the shallow feature map)."""

    def __init__(self, model: FaceModel, shallow: list[nn.Module]) -> None:
        super().__init__()
        self.name = model.card.name
        self.preprocess = Preprocess(model)
        self.units = nn.ModuleList(shallow)

    def layers(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Every shallow unit's output, in forward order (the last one is ``forward(x)``)."""
        out, h = [], self.preprocess(x)
        for unit in self.units:
            h = unit(h)
            out.append(h)
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)[-1]


class Deep(nn.Module):
    """E_s: a shallow feature map -> the remaining units and head -> the unit-norm embedding."""

    def __init__(self, deep: list[nn.Module], head: nn.Module) -> None:
        super().__init__()
        self.units = nn.ModuleList(deep)
        self.head = head

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        for unit in self.units:
            z = unit(z)
        return F.normalize(self.head(z).flatten(1), dim=1)


def split(model: FaceModel, n: int = DEFAULT_UNITS) -> tuple[Shallow, Deep]:
    """(E_c, E_s) of ``model`` after its first ``n`` units; E_s(E_c(x)) equals model(x)."""
    all_units, head = units(model)
    if not 1 <= n <= len(all_units):
        raise BadInput(f"split of {model.card.name!r} must keep 1 to {len(all_units)} units on the user side, "
                       f"got {n}")
    return Shallow(model, all_units[:n]).eval(), Deep(all_units[n:], head).eval()
