"""The paper architectures load checkpoints with the public key layouts, through `zoo add`, with strict=True."""
from __future__ import annotations

import pytest
import torch

from fpbench.errors import BadInput
from fpbench.zoo import ZOO, WeightsMismatch, load
from fpbench.zoo.catalog import weights_path
from fpbench.zoo.names import resolve
from fpbench.zoo.paper import ARCHS
from fpbench.zoo.user import add_weights, read_checkpoint, read_index
from zoo_helpers import save, synthetic_state_dict, user_cache_fixture

user_cache = pytest.fixture(user_cache_fixture)

#: Facts of the public checkpoints, read off the reference code (insightface arcface_torch iresnet.py,
#: face.evoLVe / InsightFace_Pytorch model_irse.py as in the Adv-Makeup assets, facenet-pytorch
#: inception_resnet_v1.py): parameter count, number of state-dict entries without the BatchNorm
#: ``num_batches_tracked`` counters, and a few (key, shape) pairs that pin the layout.
REFERENCE: dict[str, tuple[int, int, dict[str, tuple[int, ...]]]] = {
    "iresnet100": (65_156_160, 771, {
        "conv1.weight": (64, 3, 3, 3), "prelu.weight": (64,), "layer1.0.bn1.weight": (64,),
        "layer1.0.downsample.0.weight": (64, 64, 1, 1), "layer2.12.prelu.weight": (128,),
        "layer3.29.conv2.weight": (256, 256, 3, 3), "layer4.0.downsample.1.running_var": (512,),
        "bn2.weight": (512,), "fc.weight": (512, 25088), "fc.bias": (512,), "features.running_mean": (512,),
    }),
    "iresnet50": (43_590_848, 396, {"layer3.13.conv1.weight": (256, 256, 3, 3), "fc.weight": (512, 25088)}),
    "ir152": (70_737_600, 581, {
        "input_layer.0.weight": (64, 3, 3, 3), "input_layer.2.weight": (64,),
        "body.0.res_layer.0.weight": (64,), "body.3.shortcut_layer.0.weight": (128, 64, 1, 1),
        "body.3.shortcut_layer.1.running_mean": (128,), "body.49.res_layer.3.weight": (512, 512, 3, 3),
        "output_layer.0.weight": (512,), "output_layer.3.weight": (512, 25088), "output_layer.4.running_var": (512,),
    }),
    "irse50": (43_797_696, 343, {
        "body.0.res_layer.5.fc1.weight": (4, 64, 1, 1), "body.0.res_layer.5.fc2.weight": (64, 4, 1, 1),
        "body.23.res_layer.5.fc1.weight": (32, 512, 1, 1), "body.21.shortcut_layer.0.weight": (512, 256, 1, 1),
        "output_layer.3.bias": (512,),
    }),
    "mobilefacenet512": (1_200_512, 283, {
        "conv1.conv.weight": (64, 3, 3, 3), "conv1.prelu.weight": (64,), "conv2_dw.conv.weight": (64, 1, 3, 3),
        "conv_23.conv.conv.weight": (128, 64, 1, 1), "conv_23.conv_dw.conv.weight": (128, 1, 3, 3),
        "conv_23.project.bn.running_var": (64,), "conv_3.model.3.project.conv.weight": (64, 128, 1, 1),
        "conv_4.model.5.conv_dw.prelu.weight": (256,), "conv_5.model.1.conv.conv.weight": (256, 128, 1, 1),
        "conv_6_sep.conv.weight": (512, 128, 1, 1), "conv_6_dw.conv.weight": (512, 1, 7, 7),
        "conv_6_dw.bn.weight": (512,), "linear.weight": (512, 512), "bn.running_mean": (512,),
    }),
    "inception_resnet_v1": (23_482_624, 602, {
        "conv2d_1a.conv.weight": (32, 3, 3, 3), "conv2d_1a.bn.running_var": (32,),
        "repeat_1.4.branch2.2.conv.weight": (32, 32, 3, 3), "repeat_1.0.conv2d.bias": (256,),
        "mixed_6a.branch1.2.conv.weight": (256, 192, 3, 3), "repeat_2.9.branch1.1.conv.weight": (128, 128, 1, 7),
        "mixed_7a.branch2.2.conv.weight": (256, 256, 3, 3), "repeat_3.4.branch1.2.conv.weight": (192, 192, 3, 1),
        "block8.conv2d.weight": (1792, 384, 1, 1), "last_linear.weight": (512, 1792), "last_bn.weight": (512,),
    }),
}
#: facenet-pytorch's VGGFace2 checkpoint also holds the 8631-way training classifier (27,910,327 parameters in all).
FACENET_LOGITS = {"logits.weight": (8631, 512), "logits.bias": (8631,)}


@pytest.mark.parametrize("arch", sorted(REFERENCE))
def test_architecture_matches_public_layout(arch: str) -> None:
    params, entries, samples = REFERENCE[arch]
    with torch.device("meta"):
        model = ARCHS[arch].build()
    sd = model.state_dict()
    assert sum(p.numel() for p in model.parameters()) == params
    assert len([k for k in sd if not k.endswith("num_batches_tracked")]) == entries
    assert {k: tuple(sd[k].shape) for k in samples} == samples
    if arch == "inception_resnet_v1":
        assert params + sum(torch.Size(s).numel() for s in FACENET_LOGITS.values()) == 27_910_327


# (paper name, architecture of the synthetic file, how the file wraps the state dict)
CASES = [
    ("arcface", "iresnet100", "plain"),
    ("ir152", "ir152", "module-prefix"),
    ("irse50", "irse50", "state_dict"),
    ("facenet", "inception_resnet_v1", "with-logits"),
    ("mobileface", "mobilefacenet512", "no-counters"),
]


