"""The OPOM family (spec A4.3): FIM (image-specific), FI-UAP, FI-UAP+ and OPOM-{AffineHull, ClassCenter,
ConvexHull} (person-specific), each registered in its own module, sharing the loop of ``loop``."""
from . import fi_uap, fim, hulls  # noqa: F401  registers the methods
