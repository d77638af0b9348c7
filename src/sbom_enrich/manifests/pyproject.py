"""pyproject.toml dependency tables (placeholder until the position-keeping scanner lands)."""

from __future__ import annotations

from .spans import ParsedManifest


def parse_pyproject_text(text: str) -> ParsedManifest:
    """Placeholder: finds nothing yet."""
    del text
    return ParsedManifest(kind="pyproject", requirements=(), problems=())
