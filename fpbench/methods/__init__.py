"""Protection methods, registered by name."""
from ..registry import Registry
from .base import Method, ProtectContext

METHODS: Registry[type[Method]] = Registry("method", "fpbench.methods")

__all__ = ["METHODS", "Method", "ProtectContext"]
