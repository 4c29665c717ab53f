"""Read a TensorFlow.js graph model (``model.json`` + ``.bin`` shards) with NumPy (conversion time only).

``read_tfjs_graph`` decodes the weights (float32/int32, or float16-quantised and widened to float32) and
the nodes. ``read_tfjs_layers`` walks the nodes that an output depends on, in file order, and returns the
parametric layers in PyTorch layout: a convolution or matmul absorbs the per-channel ``Mul``/``Add`` chain
that follows it (BatchNorm and bias), a ``Pad`` in front of a "VALID" convolution becomes its padding, and
``gamma * min(x, 0)`` is the slope of a PReLU. Nothing here runs the graph.
"""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..integrity import WeightsMismatch
from . import Layer
from .tf_same import same_kernel

_DTYPES = {"float32": np.float32, "int32": np.int32}
_CONVS = ("Conv2D", "DepthwiseConv2dNative")
_AFFINE = ("Mul", "Add", "AddV2", "BiasAdd")


@dataclass
class TFJSGraph:
    """Nodes of a graph model in file order, its constant weights by name, and who consumes each node."""

    nodes: list[dict[str, Any]]
    weights: dict[str, np.ndarray]
    by_name: dict[str, dict[str, Any]] = field(init=False)
    consumers: dict[str, list[dict[str, Any]]] = field(init=False)

    def __post_init__(self) -> None:
        self.by_name = {n["name"]: n for n in self.nodes}
        self.consumers = {}
        for n in self.nodes:
            for i in inputs(n):
                self.consumers.setdefault(i, []).append(n)

    def ops(self, *kinds: str) -> list[dict[str, Any]]:
        """Nodes whose op is one of ``kinds``, in file order."""
        return [n for n in self.nodes if n["op"] in kinds]

    def weight(self, name: str) -> np.ndarray:
        if name not in self.weights:
            raise WeightsMismatch(f"TFJS graph has no weight {name!r}; is this the expected model file?")
        return self.weights[name]


def inputs(node: dict[str, Any]) -> list[str]:
    """Names of a node's data inputs (control inputs and output indices dropped)."""
    return [i.split(":")[0] for i in node.get("input", []) if not i.startswith("^")]


def read_tfjs_graph(model_json: Path) -> TFJSGraph:
    """Parse ``model_json`` and the weight shards it lists (expected next to it)."""
    spec = json.loads(model_json.read_text())
    weights: dict[str, np.ndarray] = {}
    for group in spec["weightsManifest"]:
        blob = b"".join((model_json.parent / p).read_bytes() for p in group["paths"])
        offset = 0
        for w in group["weights"]:
            weights[w["name"]], offset = _decode(blob, offset, w)
        if offset != len(blob):
            raise WeightsMismatch(f"{model_json.name}: manifest covers {offset} of {len(blob)} shard bytes")
    return TFJSGraph(spec["modelTopology"]["node"], weights)


def read_tfjs_layers(graph: TFJSGraph, output: str, name: str) -> list[Layer]:
    """Convolution, PReLU and linear layers that ``output`` depends on, in file order (``name`` labels errors)."""
    needed, todo = set(), [output]
    while todo:
        n = todo.pop()
        if n not in needed and n in graph.by_name:
            needed.add(n)
            todo += inputs(graph.by_name[n])
    if output not in needed:
        raise WeightsMismatch(f"{name}: the graph has no node {output!r}")
    layers = []
    for node in (n for n in graph.nodes if n["name"] in needed):
        where = f"{name} node {node['name']!r}"
        if node["op"].startswith(("_Fused", "Fused")):
            raise WeightsMismatch(f"{where}: fused {node['op']} is not supported")
        if node["op"] in _CONVS:
            layers.append(_conv(graph, node, where))
        elif node["op"] == "MatMul":
            if node_attr(node, "transpose_a") or node_attr(node, "transpose_b"):
                raise WeightsMismatch(f"{where}: transposed MatMul operands are not supported")
            weight = graph.weight(inputs(node)[1]).T.astype(np.float64)
            weight, bias = _fold_affine(graph, node, weight, np.zeros(weight.shape[0]))
            layers.append(Layer("linear", where, weight.astype(np.float32), bias.astype(np.float32)))
        elif node["op"] == "Mul" and _is_prelu_slope(graph, node):
            layers.append(Layer("prelu", where, _const_operand(graph, node)[1].reshape(-1)))
    return layers


def node_attr(node: dict[str, Any], key: str, default: Any = None) -> Any:
    """A node attribute as a Python value (strings decoded, lists as lists)."""
    a = node.get("attr", {}).get(key)
    if a is None:
        return default
    if "list" in a:
        items = a["list"]
        if "s" in items:
            return [base64.b64decode(v).decode() for v in items["s"]]
        return [int(v) for v in items.get("i", [])]
    if "s" in a:
        return base64.b64decode(a["s"]).decode()
    if "i" in a:
        return int(a["i"])
    return a.get("b", a)


