"""What is sent: the protected face encoded losslessly (PNG) by default, or as JPEG at a stated quality,
upscaled by pixel replication (an integer factor, no interpolation: the perturbation arrives intact) to the
vendor's minimum image side."""
from __future__ import annotations

import hashlib
import io
import math
import re
from dataclasses import dataclass

import torch
from PIL import Image

from ...errors import BadInput
from ...images import to_uint8


@dataclass(frozen=True)
class Encoding:
    """``png`` or ``jpeg`` with a quality; parsed from the target option ``format=png|jpeg95|jpeg:95``."""

    format: str = "png"
    quality: int | None = None

    @classmethod
    def parse(cls, text: str, target: str) -> "Encoding":
        t = text.strip().lower().replace(":", "")
        if t == "png":
            return cls()
        m = re.fullmatch(r"jpe?g(\d{1,3})?", t)
        if m and 1 <= int(m.group(1) or 95) <= 100:
            return cls("jpeg", int(m.group(1) or 95))
        raise BadInput(f"target {target}: format={text!r} is not png or jpeg:QUALITY (1-100), e.g. format=jpeg:95")

    @property
    def label(self) -> str:
        return "png" if self.format == "png" else f"jpeg:{self.quality}"


@dataclass(frozen=True)
class Sent:
    """One encoded image: its bytes and what the card records about them."""

    data: bytes
    width: int
    height: int
    upscale: int

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def encode(x: torch.Tensor, encoding: Encoding, min_side: int) -> Sent:
    """Encode one canonical image (3, S, S), replicated ``ceil(min_side / S)`` times per side."""
    arr = to_uint8(x.unsqueeze(0) if x.ndim == 3 else x)[0]
    factor = max(1, math.ceil(min_side / min(arr.shape[:2])))
    img = Image.fromarray(arr)
    if factor > 1:
        img = img.resize((img.width * factor, img.height * factor), Image.NEAREST)
    buf = io.BytesIO()
    if encoding.format == "png":
        img.save(buf, format="PNG")
    else:
        img.save(buf, format="JPEG", quality=encoding.quality, subsampling=0)
    return Sent(buf.getvalue(), img.width, img.height, factor)
