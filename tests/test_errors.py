"""The one exception tree: a common root, drawn in the docstring, no builtin names."""

from __future__ import annotations

import builtins
import importlib
import pkgutil

import sbom_enrich
from sbom_enrich import errors


def _public_exceptions() -> dict[str, type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for info in pkgutil.walk_packages(sbom_enrich.__path__, "sbom_enrich."):
        if info.name.endswith("__main__"):
            continue  # running it is what importing it does
        if info.name.startswith(("sbom_enrich.service", "sbom_enrich.cli.serve")):
            try:
                module = importlib.import_module(info.name)
            except ImportError:  # the serve extra is not installed
                continue
        else:
            module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if (
                isinstance(value, type)
                and issubclass(value, BaseException)
                and not name.startswith("_")
                and value.__module__.startswith("sbom_enrich")
                # A private package's exceptions (status/_http) never leave it: the client
                # turns them into lookup values first.
                and not any(part.startswith("_") for part in value.__module__.split("."))
            ):
                found[f"{value.__module__}.{value.__qualname__}"] = value
    return found


def test_every_exception_of_ours_has_the_common_root() -> None:
    exceptions = _public_exceptions()
    assert "sbom_enrich.errors.SbomError" in exceptions  # the walk found the tree
    outside = sorted(
        name for name, cls in exceptions.items() if not issubclass(cls, errors.SbomEnrichError)
    )
    assert outside == []


def test_every_exception_lives_in_errors_py() -> None:
    assert {cls.__module__ for cls in _public_exceptions().values()} == {"sbom_enrich.errors"}


def test_the_docstring_draws_every_class() -> None:
    drawn = errors.__doc__ or ""
    for name in errors.__all__:
        assert f" {name}" in drawn, name


def test_no_name_shadows_a_builtin() -> None:
    assert not set(errors.__all__) & set(dir(builtins))