def _conv(graph: TFJSGraph, node: dict[str, Any], where: str) -> Layer:
    strides, dilations = node_attr(node, "strides"), node_attr(node, "dilations", [1, 1, 1, 1])
    if node_attr(node, "data_format", "NHWC") != "NHWC" or strides[1] != strides[2] or dilations != [1, 1, 1, 1]:
        raise WeightsMismatch(f"{where}: only NHWC, square strides and no dilation are supported")
    stride = strides[1]
    kernel = graph.weight(inputs(node)[1])
    depthwise = node["op"] == "DepthwiseConv2dNative"
    if depthwise and kernel.shape[3] != 1:
        raise WeightsMismatch(f"{where}: depth multiplier {kernel.shape[3]} is not supported")
    # TF kernels: conv (H, W, I, O), depthwise (H, W, C, 1)  ->  PyTorch (O, I / groups, H, W)
    weight = kernel.transpose(2, 3, 0, 1) if depthwise else kernel.transpose(3, 2, 0, 1)
    padding = node_attr(node, "padding")
    if padding == "SAME":
        weight, pad = same_kernel(weight, stride, where)
    elif padding == "VALID":
        pad = _explicit_padding(graph, graph.by_name.get(inputs(node)[0]), where)
    else:
        raise WeightsMismatch(f"{where}: padding {padding!r} is not supported")
    weight, bias = _fold_affine(graph, node, weight.astype(np.float64), np.zeros(weight.shape[0]))
    groups = weight.shape[0] if depthwise else 1
    geometry = {"stride": (stride, stride), "padding": pad, "groups": groups}
    return Layer("conv", where, weight.astype(np.float32), bias.astype(np.float32), geometry)


def _explicit_padding(graph: TFJSGraph, producer: dict[str, Any] | None, where: str) -> tuple[int, int]:
    """The symmetric spatial padding of a ``Pad`` feeding a "VALID" convolution, else (0, 0)."""
    if producer is None or producer["op"] != "Pad":
        return (0, 0)
    (n0, n1), (top, bottom), (left, right), (c0, c1) = graph.weight(inputs(producer)[1]).tolist()
    if top != bottom or left != right or n0 or n1 or c0 or c1 or len(graph.consumers[producer["name"]]) != 1:
        raise WeightsMismatch(f"{where}: only a symmetric spatial Pad feeding this convolution alone is supported")
    return (top, left)


def _fold_affine(
    graph: TFJSGraph, node: dict[str, Any], weight: np.ndarray, bias: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Fold the chain of per-channel ``Mul``/``Add`` constants after ``node`` into (weight, bias)."""
    while True:
        users = graph.consumers.get(node["name"], [])
        if len(users) != 1 or users[0]["op"] not in _AFFINE:
            return weight, bias
        operand = _const_operand(graph, users[0])
        if operand is None or operand[1].shape != (weight.shape[0],):
            return weight, bias
        value = operand[1].astype(np.float64)
        if users[0]["op"] == "Mul":
            weight = weight * value.reshape(-1, *([1] * (weight.ndim - 1)))
            bias = bias * value
        else:
            bias = bias + value
        node = users[0]


def _const_operand(graph: TFJSGraph, node: dict[str, Any]) -> tuple[str, np.ndarray] | None:
    """(name, value) of the single constant input of a binary node, if it has exactly one."""
    consts = [i for i in inputs(node) if i in graph.weights]
    return (consts[0], graph.weights[consts[0]]) if len(consts) == 1 and len(inputs(node)) == 2 else None


def _is_prelu_slope(graph: TFJSGraph, node: dict[str, Any]) -> bool:
    """``gamma * min(x, 0)``: a per-channel constant times a ``Minimum`` with a zero constant."""
    operand = _const_operand(graph, node)
    other = [graph.by_name.get(i) for i in inputs(node) if i not in graph.weights]
    if operand is None or operand[1].ndim != 1 or not other or other[0] is None or other[0]["op"] != "Minimum":
        return False
    zero = _const_operand(graph, other[0])
    return zero is not None and not np.any(zero[1])


def _decode(blob: bytes, offset: int, w: dict[str, Any]) -> tuple[np.ndarray, int]:
    shape = [int(d) for d in w["shape"]]
    count = int(np.prod(shape)) if shape else 1
    q = w.get("quantization")
    if q:
        if q["dtype"] != "float16":
            raise WeightsMismatch(f"weight {w['name']}: unsupported quantisation {q['dtype']}")
        raw = np.frombuffer(blob, np.float16, count, offset)
        offset += raw.nbytes
        values = raw.astype(np.float32)
    else:
        if w["dtype"] not in _DTYPES:
            raise WeightsMismatch(f"weight {w['name']}: unsupported dtype {w['dtype']}")
        values = np.frombuffer(blob, _DTYPES[w["dtype"]], count, offset).copy()
        offset += values.nbytes
    return values.reshape(shape), offset
