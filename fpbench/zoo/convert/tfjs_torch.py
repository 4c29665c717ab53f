"""A TensorFlow.js graph model as a PyTorch module: its nodes run in file order as torch ops on NHWC tensors.

For graphs whose structure is not a fixed backbone (fused ops, SSR-Net's stage arithmetic, several heads),
re-expressing each node is simpler and safer than a hand-written architecture: ``TFJSGraphModule`` keeps the
graph's constants as float32 buffers (its state dict) and evaluates the nodes that the requested outputs need
with TF's semantics (TF "SAME" padding split as TF splits it, NHWC flattening order, ``keep_dims``, the
``StridedSlice`` masks). Unsupported ops are refused at construction with a one-line ``WeightsMismatch``.
"""
from __future__ import annotations

from typing import Any, Callable

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..integrity import WeightsMismatch
from .tfjs_weights import TFJSGraph, inputs, node_attr

_UNARY: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "Identity": lambda t: t, "Relu": F.relu, "Relu6": F.relu6, "Tanh": torch.tanh, "Sigmoid": torch.sigmoid,
    "Softmax": lambda t: torch.softmax(t, -1),
}
_BINARY: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "Add": torch.add, "AddV2": torch.add, "Sub": torch.sub, "Mul": torch.mul, "RealDiv": torch.div,
    "Maximum": torch.maximum, "Minimum": torch.minimum,
}
_FUSED_ACT = {"Relu": F.relu, "Relu6": F.relu6}
_OTHER = ("Placeholder", "Const", "_FusedConv2D", "Conv2D", "DepthwiseConv2dNative", "_FusedMatMul", "MatMul",
          "MaxPool", "AvgPool", "Mean", "Max", "Reshape", "ExpandDims", "StridedSlice")


