"""Read the parametric layers of a float TFLite flatbuffer (conversion time only; needs ``tflite``).

Convolutions come with their bias (TFLite already folds BatchNorm into it) in PyTorch's OIHW layout and
TF "SAME"/"VALID" padding mapped by ``tf_same``. A ``MUL`` by a constant per-channel vector is the slope
of a PReLU written as ``relu(x) + m * (x - |x|)`` (TF-slim's form, ``m = alpha / 2``): it becomes a PReLU
with slope ``2 m``, which is exact in floating point.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..integrity import WeightsMismatch
from . import Layer
from .tf_same import same_kernel

_NUMPY_TYPES = {0: np.float32, 2: np.int32, 4: np.int64}  # tflite.TensorType FLOAT32, INT32, INT64
_SAME, _VALID = 0, 1  # tflite.Padding


def read_tflite_layers(path: Path) -> list[Layer]:
    """Convolution and PReLU layers of the first subgraph, in execution order."""
    try:
        import tflite
    except ImportError:
        msg = "converting TFLite weights needs the 'tflite' package: pip install 'fpbench[convert]'"
        raise WeightsMismatch(msg) from None
    model = tflite.Model.GetRootAsModel(path.read_bytes(), 0)
    graph = model.Subgraphs(0)
    names = {v: k for k, v in vars(tflite.BuiltinOperator).items() if not k.startswith("_")}
    layers = []
    for i in range(graph.OperatorsLength()):
        op = graph.Operators(i)
        code = model.OperatorCodes(op.OpcodeIndex())
        kind = names[max(code.BuiltinCode(), code.DeprecatedBuiltinCode())]
        consts = [_constant(model, graph, int(t)) for t in op.InputsAsNumpy()]
        where = f"{path.name} operator {i} ({kind})"
        if kind in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            opts = tflite.Conv2DOptions() if kind == "CONV_2D" else tflite.DepthwiseConv2DOptions()
            opts.Init(op.BuiltinOptions().Bytes, op.BuiltinOptions().Pos)
            layers.append(_conv(kind, consts, opts, where))
        elif kind == "MUL" and sum(c is not None for c in consts) == 1:
            slope = next(c for c in consts if c is not None)
            layers.append(Layer("prelu", where, 2 * slope.reshape(-1)))
    return layers


def _conv(kind: str, consts: list[np.ndarray | None], opts, where: str) -> Layer:
    stride = opts.StrideH()
    if opts.StrideW() != stride or opts.DilationHFactor() != 1 or opts.DilationWFactor() != 1:
        raise WeightsMismatch(f"{where}: anisotropic stride or dilation is not supported")
    if opts.FusedActivationFunction() != 0:
        raise WeightsMismatch(f"{where}: fused activation {opts.FusedActivationFunction()} is not supported")
    weight, bias = consts[1], consts[2] if len(consts) > 2 else None
    depthwise = kind == "DEPTHWISE_CONV_2D"
    # TFLite kernels: conv (O, H, W, I), depthwise (1, H, W, C)  ->  PyTorch (O, I / groups, H, W)
    weight = weight.transpose(3, 0, 1, 2) if depthwise else weight.transpose(0, 3, 1, 2)
    if opts.Padding() == _SAME:
        weight, padding = same_kernel(weight, stride, where)
    elif opts.Padding() == _VALID:
        padding = (0, 0)
    else:
        raise WeightsMismatch(f"{where}: unknown padding {opts.Padding()}")
    groups = weight.shape[0] if depthwise else 1
    return Layer("conv", where, weight, bias, {"stride": (stride, stride), "padding": padding, "groups": groups})


def _constant(model, graph, index: int) -> np.ndarray | None:
    if index < 0:
        return None
    tensor = graph.Tensors(index)
    buffer = model.Buffers(tensor.Buffer())
    if buffer.DataLength() == 0:
        return None
    if tensor.Type() not in _NUMPY_TYPES:
        name = tensor.Name().decode()
        raise WeightsMismatch(f"tensor {name}: TFLite type {tensor.Type()} (only float32/int supported)")
    shape = tuple(int(d) for d in tensor.ShapeAsNumpy()) if tensor.ShapeLength() else ()
    return np.frombuffer(buffer.DataAsNumpy().tobytes(), _NUMPY_TYPES[tensor.Type()]).reshape(shape).copy()
