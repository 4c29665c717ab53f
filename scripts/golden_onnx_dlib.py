"""Write tests/golden/<model>.npz: embeddings of the ONNX and dlib zoo models from their ORIGINAL runtimes.

Regenerate::

    pip install onnxruntime dlib-bin
    FPBENCH_CACHE=/path/to/cache python scripts/golden_onnx_dlib.py                # sface, mfn512, dlib-resnet29
    FPBENCH_CACHE=/path/to/cache python scripts/golden_onnx_dlib.py sface          # a subset

The pinned package is fetched (sha256-checked) and the deterministic images of
``fpbench.zoo.golden.golden_inputs(112)`` go through each model's official preprocessing, written out here
independently of the zoo's ``InputSpec`` (so tests/test_zoo_onnx_dlib.py pins the InputSpec as well as the
weights), into the original runtime:

* ``sface``: onnxruntime on the original int8 block-quantised graph. The file lists its float weight names
  as graph inputs that no node reads; those inputs are dropped (nodes and initialisers are untouched).
  Input as OpenCV's FaceRecognizerSF feeds it: RGB 0-255, NCHW (the graph normalises itself).
* ``mfn512``: onnxruntime on the original graph; BGR, (x - 127) / 128, NCHW.
* ``dlib-resnet29``: dlib-bin's ``face_recognition_model_v1`` on 150x150 chips. The chips are made from
  the canonical crops with fpbench's own ``arcface_to_dlib_chip`` and rounded to uint8, so the test pins the
  network and its normalisation; the chip geometry is measured by scripts/dlib_chip_geometry.py.

Each .npz holds the raw (unnormalised) embeddings, the sha256 of the input image bytes, the runtime and
the preprocessing used.
"""

from __future__ import annotations

import argparse
import hashlib
from importlib.metadata import version
from pathlib import Path

import numpy as np

from fpbench.images import from_uint8, to_uint8
from fpbench.zoo import ZOO
from fpbench.zoo.golden import golden_inputs
from fpbench.zoo.model import arcface_to_dlib_chip

GOLDEN_DIR = Path(__file__).resolve().parent.parent / "tests" / "golden"
SIZE = 112


def onnx_session(path: Path, keep_inputs: tuple[str, ...] | None = None):
    import onnx
    import onnxruntime as ort

    model = onnx.load(str(path))
    if keep_inputs is not None:
        inputs = [i for i in model.graph.input if i.name in keep_inputs]
        del model.graph.input[:]
        model.graph.input.extend(inputs)
    options = ort.SessionOptions()
    options.log_severity_level = 3
    return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])


def run_onnx(session, name: str, batch: np.ndarray) -> np.ndarray:
    """One image at a time: the graphs are exported with batch size 1."""
    return np.concatenate([session.run(None, {name: x[None]})[0] for x in batch])


def sface(member: Path, images: np.ndarray) -> tuple[np.ndarray, str, str]:
    session = onnx_session(member, keep_inputs=("data",))
    x = images.astype(np.float32).transpose(0, 3, 1, 2)
    return (
        run_onnx(session, "data", x),
        f"onnxruntime {version('onnxruntime')}, original int8bq graph",
        "RGB 0-255 NCHW",
    )


def mfn512(member: Path, images: np.ndarray) -> tuple[np.ndarray, str, str]:
    session = onnx_session(member)
    x = ((images[..., ::-1].astype(np.float32) - 127.0) / 128.0).transpose(0, 3, 1, 2)
    return run_onnx(session, "input", x), f"onnxruntime {version('onnxruntime')}", "BGR (x - 127) / 128 NCHW"


def dlib_resnet29(member: Path, images: np.ndarray) -> tuple[np.ndarray, str, str]:
    import dlib

    chips = to_uint8(arcface_to_dlib_chip(from_uint8(images), 150))
    net = dlib.face_recognition_model_v1(str(member))
    emb = np.array([np.array(net.compute_face_descriptor(np.ascontiguousarray(c))) for c in chips], np.float32)
    return (
        emb,
        f"dlib {dlib.__version__} (dlib-bin) face_recognition_model_v1",
        "fpbench arcface_to_dlib_chip, uint8 RGB chip",
    )


REFERENCES = {"sface": sface, "mfn512": mfn512, "dlib-resnet29": dlib_resnet29}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("models", nargs="*", choices=[[], *REFERENCES], help="default: all")
    args = parser.parse_args()
    images = golden_inputs(SIZE)
    GOLDEN_DIR.mkdir(parents=True, exist_ok=True)
    for name in args.models or REFERENCES:
        source = ZOO.get(name).package_file
        embeddings, runtime, preprocessing = REFERENCES[name](source.package.member(source.member), images)
        np.savez(
            GOLDEN_DIR / f"{name}.npz",
            embeddings=embeddings.astype(np.float32),
            input_sha256=hashlib.sha256(images.tobytes()).hexdigest(),
            runtime=runtime,
            preprocessing=preprocessing,
        )
        print(f"{name}: {embeddings.shape} from {runtime} ({preprocessing})")


if __name__ == "__main__":
    main()
