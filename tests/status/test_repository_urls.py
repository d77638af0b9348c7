"""Forge URLs from untrusted text: only well-formed URLs on known forges, rebuilt from parts."""

from __future__ import annotations

import pytest

from sbom_enrich.status.repository.settings import RepositorySettings
from sbom_enrich.status.repository.urls import (
    Forge,
    candidates_from_project_urls,
    first_repository,
    parse_forge_url,
    unrecognised_host,
)

FORGES = RepositorySettings(gitea_api_url="https://git.example.org/api/v1").forge_table()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("https://github.com/psf/requests", "https://github.com/psf/requests"),
        ("https://github.com/psf/requests.git", "https://github.com/psf/requests"),
        ("http://github.com/psf/requests/", "https://github.com/psf/requests"),
        ("https://GitHub.com/psf/requests/issues", "https://github.com/psf/requests"),
        ("https://github.com/psf/requests/tree/main/src", "https://github.com/psf/requests"),
        ("https://github.com/psf/requests#readme", "https://github.com/psf/requests"),
        ("https://github.com/psf/requests?tab=readme", "https://github.com/psf/requests"),
        ("git+https://github.com/psf/requests.git", "https://github.com/psf/requests"),
        ("git+ssh://git@github.com/psf/requests.git", "https://github.com/psf/requests"),
        ("git@github.com:psf/requests.git", "https://github.com/psf/requests"),
        ("git://github.com/psf/requests", "https://github.com/psf/requests"),
        ("  https://github.com/psf/requests  ", "https://github.com/psf/requests"),
        ("https://gitlab.com/group/sub/project", "https://gitlab.com/group/sub/project"),
        ("https://gitlab.com/group/sub/project/-/issues", "https://gitlab.com/group/sub/project"),
        ("https://gitlab.com/group/project.git", "https://gitlab.com/group/project"),
        ("https://codeberg.org/forgejo/forgejo", "https://codeberg.org/forgejo/forgejo"),
        ("https://git.example.org/team/tool", "https://git.example.org/team/tool"),
    ],
)
def test_well_formed_forge_urls_are_normalised(text: str, expected: str) -> None:
    ref = parse_forge_url(text, FORGES)
    assert ref is not None
    assert ref.url == expected


@pytest.mark.parametrize(
    "text",
    [
        "https://evil.example/psf/requests",  # not a forge
        "https://github.com.evil.example/psf/requests",  # lookalike host
        "https://evil.example/github.com/psf/requests",
        "https://github.com@evil.example/psf/requests",  # user part hides the real host
        "https://user:pass@github.com/psf/requests",
        "https://evil.example#@github.com/psf/requests",
        "https://github.com:8443/psf/requests",  # a port: not the forge
        "https://github.com/psf",  # no repository
        "https://github.com/",
        "https://github.com/sponsors/psf",  # a page, not an owner
        "https://github.com/orgs/psf",
        "https://github.com/../../etc/passwd",
        "https://github.com/psf/..",
        "https://github.com/psf/%2e%2e",
        "https://github.com/psf/requests%0d%0aX-Injected:1",
        "https://github.com/psf/req uests",
        "https://github.com/psf\\requests",
        "https://github.com/-psf/requests",  # GitHub owners never start with a hyphen
        "https://github.com/psf/requ\u0435sts",  # Cyrillic e
        "https://xn--gthub-cta.com/psf/requests",
        "javascript:alert(1)//github.com/psf/requests",
        "file:///github.com/psf/requests",
        "ftp://github.com/psf/requests",
        "github.com/psf/requests",  # no scheme: not taken on trust
        "git@evil.example:psf/requests.git",
        "https://github.com/psf/requests\x00",
        "https://gitlab.com/group/sub/proj./x",
        "https://gitlab.com/" + "/".join(["g"] * 12),  # deeper than any real group
        "https://github.com/" + "a" * 500 + "/b",
        "",
        None,
        42,
    ],
)
def test_anything_else_is_refused(text: object) -> None:
    assert parse_forge_url(text, FORGES) is None


def test_the_ref_names_its_forge_and_path() -> None:
    ref = parse_forge_url("https://gitlab.com/group/sub/project", FORGES)
    assert ref is not None
    assert (ref.forge, ref.host, ref.path) == (
        Forge.GITLAB,
        "gitlab.com",
        ("group", "sub", "project"),
    )
    assert ref.key == "gitlab:gitlab.com/group/sub/project"


def test_project_urls_source_links_come_before_the_home_page() -> None:
    urls = candidates_from_project_urls(
        {
            "Documentation": "https://requests.readthedocs.io",
            "Homepage": "https://requests.readthedocs.io",
            "Source": "https://github.com/psf/requests",
        },
        "https://example.org",
    )
    assert urls[0] == "https://github.com/psf/requests"
    ref = first_repository(urls, FORGES)
    assert ref is not None and ref.url == "https://github.com/psf/requests"


def test_a_configured_github_enterprise_host_is_a_forge() -> None:
    forges = RepositorySettings(github_api_url="https://ghe.example.com/api/v3").forge_table()
    ref = parse_forge_url("https://ghe.example.com/team/tool", forges)
    assert ref is not None and ref.forge is Forge.GITHUB
    assert forges.endpoint(ref) is not None
    # github.com stays on api.github.com, and the Enterprise token is not sent there.
    public = RepositorySettings(
        github_api_url="https://ghe.example.com/api/v3", github_token="ghe-token"
    ).forge_table()
    assert public.hosts["github.com"].api_url == "https://api.github.com"
    assert public.hosts["github.com"].token is None
    assert public.hosts["ghe.example.com"].token == "ghe-token"
    # Any other GitHub API URL (a proxy, a test server) replaces api.github.com.
    proxied = RepositorySettings(github_api_url="http://127.0.0.1:9/github").forge_table()
    assert proxied.hosts["github.com"].api_url == "http://127.0.0.1:9/github"


def test_a_self_hosted_gitlab_serves_its_own_host_only() -> None:
    forges = RepositorySettings(
        gitlab_api_url="https://gitlab.example.org/api/v4", gitlab_token="glpat-x"
    ).forge_table()
    ref = parse_forge_url("https://gitlab.example.org/group/sub/tool", forges)
    assert ref is not None and ref.forge is Forge.GITLAB
    assert forges.hosts["gitlab.example.org"].token == "glpat-x"
    # gitlab.com stays on gitlab.com, without the self-hosted server's token.
    assert forges.hosts["gitlab.com"].api_url == "https://gitlab.com/api/v4"
    assert forges.hosts["gitlab.com"].token is None
    # A proxy standing in for api.github.com is no forge host of its own.
    proxied = RepositorySettings(github_api_url="http://127.0.0.1:9/github").forge_table()
    assert "127.0.0.1" not in proxied.hosts


@pytest.mark.parametrize(
    ("candidates", "expected"),
    [
        (["https://git.example.com/team/tool"], "git.example.com"),
        (["git+https://Git.Example.com/team/tool.git"], "git.example.com"),
        (["https://github.com/psf/requests"], None),  # a known forge
        (["https://example.org"], None),  # a home page, not a repository path
        (["https://exa\x1bmple.org/a/b", "javascript:alert(1)", 7], None),  # never shown
        (["https://" + "a" * 500 + ".org/a/b"], None),
    ],
)
def test_an_unrecognised_host_is_named_only_when_well_formed(
    candidates: list[object], expected: str | None
) -> None:
    assert unrecognised_host(candidates, FORGES) == expected
