"""The one TOML reader import: the stdlib's tomllib, or tomli (the same code) before 3.11."""

from __future__ import annotations

import sys

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]

__all__ = ["TOO_DEEP", "tomllib"]

#: What to say when tomllib gives up on nesting (it recurses, and raises RecursionError).
TOO_DEEP = "values nested too deeply"