def _same_pads(size: int, kernel: int, stride: int) -> tuple[int, int]:
    total = max((-(-size // stride) - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def _pad_nchw(x: torch.Tensor, padding: str, kernel: tuple[int, int], stride: int, value: float = 0.0) -> torch.Tensor:
    if padding == "VALID":
        return x
    (top, bottom), (left, right) = (_same_pads(x.shape[2], kernel[0], stride), _same_pads(x.shape[3], kernel[1], stride))
    return F.pad(x, (left, right, top, bottom), value=value) if top or bottom or left or right else x


class TFJSGraphModule(nn.Module):
    """The subgraph that ``outputs`` depend on; ``forward(x)`` takes the Placeholder's NHWC tensor and returns
    the outputs in the order asked (a tuple)."""

    def __init__(self, graph: TFJSGraph, outputs: tuple[str, ...], name: str) -> None:
        super().__init__()
        self.outputs = outputs
        order = self._order(graph, outputs, name)
        self.steps: list[tuple[str, str, list[str], dict[str, Any]]] = []
        self._buffer_of: dict[str, str] = {}
        for node in order:
            op, where = node["op"], f"{name} node {node['name']!r}"
            if op not in _UNARY and op not in _BINARY and op not in _OTHER:
                raise WeightsMismatch(f"{where}: op {op} is not supported")
            if op == "Const":
                value = graph.weight(node["name"])
                if value.dtype.kind == "f":
                    key = f"c{len(self._buffer_of)}"
                    self.register_buffer(key, torch.from_numpy(value.astype("float32")))
                    self._buffer_of[node["name"]] = key
                continue
            self.steps.append((node["name"], op, inputs(node), self._attrs(graph, node, where)))

    @staticmethod
    def _order(graph: TFJSGraph, outputs: tuple[str, ...], name: str) -> list[dict[str, Any]]:
        """The needed nodes, each after its inputs (depth-first from the outputs)."""
        seen: set[str] = set()
        order: list[dict[str, Any]] = []
        for out in outputs:
            if out not in graph.by_name:
                raise WeightsMismatch(f"{name}: the graph has no node {out!r}")
            stack = [(out, False)]
            while stack:
                n, expanded = stack.pop()
                if expanded:
                    order.append(graph.by_name[n])
                    continue
                if n in seen:
                    continue
                seen.add(n)
                stack.append((n, True))
                stack += [(i, False) for i in reversed(inputs(graph.by_name[n])) if i not in seen and i in graph.by_name]
        return order

    @staticmethod
    def _attrs(graph: TFJSGraph, node: dict[str, Any], where: str) -> dict[str, Any]:
        """The attributes a step needs, with integer constant inputs (axes, shapes, slices) read now."""
        op, attrs = node["op"], {}
        if op in ("_FusedConv2D", "Conv2D", "DepthwiseConv2dNative", "MaxPool", "AvgPool"):
            strides = node_attr(node, "strides")
            if node_attr(node, "data_format", "NHWC") != "NHWC" or strides[1] != strides[2]:
                raise WeightsMismatch(f"{where}: only NHWC and square strides are supported")
            if node_attr(node, "dilations", [1, 1, 1, 1]) != [1, 1, 1, 1]:
                raise WeightsMismatch(f"{where}: dilated convolutions are not supported")
            attrs.update(stride=strides[1], padding=node_attr(node, "padding"), ksize=node_attr(node, "ksize"))
            if attrs["padding"] not in ("SAME", "VALID") or (op == "AvgPool" and attrs["padding"] == "SAME"):
                raise WeightsMismatch(f"{where}: padding {attrs['padding']!r} is not supported for {op}")
        if op.startswith("_Fused"):
            fused = node_attr(node, "fused_ops", [])
            if not fused or fused[0] != "BiasAdd" or any(f not in _FUSED_ACT for f in fused[1:]) or len(fused) > 2:
                raise WeightsMismatch(f"{where}: fused ops {fused} are not supported")
            attrs["activation"] = fused[1] if len(fused) == 2 else None
        if op in ("MatMul", "_FusedMatMul") and (node_attr(node, "transpose_a") or node_attr(node, "transpose_b")):
            raise WeightsMismatch(f"{where}: transposed MatMul operands are not supported")
        if op in ("Mean", "Max"):
            attrs.update(axes=graph.weight(inputs(node)[1]).reshape(-1).tolist(), keep=bool(node_attr(node, "keep_dims")))
        if op in ("Reshape", "ExpandDims"):
            attrs["value"] = graph.weight(inputs(node)[1]).reshape(-1).tolist()
        if op == "StridedSlice":
            if node_attr(node, "ellipsis_mask", 0) or node_attr(node, "new_axis_mask", 0):
                raise WeightsMismatch(f"{where}: StridedSlice with ellipsis or new-axis masks is not supported")
            attrs.update(begin=graph.weight(inputs(node)[1]).tolist(), end=graph.weight(inputs(node)[2]).tolist(),
                         step=graph.weight(inputs(node)[3]).tolist(),
                         masks=[node_attr(node, k, 0) for k in ("begin_mask", "end_mask", "shrink_axis_mask")])
        return attrs

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        values: dict[str, torch.Tensor] = {}
        get = lambda n: values[n] if n in values else getattr(self, self._buffer_of[n])  # noqa: E731
        for name, op, ins, a in self.steps:
            if op == "Placeholder":
                values[name] = x
            elif op in _UNARY:
                values[name] = _UNARY[op](get(ins[0]))
            elif op in _BINARY:
                values[name] = _BINARY[op](get(ins[0]), get(ins[1]))
            else:
                values[name] = self._run(op, [get(i) for i in ins if i in values or i in self._buffer_of], a)
        return tuple(values[o] for o in self.outputs)

    @staticmethod
    def _run(op: str, args: list[torch.Tensor], a: dict[str, Any]) -> torch.Tensor:
        x = args[0]
        if op in ("_FusedConv2D", "Conv2D", "DepthwiseConv2dNative"):
            kernel = args[1]  # conv (H, W, I, O); depthwise (H, W, C, 1)
            depthwise = op == "DepthwiseConv2dNative"
            weight = kernel.permute(2, 3, 0, 1) if depthwise else kernel.permute(3, 2, 0, 1)
            xc = _pad_nchw(x.permute(0, 3, 1, 2), a["padding"], tuple(kernel.shape[:2]), a["stride"])
            y = F.conv2d(xc, weight, None, a["stride"], groups=xc.shape[1] if depthwise else 1).permute(0, 2, 3, 1)
            return _fused(y, args, a) if op == "_FusedConv2D" else y
        if op in ("_FusedMatMul", "MatMul"):
            y = x @ args[1]
            return _fused(y, args, a) if op == "_FusedMatMul" else y
        if op in ("MaxPool", "AvgPool"):
            k = tuple(a["ksize"][1:3])
            xc = x.permute(0, 3, 1, 2)
            if op == "MaxPool":
                y = F.max_pool2d(_pad_nchw(xc, a["padding"], k, a["stride"], float("-inf")), k, a["stride"])
            else:
                y = F.avg_pool2d(xc, k, a["stride"])
            return y.permute(0, 2, 3, 1)
        if op == "Mean":
            return x.mean(dim=a["axes"], keepdim=a["keep"])
        if op == "Max":
            return x.amax(dim=a["axes"], keepdim=a["keep"])
        if op == "Reshape":
            return x.reshape(a["value"])
        if op == "ExpandDims":
            return x.unsqueeze(a["value"][0])
        return _strided_slice(x, a)


def _fused(y: torch.Tensor, args: list[torch.Tensor], a: dict[str, Any]) -> torch.Tensor:
    y = y + args[2]
    return _FUSED_ACT[a["activation"]](y) if a["activation"] else y


def _strided_slice(x: torch.Tensor, a: dict[str, Any]) -> torch.Tensor:
    begin_mask, end_mask, shrink = a["masks"]
    index: list[Any] = []
    for d, (b, e, s) in enumerate(zip(a["begin"], a["end"], a["step"])):
        if shrink >> d & 1:
            index.append(b)
        else:
            index.append(slice(None if begin_mask >> d & 1 else b, None if end_mask >> d & 1 else e, s))
    return x[tuple(index)]
