"""Commercial face-compare APIs as targets (``--target facepp``, ``tencent``, ``aliyun``, ``rekognition``,
``azure``, ``baidu``): one module per vendor on the shared ``ApiTarget`` (``base``). Credentials come only
from each vendor's usual environment variables; ``fpbench serve VENDOR`` runs a local mock of each contract."""
from __future__ import annotations

from .aliyun import Aliyun
from .azure import Azure
from .baidu import Baidu
from .base import ApiTarget
from .facepp import FacePP
from .rekognition import Rekognition
from .tencent import Tencent

#: target name -> adapter class (each module registers its adapter in ``fpbench.targets.TARGETS``)
ADAPTERS: dict[str, type[ApiTarget]] = {cls.name: cls for cls in (FacePP, Tencent, Aliyun, Rekognition, Azure, Baidu)}
