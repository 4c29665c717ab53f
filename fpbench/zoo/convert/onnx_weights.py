"""Read the parametric layers of an ONNX graph as float arrays (conversion time only; needs ``onnx``).

Weights that the graph computes from constants — ``DequantizeLinear`` of int8 tensors (per-tensor,
per-axis or blocked, as in OpenCV zoo's ``*_int8bq`` files), ``Reshape`` and ``Constant`` — are evaluated
with NumPy. ``BatchNormalization`` is folded into the neighbouring ``Conv``/``Gemm`` (after a conv or a
Gemm: into its output; before a Gemm: into its input), leaving only conv, PReLU and linear layers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..integrity import WeightsMismatch
from . import Layer

_PARAMETRIC = ("Conv", "BatchNormalization", "PRelu", "Gemm")


@dataclass
class _Node:
    op: str
    name: str
    x: str  # data input
    y: str  # output
    params: list[np.ndarray]
    attrs: dict


def read_onnx_layers(path: Path) -> tuple[list[Layer], dict[str, np.ndarray]]:
    """Parametric layers of the graph in node order (BatchNorm folded), and all constant tensors."""
    try:
        import onnx
        from onnx import helper, numpy_helper
    except ImportError:
        raise WeightsMismatch("converting ONNX weights needs the 'onnx' package: pip install onnx") from None
    graph = onnx.load(str(path)).graph
    const = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    raw: list[_Node] = []
    for node in graph.node:
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        if node.op_type == "Constant":
            const[node.output[0]] = numpy_helper.to_array(attrs["value"])
        elif node.op_type == "DequantizeLinear" and all(i in const for i in node.input):
            q, scale, *zero_point = (const[i] for i in node.input if i)
            const[node.output[0]] = dequantize(q, scale, zero_point[0] if zero_point else None, attrs)
        elif node.op_type == "Reshape" and all(i in const for i in node.input):
            const[node.output[0]] = const[node.input[0]].reshape(const[node.input[1]])
        elif node.op_type in _PARAMETRIC:
            missing = [i for i in node.input[1:] if i and i not in const]
            if missing:
                raise WeightsMismatch(
                    f"{path.name}: {node.op_type} {node.name!r} has non-constant parameters {missing}"
                )
            params = [const[i].astype(np.float64) for i in node.input[1:] if i]
            raw.append(_Node(node.op_type, node.name, node.input[0], node.output[0], params, attrs))
    return _fold_batchnorm(raw, path.name), const


def dequantize(q: np.ndarray, scale: np.ndarray, zero_point: np.ndarray | None, attrs: dict) -> np.ndarray:
    """ONNX ``DequantizeLinear``: ``(q - zero_point) * scale`` with per-tensor, per-axis or blocked scales."""
    axis = attrs.get("axis", 1) % max(q.ndim, 1)
    block = attrs.get("block_size", 0)
    zp = np.zeros_like(scale) if zero_point is None else zero_point

    def expand(a: np.ndarray) -> np.ndarray:
        if a.ndim == 0 or a.size == 1:
            return a.reshape(())
        if block:
            return np.repeat(a, block, axis=axis).take(np.arange(q.shape[axis]), axis=axis)
        shape = [1] * q.ndim
        shape[axis] = -1
        return a.reshape(shape)

    return (q.astype(np.float32) - expand(zp).astype(np.float32)) * expand(scale).astype(np.float32)


def _bn_scale_shift(params: list[np.ndarray], attrs: dict) -> tuple[np.ndarray, np.ndarray]:
    gamma, beta, mean, var = params
    scale = gamma / np.sqrt(var + attrs.get("epsilon", 1e-5))
    return scale, beta - mean * scale


def _fold_batchnorm(raw: list[_Node], source: str) -> list[Layer]:
    layers: list[Layer] = []
    last_output = ""  # tensor name produced by layers[-1]
    pending: tuple[np.ndarray, np.ndarray] | None = None  # a BatchNorm waiting for the next Gemm's input
    for node in raw:
        op, name, params, attrs = node.op, node.name, node.params, node.attrs
        if pending is not None and op in ("Conv", "PRelu"):
            raise WeightsMismatch(f"{source}: BatchNorm before {op} {name!r} cannot be folded exactly")
        if op == "Conv":
            weight, bias = params[0], params[1] if len(params) > 1 else np.zeros(params[0].shape[0])
            geometry = {
                "stride": tuple(attrs.get("strides", (1, 1))),
                "padding": _symmetric_padding(attrs.get("pads", (0, 0, 0, 0)), name, source),
                "groups": attrs.get("group", 1),
            }
            layers.append(Layer("conv", name, weight, bias, geometry))
        elif op == "Gemm":
            if attrs.get("transA", 0) or attrs.get("alpha", 1.0) != 1.0 or attrs.get("beta", 1.0) != 1.0:
                raise WeightsMismatch(f"{source}: Gemm {name!r} with transA/alpha/beta is not supported")
            weight = params[0] if attrs.get("transB", 0) else params[0].T
            bias = params[1] if len(params) > 1 else np.zeros(weight.shape[0])
            if pending is not None:  # y = W (s * x + t) + b, per channel s, t repeated over the spatial size
                if weight.shape[1] % pending[0].size:
                    raise WeightsMismatch(f"{source}: BatchNorm before Gemm {name!r} does not divide its inputs")
                scale, shift = (np.repeat(a, weight.shape[1] // a.size) for a in pending)
                weight, bias, pending = weight * scale[None, :], bias + weight @ shift, None
            layers.append(Layer("linear", name, weight, bias))
        elif op == "PRelu":
            layers.append(Layer("prelu", name, params[0].reshape(-1)))
        else:  # BatchNormalization
            scale, shift = _bn_scale_shift(params, attrs)
            last = layers[-1] if layers else None
            if last is not None and last.kind != "prelu" and node.x == last_output:  # BN of a conv/linear output
                last.weight = last.weight * scale.reshape((-1,) + (1,) * (last.weight.ndim - 1))
                last.bias = last.bias * scale + shift
            elif pending is None:
                pending = (scale, shift)
            else:
                raise WeightsMismatch(f"{source}: two BatchNorms in a row before a Gemm are not supported")
        last_output = node.y  # a pending BatchNorm is only ever followed by the Gemm that absorbs it
    if pending is not None:
        raise WeightsMismatch(f"{source}: a trailing BatchNorm has no layer to fold into")
    return layers


def _symmetric_padding(pads: tuple[int, ...], name: str, source: str) -> tuple[int, int]:
    top, left, bottom, right = pads
    if (top, left) != (bottom, right):
        raise WeightsMismatch(f"{source}: conv {name!r} has asymmetric padding {pads}")
    return top, left
