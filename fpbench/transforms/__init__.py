"""The processing channel between protection and recognition: canonical images -> canonical images.

Families (registered in ``TRANSFORMS``): identity, jpeg, gauss, resize, median, rotate, crop. Build one
with ``make_transform("jpeg50")`` or a chain with ``make_transform("jpeg50+gauss0.003")``.
"""
from . import geometry, jpeg, pixel  # noqa: F401  (registers the built-in families)
from .base import TRANSFORMS, Transform
from .chain import DEFAULT_CHANNEL, Chain, make_transform
from .family import TransformError

__all__ = ["DEFAULT_CHANNEL", "TRANSFORMS", "Chain", "Transform", "TransformError", "make_transform"]
