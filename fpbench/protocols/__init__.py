"""Evaluation protocols, registered by name (see ``base.Protocol``)."""
from .base import PROTOCOLS, Item, Protocol, protocol_for

__all__ = ["PROTOCOLS", "Item", "Protocol", "protocol_for"]

from . import authorise, identify, verify  # noqa: E402,F401  registers the built-in protocols
