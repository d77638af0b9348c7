"""A PyPI component installed from a URL or a VCS repository is asked by name, as ``check``
asks a lock's URL entry: a quarantined name cannot hide behind ``?download_url=…``, and what
is written says it is the index's status of the name, not of that component."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from test_enrich_run_options import bom, component
from test_enrich_unseen_components import NS, xml_bom

from cli_runner import Run
from indexserver import IndexServer

PYPI = "sbom-enrich:pypi:"
EVIL_URL = "pkg:pypi/evil-pkg@0.0.1?download_url=https://files.example/evil_pkg-0.0.1.whl"


def props(node: dict[str, Any]) -> dict[str, str]:
    return {p["name"]: p["value"] for p in node.get("properties", [])}


def xml_props(node: etree._Element) -> dict[str, str]:
    return {p.get("name", ""): p.text or "" for p in node.iter(f"{{{NS}}}property")}


def enrich(
    cli: Callable[..., Run], tmp_path: Path, data: bytes, suffix: str, *argv: str
) -> tuple[Run, bytes, dict[str, Any]]:
    source, output, summary = tmp_path / f"in{suffix}", tmp_path / f"out{suffix}", tmp_path / "s"
    source.write_bytes(data)
    output.unlink(missing_ok=True)
    summary.unlink(missing_ok=True)
    run = cli("enrich", str(source), "-o", str(output), "--summary-json", str(summary), *argv)
    assert "Traceback" not in run.stderr
    written = output.read_bytes() if output.exists() else b""
    return run, written, json.loads(summary.read_text()) if summary.exists() else {}


def test_a_quarantined_name_cannot_hide_behind_a_download_url(
    cli: Callable[..., Run], tmp_path: Path, index_server: IndexServer
) -> None:
    # The wheel comes from elsewhere, but the name it installs is one the index quarantined
    # (grype and Dependency-Track match it by that name). It was skipped and the run passed.
    planted = [
        {"name": "build", "value": "ci"},
        {"name": PYPI + "project-status", "value": "active"},
    ]
    evil = component("evil-pkg", "0.0.1", purl=EVIL_URL, properties=planted)
    data = bom([component("requests", "2.31.0"), evil])
    run, output, summary = enrich(cli, tmp_path, data, ".json", "--fail-on", "quarantined")
    assert run.code == 1, run.stderr
    assert "evil-pkg · 0.0.1 · quarantined · off-index (url)" in run.stderr
    assert "evil-pkg (quarantined, installed from a url source)" in run.stderr
    assert index_server.stats.by_project["evil-pkg"] == 1
    written = json.loads(output)["components"][1]
    # Where it came from and the index's word on its name, under a name of its own: no
    # project-status (planted or ours), no version facts of a file the index never served.
    assert props(written) == {
        "build": "ci",
        PYPI + "off-index": "url",
        PYPI + "name-status": "quarantined",
        PYPI + "name-status-reason": "Reported as malware",
        PYPI + "index": index_server.url,
        PYPI + "checked-at": props(written)[PYPI + "checked-at"],
    }
    by_name = {c["name"]: c for c in summary["components"]}
    assert by_name["evil-pkg"]["off_index"] == "url" and by_name["requests"]["off_index"] is None
    assert by_name["evil-pkg"]["version_missing"] is False
    assert summary["skipped"] == 0


def test_an_xml_component_from_git_is_asked_by_name(
    cli: Callable[..., Run], tmp_path: Path
) -> None:
    data = xml_bom(
        '    <component type="library"><name>evil-pkg</name>'
        "<purl>pkg:pypi/evil-pkg@0.0.1?vcs_url=git%2Bhttps://git.example/e.git</purl>"
        f'<properties><property name="{PYPI}project-status">active</property></properties>'
        "</component>\n"
    )
    run, output, _ = enrich(cli, tmp_path, data, ".xml", "--fail-on", "quarantined")
    assert run.code == 1, run.stderr
    assert "evil-pkg · 0.0.1 · quarantined · off-index (git)" in run.stderr
    evil = etree.fromstring(output).findall(f"{{{NS}}}components/{{{NS}}}component")[1]
    written = xml_props(evil)
    assert written[PYPI + "off-index"] == "git" and written[PYPI + "name-status"] == "quarantined"
    assert PYPI + "project-status" not in written


def test_an_off_index_namesake_fails_the_gate_only_when_quarantined(
    cli: Callable[..., Run], tmp_path: Path, index_server: IndexServer
) -> None:
    """A private package from git bears a name a public project has: --fail-on deprecated
    must not fail on that project's state (no change to the SBOM could fix it), and its
    status must not be written as the component's."""
    nose = component("nose", "9.0", purl="pkg:pypi/nose@9.0?vcs_url=git%2Bhttps://git.example/n")
    data = bom([component("requests", "2.31.0"), nose])
    argv = ("--fail-on", "deprecated,archived,quarantined", "--no-cache")
    run, output, summary = enrich(cli, tmp_path, data, ".json", *argv)
    assert run.code == 0, run.stderr
    assert "nose · 9.0 · deprecated · off-index (git)" in run.stderr
    # Nor does the summary suggest the namesake's replacements for it (pytest, unittest).
    assert "alternatives:" not in run.stderr
    assert {c["name"]: c["alternatives"] for c in summary["components"]}["nose"] == []
    written = props(json.loads(output)["components"][1])
    assert written[PYPI + "name-status"] == "deprecated"
    assert not {PYPI + "project-status", PYPI + "version-missing", PYPI + "latest-version"} & set(
        written
    )
    assert "sbom-enrich:alternative" not in written  # the namesake's replacements
    index_server.set_status("nose", "quarantined")
    run, _, _ = enrich(cli, tmp_path, data, ".json", *argv)
    assert run.code == 1, run.stderr
    assert "nose (quarantined, installed from a git source)" in run.stderr


