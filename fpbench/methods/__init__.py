"""Protection methods, registered by name."""
from ..registry import Registry
from .base import Method, ProtectContext

METHODS: Registry[type[Method]] = Registry("method", "fpbench.methods")

__all__ = ["METHODS", "Method", "ProtectContext"]

from . import controls, erasablemask, gmaa, gradient, opom, pmt  # noqa: E402,F401  registers the built-in methods
