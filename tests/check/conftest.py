"""Fixtures for `check` tests: a project directory and a runner against the test index."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest

from indexserver import IndexServer
from sbom_enrich.cli import main


class Run:
    """What one main() call did: exit code, bytes on stdout, text on stderr."""

    def __init__(self, code: int, stdout: bytes, stderr: str) -> None:
        self.code, self.stdout, self.stderr = code, stdout, stderr


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty project directory that is the current directory."""
    root = tmp_path / "project"
    root.mkdir()
    monkeypatch.chdir(root)
    return root


@pytest.fixture
def cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], index_server: IndexServer
) -> Callable[..., Run]:
    """Run ``sbom-enrich ARGV`` in-process; the test index is the default index (env twin)."""

    def run(*argv: str, env: dict[str, str] | None = None, stdin: bytes = b"") -> Run:
        out = io.BytesIO()
        base = {
            "SBOM_ENRICH_CACHE_DIR": str(tmp_path / "cache"),
            "HOME": str(tmp_path),
            "SBOM_ENRICH_INDEX_URL": index_server.url,
        }
        merged = {k: v for k, v in {**base, **(env or {})}.items() if v is not None}
        code = main(list(argv), env=merged, stdin=io.BytesIO(stdin), stdout=out)
        return Run(code, out.getvalue(), capsys.readouterr().err)

    return run


@pytest.fixture
def check(cli: Callable[..., Run]) -> Callable[..., Run]:
    def run(*argv: str, **kwargs: object) -> Run:
        return cli("check", *argv, **kwargs)

    return run
