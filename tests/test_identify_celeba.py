"""`fpbench run --dataset celeba --protocol identify` end to end on a small fake CelebA tree: the adapter's
1:N roles feed the identify protocol, which prints top-1/top-5 protection rates with identity-level CIs."""
from __future__ import annotations

from fpbench.cli.main import main
from test_data_adapters import CELEBA_PEOPLE, make_celeba


def test_identify_on_a_fake_celeba_prints_topk_protection(tmp_path, fresh_cache, capsys, monkeypatch):
    root = tmp_path / "celeba"
    make_celeba(root, CELEBA_PEOPLE)
    assert main(["data", "manifest", "celeba", "--root", str(root)]) == 0
    assert main(["data", "prepare", "celeba"]) == 0
    capsys.readouterr()
    monkeypatch.chdir(tmp_path)
    code = main(["run", "--method", "pgd", "--dataset", "celeba", "--protocol", "identify", "--target", "toy-fr-a",
                 "--target", "toy-fr-b", "--surrogate", "toy-fr-b", "--steps", "2", "--eps", "8/255", "--no-quality",
                 "--quiet"])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "Top-1 prot. %" in out.out and "Top-5 prot. %" in out.out
    assert "toy-fr-a" in out.out and "[" in out.out  # a CI per cell
    clean = main(["run", "--method", "none", "--dataset", "celeba", "--target", "toy-fr-a", "--no-quality", "--quiet"])
    assert clean == 0  # the manifest names the protocol: identify without --protocol
    assert "Top-1 prot. %" in capsys.readouterr().out
