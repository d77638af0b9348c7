"""The forges' answers, read: GitHub (GraphQL and REST), GitLab v4, Gitea/Forgejo v1. Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote

from ..answer_values import decimal, seconds_until
from ..model import parse_rfc3339, utc_now
from .model import RepoRecord, RepoState
from .urls import Forge, RepoRef, repo_path

__all__ = [
    "graphql_query",
    "graphql_url",
    "parse_graphql",
    "rate_limit_reset",
    "read_repository",
    "rest_url",
]

#: Per repository: archived, last push, and the default branch's last commit date.
_GRAPHQL_FIELDS = (
    "nameWithOwner isArchived pushedAt "
    "defaultBranchRef { target { ... on Commit { committedDate } } }"
)


def graphql_url(api_url: str) -> str:
    """GitHub's GraphQL endpoint for a REST base: ``/graphql``, or ``/api/graphql`` on GHE."""
    if api_url.endswith("/api/v3"):
        return api_url[: -len("/v3")] + "/graphql"
    return api_url + "/graphql"


def rest_url(api_url: str, ref: RepoRef) -> str:
    """The one-repository REST URL. Segments are validated already; quoted all the same."""
    if ref.forge is Forge.GITLAB:
        return f"{api_url}/projects/{quote('/'.join(ref.path), safe='')}"
    owner, name = (quote(part, safe="") for part in ref.path)
    return f"{api_url}/repos/{owner}/{name}"


def graphql_query(refs: Sequence[RepoRef]) -> tuple[str, dict[str, str]]:
    """One query for many repositories, one alias each; owner and name go in as variables.

    Variables, not string interpolation: a name can never change the query's shape.
    """
    declarations: list[str] = []
    selections: list[str] = []
    variables: dict[str, str] = {}
    for position, ref in enumerate(refs):
        declarations.append(f"$o{position}: String!, $n{position}: String!")
        selections.append(
            f"r{position}: repository(owner: $o{position}, name: $n{position}) "
            f"{{ {_GRAPHQL_FIELDS} }}"
        )
        variables[f"o{position}"] = ref.path[0]
        variables[f"n{position}"] = ref.path[1]
    query = (
        f"query({', '.join(declarations)}) {{ "
        + " ".join(selections)
        + " rateLimit { cost remaining resetAt } }"
    )
    return query, variables


def _time(value: object) -> datetime | None:
    if not isinstance(value, str) or len(value) > 40:
        return None
    try:
        return parse_rfc3339(value)
    except ValueError:
        return None


def _moved(ref: RepoRef, answered_path: object) -> str | None:
    """The new URL when the forge answered for another path (renamed/transferred), validated."""
    if not isinstance(answered_path, str) or len(answered_path) > 400:
        return None
    # The same naming rules as a URL from an SBOM: the forge's answer is untrusted too.
    segments = answered_path.split("/")
    if any(segment in {"", ".", ".."} for segment in segments):
        return None
    path = repo_path(ref.forge, segments)
    if path is None or len(path) != len(segments):
        return None
    if "/".join(path).lower() == "/".join(ref.path).lower():
        return None
    return RepoRef(ref.forge, ref.host, path).url


def found(
    ref: RepoRef, *, archived: object, last_commit: object, answered_path: object
) -> RepoRecord:
    """A FOUND record from a forge's fields; fields of the wrong type count as not given."""
    return RepoRecord(
        url=ref.url,
        forge=ref.forge.value,
        state=RepoState.FOUND,
        checked_at=utc_now(),
        archived=archived if isinstance(archived, bool) else None,
        last_commit=_time(last_commit),
        moved_to=_moved(ref, answered_path),
    )


def gone(ref: RepoRef) -> RepoRecord:
    return RepoRecord(ref.url, ref.forge.value, RepoState.GONE, utc_now())


def unknown(ref: RepoRef, error: str) -> RepoRecord:
    return RepoRecord(ref.url, ref.forge.value, RepoState.UNKNOWN, utc_now(), error=error)


