"""One reading of where a package comes from, shared by check (locks, direct references) and
enrich (purl qualifiers): what is remote is asked by name, what is on this disk skipped."""

from __future__ import annotations

import pytest

from sbom_enrich.enrich.purls import purl_source
from sbom_enrich.manifests import parse_requirements_text
from sbom_enrich.status.urls import remote_kind

CASES = [
    ("https://files.example/evil_pkg-0.0.1-py3-none-any.whl", "url"),
    ("HTTP://files.example/x.tar.gz", "url"),
    ("s3://bucket/x.whl", "url"),
    ("git+https://github.com/org/repo@v1", "git"),
    ("git://github.com/org/repo", "git"),
    ("git@github.com:org/repo.git", "git"),
    ("hg+https://hg.example/repo", "vcs"),
    ("svn+ssh://svn.example/repo", "vcs"),
    ("file:///opt/wheels/x.whl", None),
    ("git+file:///srv/repos/x", None),
    ("./vendor/x.whl", None),
    ("vendor/x.whl", None),
    ("C:\\wheels\\x.whl", None),
    ("https://[::1/x", None),  # no location to fetch from
]


@pytest.mark.parametrize(("url", "kind"), CASES)
def test_remote_kind(url: str, kind: str | None) -> None:
    assert remote_kind(url) == kind


@pytest.mark.parametrize(("url", "kind"), [c for c in CASES if "://" in c[0] and "[" not in c[0]])
def test_check_and_enrich_read_a_location_alike(url: str, kind: str | None) -> None:
    """`name @ git+file:///…` was remote to check and local to enrich, `s3://` the reverse:
    the same package was asked in one and skipped in the other."""
    parsed = parse_requirements_text(f"pkg @ {url}\n")
    [requirement] = parsed.requirements
    skipped, off_index = purl_source({"download_url": url})
    assert requirement.remote == kind
    assert (skipped is None) == (kind is not None)
    assert off_index == kind or (kind in ("git", "vcs") and off_index in ("git", "vcs"))