def test_components_from_urls_only_checked_nothing(
    cli: Callable[..., Run], tmp_path: Path, index_server: IndexServer
) -> None:
    # Private packages whose names the index does not know: asking them checked nothing
    # installed from an index, and is no hint that the index URL is wrong.
    data = bom([
        component("corp-a", "1.0", purl="pkg:pypi/corp-a@1.0?download_url=https://h.example/a"),
        component("corp-b", "1.0", purl="pkg:pypi/corp-b@1.0?vcs_url=git%2Bssh://h.example/b"),
    ])  # fmt: skip
    run, _, _ = enrich(cli, tmp_path, data, ".json")
    assert run.code == 3, run.stderr
    assert "nothing was checked: 2 packages come from a URL" in run.stderr
    assert "index URL right" not in run.stderr
    assert index_server.stats.by_project["corp-a"] == 1


@pytest.mark.parametrize(
    "qualifier",
    [
        "download_url=file:///srv/wheels/evil_pkg-0.0.1.whl",
        "vcs_url=git%2Bfile:///srv/git/evil.git",
        "file_name=/srv/wheels/evil_pkg-0.0.1.whl",
    ],
)
def test_a_component_on_this_disk_stays_skipped(
    cli: Callable[..., Run], tmp_path: Path, index_server: IndexServer, qualifier: str
) -> None:
    evil = component("evil-pkg", "0.0.1", purl=f"pkg:pypi/evil-pkg@0.0.1?{qualifier}")
    run, _, summary = enrich(cli, tmp_path, bom([component("requests", "2.31.0"), evil]), ".json")
    assert run.code == 0, run.stderr
    assert "not asked on any index: evil-pkg 0.0.1: local" in run.stderr
    assert summary["skipped"] == 1 and index_server.stats.by_project["evil-pkg"] == 0


def test_a_quarantine_vulnerability_names_the_component_from_a_url(
    cli: Callable[..., Run], tmp_path: Path
) -> None:
    """The gate fails on it, so the vulnerability Dependency-Track and grype read lists it
    too, saying it is the name's quarantine and the component came from elsewhere."""
    evil = component("evil-pkg", "0.0.1", purl=EVIL_URL)
    data = bom([component("requests", "2.31.0"), evil])
    run, output, _ = enrich(cli, tmp_path, data, ".json", "--quarantined-as-vulnerability")
    assert run.code == 1, run.stderr
    [vulnerability] = json.loads(output)["vulnerabilities"]
    assert vulnerability["affects"] == [{"ref": "evil-pkg==0.0.1"}]
    assert "1 of the affected components was installed from a URL" in (vulnerability["description"])
