"""The U-Net of the learned attackers: RecFace R: z -> x (PMT's Level 1, "following Wang et al. CVPR 2023", spec
B2.6) and the adaptive de-obfuscator D: x~ -> x (spec B6, same network with an image input).

Architecture [decision; a labelled approximation of the PPAF/RecFace U-Net, whose exact layers PMT does not
give]: an input stem to the working resolution r (a shallow feature map C x r x r: one 3x3 conv; an image:
a 112 px block then two stride-2 blocks down to r = 28, the 112 and 56 px outputs kept as skips), two conv
levels at r with a skip
(r -> r/2 -> r), then ceil(log2(112 / r)) x2 upsampling stages (bilinear + two 3x3 convs; an image input's
stem skip of the same size is concatenated), a final resize when 112 / r is no power of two, and a 1x1 conv
with a sigmoid to [0, 1] RGB. Every conv block is conv - BatchNorm - ReLU.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

OUT_SIZE = 112


def block(n_in: int, n_out: int, stride: int = 1) -> nn.Sequential:
    """Two 3x3 conv - BN - ReLU layers (the first with ``stride``)."""
    return nn.Sequential(nn.Conv2d(n_in, n_out, 3, stride, 1, bias=False), nn.BatchNorm2d(n_out), nn.ReLU(True),
                         nn.Conv2d(n_out, n_out, 3, 1, 1, bias=False), nn.BatchNorm2d(n_out), nn.ReLU(True))


class RecNet(nn.Module):
    """(N, C, r, r) shallow features, or (N, 3, 112, 112) images when ``image_input``, -> (N, 3, 112, 112) in [0, 1]."""

    def __init__(self, in_channels: int, in_size: int, width: int = 64, image_input: bool = False,
                 out_size: int = OUT_SIZE) -> None:
        super().__init__()
        self.out_size, self.image_input = out_size, image_input
        self.stem = nn.ModuleList()
        skips: list[int] = []  # channels of the stem outputs kept for the upsampling path (image input)
        if image_input:  # 112 (stride 1) -> 56 -> 28; the 112 and 56 px outputs are the upsampling path's skips
            widths = [max(16, width // 4), max(16, width // 2)]
            self.stem.extend([block(in_channels, widths[0]), block(widths[0], widths[1], 2),
                              block(widths[1], width, 2)])
            skips = widths
            level = in_size // 4
        else:
            self.stem.append(block(in_channels, width))
            level = in_size
        self.down = block(width, 2 * width, 2)
        self.merge = block(3 * width, width)
        self.ups = nn.ModuleList()
        self.skip_channels = list(reversed(skips))
        n_in = width
        for k in range(max(0, math.ceil(math.log2(out_size / level)))):
            n_out = max(16, n_in // 2)
            extra = self.skip_channels[k] if k < len(self.skip_channels) else 0
            self.ups.append(block(n_in + extra, n_out))
            n_in = n_out
        self.head = nn.Conv2d(n_in, 3, 1)

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        skips = []
        h = v
        for k, layer in enumerate(self.stem):
            h = layer(h)
            if self.image_input and k < len(self.stem) - 1:
                skips.append(h)
        low = self.down(h)
        h = self.merge(torch.cat([h, F.interpolate(low, size=h.shape[-2:], mode="bilinear", align_corners=False)], 1))
        skips.reverse()
        for k, up in enumerate(self.ups):
            h = F.interpolate(h, scale_factor=2, mode="bilinear", align_corners=False)
            if k < len(skips):
                h = torch.cat([h, F.interpolate(skips[k], size=h.shape[-2:], mode="bilinear", align_corners=False)], 1)
            h = up(h)
        if h.shape[-1] != self.out_size:
            h = F.interpolate(h, size=(self.out_size, self.out_size), mode="bilinear", align_corners=False)
        return torch.sigmoid(self.head(h))
