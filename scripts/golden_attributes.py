"""Write tests/golden/attributes.npz: the human-models attribute networks on the golden faces, from TensorFlow.js.

Regenerate (needs node and npm on PATH)::

    FPBENCH_CACHE=/path/to/cache python scripts/golden_attributes.py

The deterministic 112 px images of ``fpbench.zoo.golden.golden_inputs`` (as RGB [0, 1] floats) go through
human's own preprocessing, written in TensorFlow.js in scripts/golden_attributes.mjs (not fpbench's torch
port of it, so tests/test_attributes.py pins the preprocessing as well as the conversion), into TensorFlow.js
4.22.0 (CPU backend, node). tfjs is installed as for golden_tflite_tfjs.py, into the cache.
"""
from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from golden_tflite_tfjs import GOLDEN_DIR, SCRIPTS, tfjs_dir  # noqa: E402

from fpbench.adversaries.attribute_models import NETS, fetch_members  # noqa: E402
from fpbench.zoo.golden import golden_inputs  # noqa: E402


def main() -> None:
    home = tfjs_dir()
    shutil.copyfile(SCRIPTS / "golden_attributes.mjs", home / "golden_attributes.mjs")
    models = fetch_members()
    images = golden_inputs(112)
    batch = images.astype(np.float32) / 255.0
    out = {"input_sha256": hashlib.sha256(images.tobytes()).hexdigest()}
    with tempfile.TemporaryDirectory(prefix="fpbench-golden-") as tmp:
        src = Path(tmp) / "in.f32"
        batch.tofile(src)
        cmd = ["node", "golden_attributes.mjs", str(models), str(src), *map(str, batch.shape[:3]), f"{tmp}/out"]
        out["runtime"] = subprocess.run(cmd, cwd=home, check=True, capture_output=True, text=True).stdout.strip()
        for name in NETS:
            out[name] = np.fromfile(f"{tmp}/out.{name}.f32", np.float32).reshape(len(batch), -1)
    dest = GOLDEN_DIR / "attributes.npz"
    np.savez(dest, **out)
    print(f"attributes: {', '.join(f'{k} {out[k].shape}' for k in NETS)} from {out['runtime']} -> {dest}")


if __name__ == "__main__":
    main()
