"""The forges' answers read purely: GraphQL query shape, endpoints, rate-limit headers."""

from __future__ import annotations

import email.utils
import time

import pytest

from sbom_enrich.status.repository.forges import (
    MAX_RATE_LIMIT_WAIT,
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


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        # "²" is a digit to str.isdigit(), not to float(): ValueError, a traceback at ERROR.
        ({"Retry-After": "\u00b2"}, None),
        ({"Retry-After": "\u0667"}, None),  # Arabic-Indic 7: float() read it as 7
        # Unreadable Retry-After: the rate-limit headers still tell.
        ({"Retry-After": "\u00b2", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "x"}, 60.0),
        ({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "\u00b2"}, 60.0),
        ({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "9" * 5000}, MAX_RATE_LIMIT_WAIT),
        ({"Retry-After": "Mon, 01 Jan 99999999999999999999 00:00:00 GMT"}, None),
    ],
)
def test_rate_limit_headers_http_cannot_read_are_not_a_crash(
    headers: dict[str, str], expected: float | None
) -> None:
    assert rate_limit_reset(headers, NOW) == expected


def test_a_retry_after_date_in_minus_0000_is_utc_in_any_local_zone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # formatdate() writes "-0000" (RFC 5322: UTC, the local zone unknown); parsed naive, the
    # old reading took it as local time: 5.5 hours off in Kolkata.
    date = email.utils.formatdate(NOW + 20)
    assert date.endswith(" -0000")
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    try:
        assert rate_limit_reset({"Retry-After": date}, NOW) == 20.0
    finally:
        monkeypatch.undo()
        time.tzset()