def _wrap(sd: dict[str, torch.Tensor], how: str) -> object:
    if how == "module-prefix":
        return {f"module.{k}": v for k, v in sd.items()}
    if how == "state_dict":
        return {"state_dict": sd, "epoch": 7}
    if how == "with-logits":
        return {**sd, **{k: torch.randn(s) for k, s in FACENET_LOGITS.items()}}
    if how == "no-counters":
        return {k: v for k, v in sd.items() if not k.endswith("num_batches_tracked")}
    return sd


@pytest.mark.parametrize("name,arch,how", CASES)
def test_add_load_and_embed(user_cache, tmp_path, name: str, arch: str, how: str) -> None:
    sd = synthetic_state_dict(arch)
    path = save(_wrap(sd, how), tmp_path / f"{name}.pth")
    entry = add_weights(name, path)
    record = read_index()[name]
    assert record["arch"] == arch and record["file"] == f"{name}.pth" and len(record["file_sha256"]) == 64
    assert entry.card.source == f"user file {name}.pth" and entry.card.weights_sha256 == record["weights_sha256"]
    assert record["dropped_keys"] == (sorted(FACENET_LOGITS) if how == "with-logits" else [])
    assert weights_path(name).is_file() and not list(weights_path(name).parent.glob("*.part"))

    model = load(name)
    for k, v in model.backbone.state_dict().items():
        if not k.endswith("num_batches_tracked"):
            assert torch.equal(v, sd[k]), k
    size = ARCHS[arch].input.size
    assert model.spec.size == size
    with torch.no_grad():
        emb = model(torch.rand(1, 3, 112, 112, generator=torch.Generator().manual_seed(0)))
    assert emb.shape == (1, 512) and torch.isfinite(emb).all()
    assert torch.allclose(emb.norm(dim=1), torch.ones(1), atol=1e-5)

    r = resolve(name)
    assert (r.zoo_name, r.display) == (name, name)
    published = entry.card.thresholds
    assert bool(published) == (name != "arcface")


def test_arcface_r50_is_recognised_without_arch(user_cache, tmp_path) -> None:
    path = save(synthetic_state_dict("iresnet50"), tmp_path / "backbone.pth")
    entry = add_weights("cosface", path)
    assert read_index()["cosface"]["arch"] == "iresnet50" and entry.card.architecture == "IResNet-50"
    assert load("cosface").backbone.layer3[13] is not None


def test_wrong_layout_is_one_clear_line(user_cache, tmp_path) -> None:
    path = save(synthetic_state_dict("mobilefacenet512"), tmp_path / "mf.pth")
    with pytest.raises(WeightsMismatch) as e:
        add_weights("irse50", path)
    msg = str(e.value)
    assert "\n" not in msg
    assert msg.startswith("mf.pth does not fit irse50: 343 missing keys (body.0.res_layer.0.bias, ")
    assert "283 unexpected keys (bn.bias, bn.running_mean, bn.running_var, ...)" in msg
    assert not weights_path("irse50").exists() and "irse50" not in read_index()


def test_shape_mismatch_is_reported(user_cache, tmp_path) -> None:
    sd = synthetic_state_dict("mobilefacenet512")
    sd["linear.weight"] = torch.zeros(128, 512)
    with pytest.raises(WeightsMismatch, match=r"1 shape mismatches \(linear.weight \(128, 512\) vs \(512, 512\)\)"):
        add_weights("mobileface", save(sd, tmp_path / "mf.pth"))


def test_add_needs_arch_for_other_names_and_refuses_bad_input(user_cache, tmp_path) -> None:
    path = save(synthetic_state_dict("mobilefacenet512"), tmp_path / "mf.pth")
    with pytest.raises(BadInput, match="not a paper model: pass --arch"):
        add_weights("my-model", path)
    with pytest.raises(BadInput, match="must be mobilefacenet512, not ir152"):
        add_weights("mobileface", path, arch="ir152")
    with pytest.raises(BadInput, match="does not exist"):
        add_weights("mobileface", tmp_path / "nope.pth")
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(BadInput, match="cannot read .*junk.pth as a PyTorch state dict"):
        add_weights("mobileface", tmp_path / "junk.pth")
    entry = add_weights("my-model", path, arch="mobilefacenet512")
    assert entry.name in ZOO and resolve("my-model").zoo_name == "my-model"
    assert load("my-model").card.architecture == "MobileFaceNet-512"


def test_read_checkpoint_unwraps_and_strips(tmp_path) -> None:
    t = torch.ones(2)
    nested = {"state_dict_backbone": {"module.backbone.fc.weight": t}, "state_optimizer": {"lr": 0.1}}
    sd = read_checkpoint(save(nested, tmp_path / "a.pt"))
    assert list(sd) == ["fc.weight"] and torch.equal(sd["fc.weight"], t)
    with pytest.raises(BadInput, match="holds no state dict of tensors"):
        read_checkpoint(save({"epoch": 3}, tmp_path / "b.pt"))


def test_half_precision_checkpoint_is_stored_as_float32(user_cache, tmp_path) -> None:
    sd = synthetic_state_dict("mobilefacenet512")
    half = {k: v.half() if v.is_floating_point() else v for k, v in sd.items()}
    add_weights("mobileface", save(half, tmp_path / "half.pth"))
    stored = torch.load(weights_path("mobileface"), weights_only=True)
    assert all(v.dtype == sd[k].dtype for k, v in stored.items())
    assert torch.allclose(stored["linear.weight"], sd["linear.weight"], atol=1e-3)