def read_repository(ref: RepoRef, data: object) -> RepoRecord:
    """One REST answer (GitHub ``/repos``, GitLab ``/projects``, Gitea ``/repos``) → record."""
    if not isinstance(data, Mapping):
        return unknown(ref, "the forge sent something that is not a repository")
    if ref.forge is Forge.GITLAB:
        return found(
            ref,
            archived=data.get("archived"),
            last_commit=data.get("last_activity_at"),
            answered_path=data.get("path_with_namespace"),
        )
    # Gitea/Forgejo have no push time; their updated_at moves with every push.
    last = data.get("pushed_at") if ref.forge is Forge.GITHUB else data.get("updated_at")
    return found(
        ref, archived=data.get("archived"), last_commit=last, answered_path=data.get("full_name")
    )


def parse_graphql(refs: Sequence[RepoRef], body: object) -> dict[str, RepoRecord] | None:
    """Records for the refs GraphQL answered; None when the answer is no GraphQL answer at all.

    A ``null`` repository with a ``NOT_FOUND`` error is gone; a ``null`` for any other reason
    (permissions, a partial failure) is left out, so the caller asks REST for it.
    """
    if not isinstance(body, Mapping) or not isinstance(body.get("data"), Mapping):
        return None
    data: Mapping[str, Any] = body["data"]
    not_found: set[str] = set()
    errors = body.get("errors")
    for error in errors if isinstance(errors, list) else ():  # a number there raised
        if isinstance(error, Mapping) and error.get("type") == "NOT_FOUND":
            path = error.get("path")
            if isinstance(path, list) and path and isinstance(path[0], str):
                not_found.add(path[0])
    records: dict[str, RepoRecord] = {}
    for position, ref in enumerate(refs):
        alias = f"r{position}"
        node = data.get(alias)
        if isinstance(node, Mapping):
            branch = node.get("defaultBranchRef")
            target = branch.get("target") if isinstance(branch, Mapping) else None
            committed = target.get("committedDate") if isinstance(target, Mapping) else None
            records[ref.key] = found(
                ref,
                archived=node.get("isArchived"),
                last_commit=committed or node.get("pushedAt"),
                answered_path=node.get("nameWithOwner"),
            )
        elif alias in not_found:
            records[ref.key] = gone(ref)
    return records


def rate_limit_reset(headers: Mapping[str, str], now: float) -> float | None:
    """Seconds until the forge takes requests again, from its headers; None when not limited.

    ``Retry-After`` (seconds or an HTTP date) wins; else, when the remaining count is 0, the
    reset time (GitHub's ``X-RateLimit-Reset`` and GitLab's ``RateLimit-Reset`` are epoch
    seconds). At most a day: a reset 30,000 years away (or ``inf``) cannot be shown as a time.
    """
    seconds = _rate_limit_reset(headers, now)
    return None if seconds is None else min(seconds, MAX_RATE_LIMIT_WAIT)


#: Longest rate-limit wait believed (a run never waits longer than its --timeout anyway).
MAX_RATE_LIMIT_WAIT = 86_400.0


def _rate_limit_reset(headers: Mapping[str, str], now: float) -> float | None:
    # Read as HTTP reads them (answer_values): "²" is a digit to str.isdigit() but not to
    # float() (ValueError: the batch's repositories were an internal error, with a traceback
    # logged), and a "-0000" date was naive, read by timestamp() in the local zone.
    retry_after = headers.get("Retry-After", "").strip()
    if retry_after:
        seconds = seconds_until(retry_after, now)
        if seconds is not None:
            return seconds
    remaining = headers.get("X-RateLimit-Remaining") or headers.get("RateLimit-Remaining")
    if remaining is not None and remaining.strip() == "0":
        reset = headers.get("X-RateLimit-Reset") or headers.get("RateLimit-Reset") or ""
        at = decimal(reset, _LATEST_RESET)
        if at is not None:
            return max(0.0, at - now)
        return 60.0
    return None


#: A reset (epoch seconds) past this is this: the wait is capped at a day anyway.
_LATEST_RESET = 10**12
