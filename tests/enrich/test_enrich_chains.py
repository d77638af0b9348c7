"""Enriching an SBOM: direct vs transitive and the chain, from its CycloneDX ``dependencies``.

The SBOM is written by the real cyclonedx-py (the test extra's cyclonedx-bom) from a real
environment: real wheels installed by pip from the test index, offline.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from cli_runner import Run
from indexserver import MakeIndexServer, ProjectSpec, built_wheel

CORPUS = next(
    (
        p / "shared" / "corpus" / "sboms"
        for p in Path(__file__).resolve().parents
        if (p / "shared" / "corpus" / "sboms").is_dir()
    ),
    Path("/nonexistent"),
)
OFFLINE = {
    "HTTP_PROXY": "http://127.0.0.1:9",
    "HTTPS_PROXY": "http://127.0.0.1:9",
    "NO_PROXY": "127.0.0.1,localhost",
}


def project(name: str, version: str, *requires: str, status: str = "active") -> ProjectSpec:
    return ProjectSpec(name, status=status, files=[built_wheel(name, version, requires)])


@pytest.fixture(params=["JSON", "XML"])
def environment_sbom(
    request: pytest.FixtureRequest, tmp_path: Path, make_index_server: MakeIndexServer
) -> Path:
    server = make_index_server(
        [
            project("requests", "2.32.3", "urllib3>=1", "idna"),
            project("urllib3", "2.0.0", status="archived"),
            project("idna", "3.7"),
            project("nose", "1.3.7", status="deprecated"),
        ],
        core_metadata=True,
    )
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "myapp"\nversion = "0.1"\ndependencies = ["requests", "nose"]\n'
    )
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith(("PIP_", "HTTP"))}
    env.update(OFFLINE, PIP_CONFIG_FILE=os.devnull)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install",
         "-q", "--no-cache-dir", "--index-url", server.url, "requests", "nose"],
        env=env, check=True, timeout=300,
    )  # fmt: skip
    cyclonedx_py = shutil.which("cyclonedx-py", path=str(Path(sys.executable).parent))
    assert cyclonedx_py, "cyclonedx-py comes with the test extra (cyclonedx-bom)"
    subprocess.run(
        [cyclonedx_py, "environment", "--pyproject", "pyproject.toml", "--output-format",
         request.param, "-o", f"sbom.{request.param.lower()}", str(venv / "bin" / "python")],
        cwd=tmp_path, env=env, check=True, timeout=300,
    )  # fmt: skip
    (tmp_path / "index.url").write_text(server.url)
    return tmp_path / f"sbom.{request.param.lower()}"


def enrich(cli: Callable[..., Run], sbom: Path, index_url: str) -> dict[str, dict[str, object]]:
    out, report = sbom.with_name(f"out{sbom.suffix}"), sbom.with_name("report.json")
    run = cli("enrich", str(sbom), "-o", str(out), "--index-url", index_url,
              "--report", str(report), "--fail-on", "none")  # fmt: skip
    assert run.code == 0, run.stderr
    return {c["name"]: c for c in json.loads(report.read_text())["components"]}


def test_a_cyclonedx_py_sbom_gives_the_chain_from_its_subject(
    environment_sbom: Path, cli: Callable[..., Run]
) -> None:
    index_url = environment_sbom.with_name("index.url").read_text()
    by_name = enrich(cli, environment_sbom, index_url)
    assert by_name["urllib3"]["direct"] is False
    assert by_name["urllib3"]["via"] == ["myapp", "requests", "urllib3"]
    assert by_name["nose"]["direct"] is True and by_name["nose"]["via"] == []
    assert by_name["idna"]["via"] == []  # active: no chain asked for


def test_without_a_subject_the_direct_ones_are_those_nothing_depends_on(
    tmp_path: Path, cli: Callable[..., Run], make_index_server: MakeIndexServer
) -> None:
    source = CORPUS / "cyclonedx-py-environment-1.6.json"
    if not source.is_file():
        pytest.skip("../shared/corpus/sboms is not beside this checkout")
    document = json.loads(source.read_text())
    assert "component" not in document["metadata"]
    sbom = tmp_path / "sbom.json"
    sbom.write_text(json.dumps(document))
    names = [c["name"] for c in document["components"]]
    server = make_index_server([project(n, "1.0", status="archived") for n in names])
    by_name = enrich(cli, sbom, server.url)
    # httpx was installed by name (nothing depends on it); anyio because httpx needs it.
    assert by_name["httpx"]["direct"] is True
    assert by_name["anyio"]["direct"] is False
    assert by_name["anyio"]["via"] == ["httpx", "anyio"]
