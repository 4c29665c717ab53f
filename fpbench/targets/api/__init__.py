"""Commercial face-compare APIs as targets (``--target facepp``, ``tencent``, ``aliyun``, ``rekognition``,
``azure``, ``baidu``): one module per vendor on the shared ``ApiTarget`` (``base``). Credentials come only
from each vendor's usual environment variables; ``fpbench serve VENDOR`` runs a local mock of each contract."""
from __future__ import annotations

from .base import ApiTarget
from .facepp import FacePP
from .tencent import Tencent

#: target name -> adapter class (each module registers its adapter in ``fpbench.targets.TARGETS``)
ADAPTERS: dict[str, type[ApiTarget]] = {cls.name: cls for cls in (FacePP, Tencent)}
