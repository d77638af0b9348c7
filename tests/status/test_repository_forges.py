"""The forges' answers read purely: GraphQL query shape, endpoints, rate-limit headers."""

from __future__ import annotations

import email.utils

from sbom_enrich.status.repository.forges import (
    graphql_query,
    graphql_url,
    rate_limit_reset,
    rest_url,
)
from sbom_enrich.status.repository.urls import Forge, RepoRef

NOW = 1_800_000_000.0


def test_names_travel_as_variables_never_inside_the_query() -> None:
    refs = [RepoRef(Forge.GITHUB, "github.com", ("psf", "requests")),
            RepoRef(Forge.GITHUB, "github.com", ("pallets", "flask"))]  # fmt: skip
    query, variables = graphql_query(refs)
    assert "psf" not in query and "flask" not in query
    assert variables == {"o0": "psf", "n0": "requests", "o1": "pallets", "n1": "flask"}
    assert "r1: repository(owner: $o1, name: $n1)" in query
    assert query.count("repository(") == 2


def test_endpoints_for_github_com_enterprise_gitlab_and_gitea() -> None:
    assert graphql_url("https://api.github.com") == "https://api.github.com/graphql"
    assert graphql_url("https://ghe.example/api/v3") == "https://ghe.example/api/graphql"
    gitlab = RepoRef(Forge.GITLAB, "gitlab.com", ("group", "sub", "tool"))
    assert rest_url("https://gitlab.com/api/v4", gitlab) == (
        "https://gitlab.com/api/v4/projects/group%2Fsub%2Ftool"
    )
    gitea = RepoRef(Forge.GITEA, "codeberg.org", ("team", "lib"))
    assert rest_url("https://codeberg.org/api/v1", gitea) == (
        "https://codeberg.org/api/v1/repos/team/lib"
    )


def test_rate_limit_headers() -> None:
    assert rate_limit_reset({}, NOW) is None
    assert rate_limit_reset({"X-RateLimit-Remaining": "12"}, NOW) is None
    github = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(NOW) + 90)}
    assert rate_limit_reset(github, NOW) == 90.0
    gitlab = {"RateLimit-Remaining": "0", "RateLimit-Reset": str(int(NOW) + 5)}
    assert rate_limit_reset(gitlab, NOW) == 5.0
    assert rate_limit_reset({"Retry-After": "7"}, NOW) == 7.0
    date = email.utils.formatdate(NOW + 20, usegmt=True)
    assert rate_limit_reset({"Retry-After": date}, NOW) == 20.0
    # Remaining 0 without a usable reset: a minute, never forever.
    assert (
        rate_limit_reset({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "soon"}, NOW) == 60.0
    )
