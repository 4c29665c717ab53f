"""Protection methods, registered by name."""
from ..registry import Registry
from .base import Method, ProtectContext

METHODS: Registry[type[Method]] = Registry("method", "fpbench.methods")

__all__ = ["METHODS", "Method", "ProtectContext"]

from . import advcloak, controls, erasablemask, gap, gmaa, gradient, opom, pmt  # noqa: E402,F401  registers the built-in methods
from .torchattacks_adapter import attack_method  # noqa: E402

METHODS.add_family("torchattacks", attack_method, "any torchattacks attack on the surrogates, in embedding space "
                                                  "(pip install 'fpbench[torchattacks]')")
