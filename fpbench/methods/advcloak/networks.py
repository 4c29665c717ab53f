"""AdvCloak's generator and patch discriminator (spec A2.1; the fork's ``models.py``, mirroring AdvFaces).

Both read images normalised as the official code feeds them, x_n = (x_255 - 127.5) / 128 (``normalise``). The
generator returns a perturbation p in [-1, 1] read in [0, 1] image units: x_adv = clip(x + p, 0, 1) with x the
canonical [0, 1] image. At ngf 64 the generator has 7.28 M parameters (its layer norms are tied to 112 px crops).
"""
from __future__ import annotations

import torch
import torch.nn as nn

from ...training import derive_seed

SIZE = 112  # the generator's layer norms are shaped for 112 px crops


def normalise(x: torch.Tensor) -> torch.Tensor:
    """Canonical [0, 1] images as the official code feeds its networks: (x_255 - 127.5) / 128."""
    return (x * 255 - 127.5) / 128


class ResnetBlock(nn.Module):
    """[reflection pad, 3x3 conv without bias, batch norm, ReLU] x 2 (no ReLU after the second) + identity."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=False), nn.BatchNorm2d(dim), nn.ReLU(True),
            nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=False), nn.BatchNorm2d(dim),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class Generator(nn.Module):
    """Encoder (7x7 conv, two 4x4/s2 convs, instance norm), 3 residual blocks, decoder (two 4x4/s2 transposed
    convs with layer norm, a 7x7 transposed conv) and tanh: a perturbation the size of its input."""

    def __init__(self, ngf: int = 64, size: int = SIZE) -> None:
        super().__init__()
        self.ngf = ngf
        self.net = nn.Sequential(
            nn.Conv2d(3, ngf, 7, 1, 3), nn.InstanceNorm2d(ngf), nn.ReLU(True),
            nn.Conv2d(ngf, 2 * ngf, 4, 2, 1), nn.InstanceNorm2d(2 * ngf), nn.ReLU(True),
            nn.Conv2d(2 * ngf, 4 * ngf, 4, 2, 1), nn.InstanceNorm2d(4 * ngf), nn.ReLU(True),
            *(ResnetBlock(4 * ngf) for _ in range(3)),
            nn.ConvTranspose2d(4 * ngf, 2 * ngf, 4, 2, 1, bias=False), nn.LayerNorm([2 * ngf, size // 2, size // 2]),
            nn.ReLU(True),
            nn.ConvTranspose2d(2 * ngf, ngf, 4, 2, 1, bias=False), nn.LayerNorm([ngf, size, size]), nn.ReLU(True),
            nn.ConvTranspose2d(ngf, 3, 7, 1, 3, bias=False), nn.Tanh(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The perturbation p (N, 3, H, W) in [-1, 1] of canonical images ``x`` ([0, 1])."""
        return self.net(normalise(x))


class Discriminator(nn.Module):
    """AdvFaces' patch discriminator: 4x4/s2 convs 3-32-64-128-256 (batch norm; leaky ReLU from the third),
    a 3x3/s2 conv to 512 and a 1x1 conv: 16 real/fake logits per 112 px image (flattened)."""

    def __init__(self) -> None:
        super().__init__()

        def bn(c: int) -> nn.BatchNorm2d:  # TF constants copied literally (spec A2.1, Part D 4)
            return nn.BatchNorm2d(c, eps=1e-3, momentum=0.995)

        act = lambda: nn.LeakyReLU(0.2, True)  # noqa: E731
        self.net = nn.Sequential(
            nn.Conv2d(3, 32, 4, 2, 1), bn(32),
            nn.Conv2d(32, 64, 4, 2, 1), bn(64),
            nn.Conv2d(64, 128, 4, 2, 1), bn(128), act(),
            nn.Conv2d(128, 256, 4, 2, 1), bn(256), act(),
            nn.Conv2d(256, 512, 3, 2, 1), bn(512), act(),
            nn.Conv2d(512, 1, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Patch logits (N, 16) of canonical images ``x`` ([0, 1])."""
        return self.net(normalise(x)).flatten(1)


def kaiming_init(module: nn.Module) -> None:
    """The official ``weights_init``: Kaiming-normal weights for every (transposed) convolution."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.kaiming_normal_(m.weight)


def make_networks(ngf: int, seed: int, output_gain: float = 1.0) -> tuple[Generator, Discriminator]:
    """A freshly initialised generator (Kaiming, as stage I does) and discriminator (PyTorch default), drawn
    from generators seeded by ``seed`` only, so every run with the same seed starts from the same weights.
    ``output_gain`` scales the last layer's weights: at 1 (the code) the tanh starts saturated (a raw
    perturbation of L2 ~80 on 112 px faces), which a short CPU training spends its steps shrinking."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(derive_seed(seed, "advcloak", "init"))
        g, d = Generator(ngf), Discriminator()
        kaiming_init(g)
    with torch.no_grad():
        g.net[-2].weight.mul_(output_gain)  # the last transposed conv, before the tanh
    return g, d


def parameter_count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
