"""Cache entries replaced by valid but wrong files are detected, deleted with one warning line and recomputed."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from fpbench import cache
from fpbench.cache import CacheIntegrityWarning, checksum_path, verified_file
from fpbench.images import load_png, write_png
from fpbench.runner import Runner
from fpbench.spec import RunSpec
from fpbench.stores import EmbeddingStore, ImageStore


def _images(n: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, 3, 8, 8, generator=torch.Generator().manual_seed(seed))


def _embed(x: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.normalize(x.flatten(1)[:, :16], dim=1)


def _integrity_warnings(caught: list[warnings.WarningMessage]) -> list[str]:
    return [str(w.message) for w in caught if issubclass(w.category, CacheIntegrityWarning)]


def test_a_replaced_embedding_is_recomputed_with_one_warning_line(fresh_cache):
    x = _images(3)
    store = EmbeddingStore("toy")
    clean = store.embed(x, _embed, batch_size=2)
    victim = sorted(store.dir.glob("*.npy"))[0]
    np.save(victim, np.ones(16, np.float32) / 4)  # a valid .npy with the wrong vector

    again = EmbeddingStore("toy")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = again.embed(x, _embed, batch_size=2)
    assert again.computed == 1
    np.testing.assert_array_equal(result, clean)
    (message,) = _integrity_warnings(caught)
    assert str(victim) in message and "\n" not in message
    assert EmbeddingStore("toy").embed(x, _embed, batch_size=2).tolist() == clean.tolist()  # repaired entry verifies


def test_an_embedding_with_a_forged_checksum_that_is_not_a_vector_is_recomputed(fresh_cache):
    x = _images(1)
    store = EmbeddingStore("toy")
    clean = store.embed(x, _embed, batch_size=1)
    (victim,) = store.dir.glob("*.npy")
    np.save(victim, np.zeros((2, 2), np.float64))
    checksum_path(victim).write_text(cache.file_sha256(victim))
    with pytest.warns(CacheIntegrityWarning, match="not a float32 embedding"):
        np.testing.assert_array_equal(store.embed(x, _embed, batch_size=1), clean)
    assert store.computed == 2


def test_a_replaced_image_is_not_reported_as_cached_and_is_deleted(fresh_cache):
    store = ImageStore("protected", "toy")
    x = _images(2)
    store.put("a", x[0])
    assert store.has("a") and checksum_path(store.path("a")).is_file()
    write_png(store.path("a"), x[1])  # valid PNG, wrong content
    with pytest.warns(CacheIntegrityWarning, match="does not match the checksum"):
        assert not store.has("a")
    assert not store.path("a").exists() and not checksum_path(store.path("a")).exists()
    store.put("a", x[0])
    assert torch.equal(store.get(["a"])[0], ImageStore("protected", "toy").get(["a"])[0])


def test_an_entry_without_a_checksum_is_recomputed_silently(fresh_cache):
    store = ImageStore("protected", "toy")
    write_png(store.path("old"), _images(1)[0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not store.has("old")


def test_get_of_a_corrupt_image_is_a_one_line_error(fresh_cache):
    from fpbench.errors import FpbenchError

    store = ImageStore("protected", "toy")
    store.put("a", _images(1)[0])
    store.path("a").write_bytes(b"not a png")
    with pytest.warns(CacheIntegrityWarning), pytest.raises(FpbenchError, match="run again to recompute"):
        store.get(["a"])


def test_replaced_protected_images_do_not_change_the_scores(fresh_cache):
    spec = RunSpec(method="fgsm", surrogates=("toy-fr-a",), params={"eps": 8 / 255}, dataset="toy-faces",
                   targets=("toy-fr-a",), quality=False, batch_size=8)
    first = Runner(spec, None, progress=False).execute()
    pngs = sorted(fresh_cache.glob("protected/*/*.png"))
    assert pngs
    for png in pngs:  # each protected image replaced by a valid PNG of another picture (itself upside down)
        write_png(png, load_png(png).flip(-2))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        second = Runner(spec, None, progress=False).execute()
    assert _integrity_warnings(caught)  # one per chunk: the first bad entry sends the chunk back to the method
    assert second.card["work"]["protected"] == len(pngs)
    assert second.scores.equals(first.scores)


def test_verified_file_hashes_each_file_version_once(tmp_path, monkeypatch):
    path = tmp_path / "weights.pt"
    path.write_bytes(b"pinned bytes")
    pinned = cache.file_sha256(path)
    calls = []
    original = cache.file_sha256
    monkeypatch.setattr(cache, "file_sha256", lambda p: calls.append(p) or original(p))
    assert verified_file(path, pinned) and verified_file(path, pinned.upper())
    assert len(calls) == 1
    path.write_bytes(b"zeroed bytes")  # same size, new content
    assert not verified_file(path, pinned)
    assert len(calls) == 2
