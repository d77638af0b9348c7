"""Differential check: our Simple API parser against pypi-simple on generated pages.

pypi-simple (a library nobody here wrote) parses file names and PEP 691/792 pages; for each
generated file name and page, both must agree on the version, yank state and status, or
pypi-simple must refuse what we turn into a failed lookup (never "active").
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timezone
from typing import Any

import pytest
from packaging.version import Version
from pypi_simple import ProjectPage as OracleProjectPage
from pypi_simple import UnparsableFilenameError, parse_filename

from sbom_enrich.status.model import ProjectStatus
from sbom_enrich.status.simple_api import parse_page, to_record, version_from_filename

NOW = datetime(2026, 11, 21, tzinfo=timezone.utc)
PROJECTS = ("demo", "Foo.Bar", "zope.interface", "my_pkg", "a-b-c", "x1")
VERSIONS = ("1.0", "2.0.0rc1", "1.1.0-rc1", "0.9.post1", "3.0.dev2", "1!2.0", "1.0+local.7",
            "2024.10.1", "0.0.1a1")  # fmt: skip
PLATFORMS = ("linux-x86_64", "macosx-10.9-x86_64", "win32", "win-amd64")


def file_names(project: str, version: str, rng: random.Random) -> list[str]:
    """The file names build tools have made for a release, in every historical format."""
    under = project.replace("-", "_")
    nodash = version.replace("-", "_")
    names = [
        f"{project}-{version}.tar.gz",
        f"{project}-{version}.zip",
        f"{project}-{version}.tar.bz2",
        f"{project}-{version}.{rng.choice(PLATFORMS)}.tar.gz",  # bdist_dumb
        f"{project}-{version}.{rng.choice(PLATFORMS[2:])}.exe",  # bdist_wininst
        f"{project}-{version}.{rng.choice(PLATFORMS[2:])}-py3.{rng.randrange(6, 13)}.msi",
        f"{under}-{nodash}-py3.{rng.randrange(6, 13)}.egg",
        f"{under}-{nodash}-py2-none-any.whl",
        f"{under}-{nodash}-1-cp312-cp312-manylinux_2_17_x86_64.whl",
    ]
    if "-" not in version and "+" not in version and "!" not in version:
        names.append(f"{project}-{version}-1.noarch.rpm")
    return names


def same_version(ours: str | None, theirs: str) -> bool:
    if ours == theirs:
        return True
    try:
        return ours is not None and Version(ours) == Version(theirs)
    except ValueError:
        return False


@pytest.mark.parametrize("seed", range(4))
def test_versions_from_file_names_agree_with_pypi_simple(seed: int) -> None:
    rng = random.Random(seed)
    compared = 0
    for project in PROJECTS:
        for version in VERSIONS:
            for filename in file_names(project, version, rng):
                try:
                    _name, theirs, _kind = parse_filename(filename, project)
                except UnparsableFilenameError:
                    continue
                ours = version_from_filename(filename, project)
                assert same_version(ours, theirs), (filename, ours, theirs)
                compared += 1
    assert compared > 400  # the oracle refused little: the comparison is not vacuous


def generated_page(rng: random.Random, project: str) -> dict[str, Any]:
    files = []
    for version in rng.sample(VERSIONS, 4):
        for filename in rng.sample(file_names(project, version, rng), 3):
            yanked: bool | str = rng.choice([False, False, True, "broken build"])
            files.append({"filename": filename, "url": f"../f/{filename}", "hashes": {},
                          "yanked": yanked})  # fmt: skip
    status = rng.choice(["active", "archived", "quarantined", "deprecated"])
    marker: dict[str, str] = {"status": status}
    if rng.random() < 0.5:
        marker["reason"] = "see the docs"
    return {"meta": {"api-version": "1.4"}, "name": project, "files": files,
            "project-status": marker}  # fmt: skip


@pytest.mark.parametrize("seed", range(25))
def test_generated_json_pages_agree_with_pypi_simple(seed: int) -> None:
    rng = random.Random(seed)
    project = rng.choice(PROJECTS)
    data = generated_page(rng, project)
    oracle = OracleProjectPage.from_json_data(data)
    record = to_record(
        parse_page(json.dumps(data).encode(), "application/vnd.pypi.simple.v1+json"),
        name=project,
        index_url="https://i/",
        checked_at=NOW,
    )
    assert oracle.status is not None and record.status.value == oracle.status.value
    assert record.reason == oracle.status_reason
    by_version: dict[Version, list[bool]] = {}
    for package in oracle.packages:
        assert package.version is not None, package.filename
        by_version.setdefault(Version(package.version), []).append(package.is_yanked)
    yanked = {version for version, flags in by_version.items() if all(flags)}
    assert {Version(v) for v in record.yanked} == yanked
    assert {Version(v) for v in record.versions or ()} == set(by_version)


@pytest.mark.parametrize(
    "marker",
    ["", 7, ["archived"], {"status": ""}, {"status": 7}, {"status": "archived", "reason": 3}],
    ids=repr,
)
def test_markers_pypi_simple_refuses_are_never_active_here(marker: object) -> None:
    data = {"meta": {"api-version": "1.4"}, "name": "demo", "files": [], "project-status": marker}
    with pytest.raises(ValueError):  # pydantic's ValidationError is a ValueError
        OracleProjectPage.from_json_data(data)
    record = to_record(
        parse_page(json.dumps(data).encode(), "application/vnd.pypi.simple.v1+json"),
        name="demo",
        index_url="https://i/",
        checked_at=NOW,
    )
    assert record.status is not ProjectStatus.ACTIVE


def html_of(data: dict[str, Any]) -> bytes:
    """The same page as PEP 503 HTML with PEP 792 <meta> markers (an HTML-only index)."""
    import html

    marker = data["project-status"]
    head = [
        '<meta name="pypi:repository-version" content="1.4">',
        f'<meta name="pypi:project-status" content="{marker["status"]}">',
    ]
    if "reason" in marker:
        head.append(f'<meta name="pypi:project-status-reason" content="{marker["reason"]}">')
    links = []
    for entry in data["files"]:
        yanked = entry["yanked"]
        attribute = ""
        if yanked is not False:
            attribute = f' data-yanked="{html.escape(yanked if isinstance(yanked, str) else "")}"'
        name = html.escape(entry["filename"])
        links.append(f'<a href="../../f/{name}#sha256=00"{attribute}>{name}</a><br/>')
    title = f"<title>Links for {data['name']}</title>"
    return f"<html><head>{''.join(head)}{title}</head><body>{''.join(links)}</body></html>".encode()


@pytest.mark.parametrize("seed", range(25))
def test_generated_html_pages_agree_with_pypi_simple(seed: int) -> None:
    rng = random.Random(1000 + seed)
    project = rng.choice(PROJECTS)
    body = html_of(generated_page(rng, project))
    oracle = OracleProjectPage.from_html(project, body)
    record = to_record(
        parse_page(body, "text/html"), name=project, index_url="https://i/", checked_at=NOW
    )
    assert oracle.status is not None and record.status.value == oracle.status.value
    assert record.reason == oracle.status_reason
    by_version: dict[Version, list[bool]] = {}
    reasons: dict[Version, set[str]] = {}
    for package in oracle.packages:
        assert package.version is not None, package.filename
        by_version.setdefault(Version(package.version), []).append(package.is_yanked)
        if package.yanked_reason:
            reasons.setdefault(Version(package.version), set()).add(package.yanked_reason)
    yanked = {version for version, flags in by_version.items() if all(flags)}
    assert {Version(v) for v in record.yanked} == yanked
    assert {Version(v) for v in record.versions or ()} == set(by_version)
    for version, reason in record.yanked.items():
        assert (reason in reasons.get(Version(version), set())) or (
            not reason and not reasons.get(Version(version))
        )
