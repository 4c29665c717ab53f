"""Read a serialised dlib DNN (``*.dat`` written by ``dlib::serialize``) in pure Python.

dlib writes a network input layer first; each layer is its type name as a dlib string followed by its
fields (integers in dlib's compact encoding, tensors as a header plus raw little-endian float32). The
reader finds each known layer name after the previous layer's fields and decodes the fields fpbench needs;
everything else (learning-rate multipliers, cached gradients, tag layers) is skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..integrity import WeightsMismatch

#: dlib layer type names fpbench reads (tag, skip and loss layers carry no parameters and are skipped)
_NAMES = ("input_rgb_image_sized", "con_4", "affine_", "relu_", "max_pool_2", "avg_pool_2", "add_prev_", "fc_2")
_PATTERN = re.compile(b"|".join(re.escape(b"\x01" + bytes([len(n)]) + n.encode()) for n in _NAMES))


@dataclass
class DlibLayer:
    """``kind`` is the dlib type name without its version suffix (``con``, ``affine``, ``max_pool``, ...).

    ``params`` is the layer's parameter tensor flattened; ``shape`` its dlib (n, k, nr, nc) shape;
    ``geometry`` the integers that describe it (con: filters, rows, cols, stride y/x, padding y/x;
    pools: rows, cols, stride y/x, padding y/x; fc: outputs, inputs).
    """

    kind: str
    params: np.ndarray
    shape: tuple[int, ...]
    geometry: tuple[int, ...]


class _Reader:
    def __init__(self, data: bytes, pos: int) -> None:
        self.data, self.pos = data, pos

    def int(self) -> int:
        head = self.data[self.pos]
        size, negative = head & 0x0F, head & 0x80
        value = int.from_bytes(self.data[self.pos + 1 : self.pos + 1 + size], "little")
        self.pos += 1 + size
        return -value if negative else value

    def ints(self, n: int) -> tuple[int, ...]:
        return tuple(self.int() for _ in range(n))

    def tensor(self) -> tuple[np.ndarray, tuple[int, ...]]:
        version = self.int()
        if version != 2:
            raise WeightsMismatch(f"dlib tensor format version {version} is not supported (expected 2)")
        shape = self.ints(4)
        count = int(np.prod(shape))
        values = np.frombuffer(self.data, "<f4", count, self.pos).copy()
        self.pos += 4 * count
        return values, shape


def read_dlib_layers(path: Path) -> list[DlibLayer]:
    """The layers of a dlib network file, input side first."""
    data = Path(path).read_bytes()
    if b"loss_metric" not in data[:64]:
        raise WeightsMismatch(f"{Path(path).name} is not a dlib metric-learning network file")
    layers: list[DlibLayer] = []
    pos = 0
    while (match := _PATTERN.search(data, pos)) is not None:
        name = match.group()[2:].decode()
        kind = name.rstrip("_0123456789") if name != "input_rgb_image_sized" else "input"
        r = _Reader(data, match.end())
        params, shape, geometry = np.zeros(0, np.float32), (), ()
        if kind in ("con", "affine"):
            params, shape = r.tensor()
            geometry = r.ints(7) if kind == "con" else ()
        elif kind in ("max_pool", "avg_pool"):
            geometry = r.ints(6)
        elif kind == "fc":
            geometry = r.ints(2)
            params, shape = r.tensor()
        layers.append(DlibLayer(kind, params, shape, geometry))
        pos = r.pos
    return layers
