"""GAP (Poursaeed et al., CVPR 2018), universal mode, adapted to faces (spec A4.1): one mask for everyone."""
from . import method  # noqa: F401  registers "gap"
