import pytest

from fpbench.errors import BadInput
from fpbench.methods import METHODS
from fpbench.registry import Registry, UnknownName


def test_decorator_registration_and_lookup():
    reg: Registry = Registry("widget", "fpbench.tests.none")

    @reg.register("spanner", "Turns nuts")
    class Spanner:
        pass

    assert reg.get("spanner") is Spanner
    assert reg.entry("spanner").description == "Turns nuts"
    assert reg.names() == ["spanner"]


def test_unknown_name_lists_valid_ones():
    reg: Registry = Registry("widget", "fpbench.tests.none")
    reg.add("a", object())
    reg.add("b", object())
    with pytest.raises(UnknownName) as e:
        reg.get("x")
    assert str(e.value) == "unknown widget 'x'; available: a, b"
    assert isinstance(e.value, BadInput)


def test_duplicate_registration_refused():
    reg: Registry = Registry("widget", "fpbench.tests.none")
    reg.add("a", object())
    with pytest.raises(ValueError, match="already registered"):
        reg.add("a", object())


def test_builtin_methods_registered():
    assert {"none", "fgsm", "pgd", "mifgsm", "difgsm", "tifgsm"} <= set(METHODS.names())


def test_external_plugin_discovered_by_entry_point():
    entry = METHODS.entry("blur")
    assert entry.origin == "fpbench-example-plugin"
    assert entry.obj.__module__ == "fpbench_example_plugin"
