"""TensorFlow "SAME" convolution padding as plain PyTorch convolutions.

TF pads a "SAME" convolution by ``total // 2`` before and the rest after, ``total = max((ceil(n / s) - 1) * s
+ k - n, 0)``. With stride 1 and an odd kernel that is PyTorch's symmetric ``k // 2``. A 3x3 stride-2
convolution on an even size pads 0 before and 1 after; PyTorch pads symmetrically only, so its kernel is
stored as 4x4 with a zero first row and column and padded by 1 on both sides. The outputs are identical and
no padded copy of the activation is made. This holds for the even feature-map sizes of the fixed-size models
that use it.
"""
from __future__ import annotations

import numpy as np
import torch.nn as nn

from ..integrity import WeightsMismatch


def same_conv2d(cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1, bias: bool = True) -> nn.Conv2d:
    """The ``nn.Conv2d`` computing a TF "SAME" convolution of the given kernel size and stride."""
    if stride == 1 and kernel % 2:
        return nn.Conv2d(cin, cout, kernel, 1, kernel // 2, groups=groups, bias=bias)
    if stride == 2 and kernel == 3:
        return nn.Conv2d(cin, cout, 4, 2, 1, groups=groups, bias=bias)
    raise ValueError(f"no TF 'SAME' equivalent for kernel {kernel}, stride {stride}")


def same_kernel(weight: np.ndarray, stride: int, where: str) -> tuple[np.ndarray, tuple[int, int]]:
    """An OIHW kernel of a TF "SAME" convolution, adapted for ``same_conv2d``, and its PyTorch padding."""
    k = weight.shape[-1]
    if weight.shape[-2] != k:
        raise WeightsMismatch(f"{where}: non-square kernel {weight.shape[-2:]}")
    if stride == 1 and k % 2:
        return weight, (k // 2, k // 2)
    if stride == 2 and k == 3:
        return np.pad(weight, ((0, 0), (0, 0), (1, 0), (1, 0))), (1, 1)
    raise WeightsMismatch(f"{where}: no PyTorch equivalent of TF 'SAME' padding for kernel {k}, stride {stride}")
