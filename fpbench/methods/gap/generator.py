"""GAP's ResnetGenerator (official code, ``material/models/generators.py``, universal mode) and the
per-channel L-infinity scaling of its output (``normalize_and_scale``), in fpbench's [0, 1] image units.

Topology: ReflectionPad 3 + Conv 7x7 -> 2 x (Conv 3x3 stride 2) -> ``blocks`` residual blocks -> 2 x
(ConvTranspose 3x3 stride 2, output padding 1) -> ReflectionPad 3 + Conv 7x7 (with bias) -> Tanh; BatchNorm
and ReLU after every inner convolution, convolutions without bias (the code's ``norm='batch'``), no dropout.
Init: convolutions N(0, 0.02), BatchNorm weights N(1, 0.02), biases 0 (the code's ``weights_init``), drawn
from a seeded generator so two builds with one seed are identical.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from ..advcloak.networks import ResnetBlock  # the same residual block (AdvCloak spec A2.1, GAP A4.1)


class ResnetGenerator(nn.Module):
    """3 -> 3 channels at any side divisible by 4; output in [-1, 1]."""

    def __init__(self, ngf: int = 64, blocks: int = 6) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(3, ngf, 7, bias=False), nn.BatchNorm2d(ngf),
                                   nn.ReLU(True)]
        for mult in (1, 2):
            layers += [nn.Conv2d(ngf * mult, ngf * mult * 2, 3, stride=2, padding=1, bias=False),
                       nn.BatchNorm2d(ngf * mult * 2), nn.ReLU(True)]
        layers += [ResnetBlock(ngf * 4) for _ in range(blocks)]
        for mult in (4, 2):
            layers += [nn.ConvTranspose2d(ngf * mult, ngf * mult // 2, 3, stride=2, padding=1, output_padding=1,
                                          bias=False),
                       nn.BatchNorm2d(ngf * mult // 2), nn.ReLU(True)]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, 3, 7), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


@torch.no_grad()
def init_weights(net: nn.Module, generator: torch.Generator) -> None:
    """The GAP code's ``weights_init`` with a seeded generator."""
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            m.weight.copy_(torch.randn(m.weight.shape, generator=generator) * 0.02)
            if m.bias is not None:
                m.bias.zero_()
        elif isinstance(m, nn.BatchNorm2d):
            m.weight.copy_(1 + torch.randn(m.weight.shape, generator=generator) * 0.02)
            m.bias.zero_()


def scale_linf(t: torch.Tensor, linf: float) -> torch.Tensor:
    """Per image and channel, shrink ``t`` (N, C, H, W) so that max |t| <= ``linf`` (never enlarge it): GAP's
    ``normalize_and_scale`` (``x * min(1, mag_in / max|x|)``), with the max detached as in the code."""
    peak = t.detach().abs().amax(dim=(2, 3), keepdim=True).clamp_min(1e-12)
    return t * torch.clamp(linf / peak, max=1.0)
