"""PMT and MR-PMT (Pu et al., "Facial Data Minimization: Shallow Model as Your Privacy Filter")."""
from .algorithm import Settings, obfuscate
from .method import MRPMT, PMT

__all__ = ["MRPMT", "PMT", "Settings", "obfuscate"]
