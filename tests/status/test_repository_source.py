"""The repository source against a fake forge on 127.0.0.1 (tests/fakeforge.py)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest

from fakeforge import FakeForge, FakeRepo, ForgeRouter
from sbom_enrich.errors import SettingsError
from sbom_enrich.status._http.client import build_http_client
from sbom_enrich.status.repository import (
    RepoCache,
    RepoRecord,
    RepoRef,
    RepositorySettings,
    RepositorySource,
    RepoState,
    parse_forge_url,
)
from sbom_enrich.status.settings import ClientSettings

SECRET = "ghp_S3CRET_never_print_me"

MakeSource = Callable[..., RepositorySource]


@pytest.fixture
def forge() -> Iterator[FakeForge]:
    with FakeForge(
        github={
            "psf/requests": FakeRepo(),
            "pycrypto-org/pycrypto": FakeRepo(archived=True, pushed_at="2014-06-20T00:00:00Z"),
            "new-owner/new-name": FakeRepo(),
        },
        gitlab={"group/sub/tool": FakeRepo(archived=True)},
        gitea={"team/lib": FakeRepo(pushed_at="2020-01-01T00:00:00Z")},
        renamed={"old-owner/old-name": "new-owner/new-name"},
    ) as server:
        yield server


@pytest.fixture
async def http(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with build_http_client(ClientSettings(), netrc_file=tmp_path / "no-netrc") as client:
        yield client


@pytest.fixture
def router(forge: FakeForge) -> ForgeRouter:
    """gitlab.com, codeberg.org and two self-hosted forges, all answered by the fake."""
    return ForgeRouter(
        {
            "https://gitlab.com": f"{forge.url}/gitlab",
            "https://codeberg.org": f"{forge.url}/gitea",
            "https://gitlab.example.org": f"{forge.url}/gitlab",
            "https://git.example.net": f"{forge.url}/gitea",
            "http://gitlab.internal": f"{forge.url}/gitlab",
        }
    )


@pytest.fixture
async def routed(router: ForgeRouter) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=router) as client:
        yield client


@pytest.fixture
def make_source(forge: FakeForge, routed: httpx.AsyncClient) -> MakeSource:
    def make(
        *, token: str | None = SECRET, cache: RepoCache | None = None, **options: object
    ) -> RepositorySource:
        settings = RepositorySettings(
            github_api_url=f"{forge.url}/github",
            github_token=token,
            **options,  # type: ignore[arg-type]
        )
        return RepositorySource(http=routed, settings=settings, cache=cache)

    return make


def ref(source: RepositorySource, url: str) -> RepoRef:
    parsed = parse_forge_url(url, source.forges)
    assert parsed is not None, url
    return parsed


async def ask(source: RepositorySource, urls: list[str]) -> dict[str, RepoRecord]:
    return {r.url: r async for r in source.query_all([ref(source, url) for url in urls])}


async def test_github_graphql_reads_archived_active_renamed_and_gone(
    forge: FakeForge, make_source: MakeSource
) -> None:
    source = make_source()
    records = await ask(
        source,
        [
            "https://github.com/psf/requests",
            "https://github.com/pycrypto-org/pycrypto",
            "https://github.com/old-owner/old-name",
            "https://github.com/someone/deleted",
        ],
    )
    active = records["https://github.com/psf/requests"]
    assert (active.state, active.archived) == (RepoState.FOUND, False)
    assert active.last_commit is not None and active.last_commit.isoformat().startswith(
        "2026-11-01T09"
    )
    assert records["https://github.com/pycrypto-org/pycrypto"].archived is True
    renamed = records["https://github.com/old-owner/old-name"]
    assert renamed.moved_to == "https://github.com/new-owner/new-name"
    assert records["https://github.com/someone/deleted"].state is RepoState.GONE
    assert forge.count("/github/graphql") == 1
    assert forge.count("/github/repos") == 0


async def test_a_thousand_github_repositories_take_ten_graphql_requests(
    forge: FakeForge, make_source: MakeSource
) -> None:
    forge.github.update({f"owner{i}/repo{i}": FakeRepo() for i in range(1000)})
    source = make_source()
    records = await ask(source, [f"https://github.com/owner{i}/repo{i}" for i in range(1000)])
    assert len(records) == 1000
    assert all(r.state is RepoState.FOUND for r in records.values())
    assert forge.count("/github/graphql") == 10
    assert source.requests == 10


async def test_without_a_token_rest_is_asked_and_a_note_says_so(
    forge: FakeForge, make_source: MakeSource
) -> None:
    source = make_source(token=None)
    records = await ask(
        source,
        [
            "https://github.com/psf/requests",
            "https://github.com/old-owner/old-name",
            "https://github.com/someone/deleted",
        ],
    )
    assert forge.count("/github/graphql") == 0
    assert records["https://github.com/psf/requests"].last_commit is not None
    # The renamed repository: REST answers 301 to /repositories/{id} on the same origin.
    assert records["https://github.com/old-owner/old-name"].moved_to == (
        "https://github.com/new-owner/new-name"
    )
    assert records["https://github.com/someone/deleted"].state is RepoState.GONE
    assert any("GITHUB_TOKEN is not set" in note for note in source.notes)


async def test_rest_is_the_fallback_when_graphql_is_not_there(
    forge: FakeForge, make_source: MakeSource
) -> None:
    forge.graphql = False
    source = make_source()
    records = await ask(source, ["https://github.com/psf/requests"])
    assert records["https://github.com/psf/requests"].state is RepoState.FOUND
    assert forge.count("/github/repos/psf/requests") == 1
    assert any("GraphQL" in note for note in source.notes)


async def test_gitlab_and_gitea(forge: FakeForge, make_source: MakeSource) -> None:
    source = make_source()
    records = await ask(
        source,
        [
            "https://gitlab.com/group/sub/tool",
            "https://gitlab.com/group/gone",
            "https://codeberg.org/team/lib",
        ],
    )
    assert records["https://gitlab.com/group/sub/tool"].archived is True
    assert records["https://gitlab.com/group/gone"].state is RepoState.GONE
    gitea = records["https://codeberg.org/team/lib"]
    assert (gitea.archived, gitea.last_commit and gitea.last_commit.year) == (False, 2020)
    # GitLab's project id is the URL-encoded full path.
    assert forge.count("/gitlab/api/v4/projects/group%2Fsub%2Ftool") == 1


async def test_self_hosted_gitlab_and_gitea_beside_the_public_ones(
    forge: FakeForge, make_source: MakeSource, router: ForgeRouter
) -> None:
    source = make_source(
        gitlab_api_url="https://gitlab.example.org/api/v4",
        gitea_api_url="https://git.example.net/api/v1",
        gitlab_token="glpat-self-hosted",
        gitea_token="gitea-self-hosted",
    )
    records = await ask(
        source,
        [
            "https://gitlab.example.org/group/sub/tool",
            "https://gitlab.com/group/sub/tool",
            "https://git.example.net/team/lib",
            "https://codeberg.org/team/lib",
        ],
    )
    assert all(r.state is RepoState.FOUND for r in records.values()), records
    assert records["https://gitlab.example.org/group/sub/tool"].forge == "gitlab"
    assert records["https://git.example.net/team/lib"].forge == "gitea"
    # Each repository is asked on its own host: gitlab.com ones at gitlab.com, not at the
    # self-hosted server (which would call them gone) ...
    assert sorted(router.origins()) == [
        "https://codeberg.org",
        "https://git.example.net",
        "https://gitlab.com",
        "https://gitlab.example.org",
    ]
    # ... and each token goes to its own server only.
    [self_gitlab] = router.headers_for("https://gitlab.example.org/api/v4/projects/")
    [public_gitlab] = router.headers_for("https://gitlab.com/api/v4/projects/")
    [self_gitea] = router.headers_for("https://git.example.net/api/v1/repos/")
    [codeberg] = router.headers_for("https://codeberg.org/api/v1/repos/")
    assert self_gitlab["private-token"] == "glpat-self-hosted"
    assert self_gitea["authorization"] == "token gitea-self-hosted"
    for headers in (public_gitlab, codeberg):
        assert "private-token" not in headers and "authorization" not in headers
    for _url, headers in router.asked:  # the GitHub token never goes to a GitLab or Gitea
        assert SECRET not in " ".join(headers.values())


async def test_a_self_hosted_github_enterprise_beside_github_com(
    forge: FakeForge, routed: httpx.AsyncClient, router: ForgeRouter
) -> None:
    router.routes["https://ghe.example.com/api/v3"] = f"{forge.url}/github"
    router.routes["https://api.github.com"] = f"{forge.url}/github"
    settings = RepositorySettings(
        github_api_url="https://ghe.example.com/api/v3", github_token=SECRET
    )
    source = RepositorySource(http=routed, settings=settings, cache=None)
    forge.graphql = False  # an old Enterprise server: REST only
    records = await ask(
        source, ["https://ghe.example.com/psf/requests", "https://github.com/psf/requests"]
    )
    assert all(r.state is RepoState.FOUND for r in records.values()), records
    [enterprise] = router.headers_for("https://ghe.example.com/api/v3/repos/")
    [public] = router.headers_for("https://api.github.com/repos/")
    assert enterprise["authorization"] == f"Bearer {SECRET}"
    assert "authorization" not in public  # the Enterprise token stays on the Enterprise server


async def test_no_token_over_plain_http_beyond_this_machine(
    forge: FakeForge, make_source: MakeSource, router: ForgeRouter
) -> None:
    source = make_source(gitlab_api_url="http://gitlab.internal/api/v4", gitlab_token="glpat-x")
    records = await ask(source, ["https://gitlab.internal/group/sub/tool"])
    assert records["https://gitlab.internal/group/sub/tool"].archived is True
    [headers] = router.headers_for("http://gitlab.internal/")
    assert "private-token" not in headers
    assert any("GITLAB_TOKEN is not sent to http://gitlab.internal" in n for n in source.notes)
    # Loopback is this machine: the fake GitHub on http://127.0.0.1 gets its token.
    await ask(source, ["https://github.com/psf/requests"])
    graphql = [seen for seen in forge.seen if seen.path == "/github/graphql"]
    assert graphql[0].headers.get("Authorization") == f"Bearer {SECRET}"


def test_two_forges_on_one_host_are_refused() -> None:
    with pytest.raises(SettingsError, match="both name git.example.org"):
        RepositorySettings(
            gitlab_api_url="https://git.example.org/api/v4",
            gitea_api_url="https://git.example.org/api/v1",
        ).forge_table()


async def test_an_exhausted_rate_limit_fails_fast_with_a_note_and_never_hangs(
    forge: FakeForge, make_source: MakeSource
) -> None:
    forge.rate_limit = 1
    source = make_source(token=None, concurrency=1)
    urls = [f"https://github.com/owner{i}/repo{i}" for i in range(5)]
    forge.github.update({f"owner{i}/repo{i}": FakeRepo() for i in range(5)})
    records = await ask(source, urls)
    states = sorted(r.state.value for r in records.values())
    assert states == ["found", "unknown", "unknown", "unknown", "unknown"]
    failed = [r for r in records.values() if r.state is RepoState.UNKNOWN]
    assert all(r.error and "rate limited" in r.error for r in failed)
    assert any("rate limited" in n and "set GITHUB_TOKEN" in n for n in source.notes)
    # One refused request taught the source: the others were never sent.
    assert forge.count("/github/repos") == 2


async def test_retry_after_is_honoured(forge: FakeForge, make_source: MakeSource) -> None:
    forge.too_many = 1
    source = make_source(token=None)
    records = await ask(source, ["https://github.com/psf/requests"])
    assert records["https://github.com/psf/requests"].state is RepoState.FOUND
    assert forge.count("/github/repos/psf/requests") == 2


async def test_a_retry_after_http_cannot_read_is_the_usual_backoff(
    forge: FakeForge, make_source: MakeSource, caplog: pytest.LogCaptureFixture
) -> None:
    # "²" is a digit to str.isdigit(), not to float(): the lookup was an internal error, its
    # traceback logged at ERROR, and the repository unknown.
    forge.too_many = 1
    forge.retry_after = "\u00b2"
    source = make_source(token=None)
    with caplog.at_level(logging.WARNING):
        records = await ask(source, ["https://github.com/psf/requests"])
    assert records["https://github.com/psf/requests"].state is RepoState.FOUND
    assert forge.count("/github/repos/psf/requests") == 2
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text


async def test_identical_questions_share_one_request(
    forge: FakeForge, make_source: MakeSource
) -> None:
    source = make_source(token=None)
    url = "https://github.com/psf/requests"
    first, second = await asyncio.gather(
        ask(source, [url, url]), ask(source, [url.upper()[:19] + "psf/requests"])
    )
    assert first[url].state is second[url].state is RepoState.FOUND
    assert forge.count("/github/repos") == 1


async def test_the_cache_answers_the_next_run(
    forge: FakeForge, make_source: MakeSource, tmp_path: Path
) -> None:
    cache = RepoCache.beside(tmp_path / "cache")
    await ask(
        make_source(cache=cache), ["https://github.com/psf/requests", "https://github.com/x/gone"]
    )
    cache.store.flush()
    again = await ask(
        make_source(cache=cache), ["https://github.com/psf/requests", "https://github.com/x/gone"]
    )
    assert all(r.from_cache for r in again.values())
    assert again["https://github.com/x/gone"].state is RepoState.GONE
    assert forge.count("/github/graphql") == 1
    cache.close()


async def test_failed_lookups_are_not_cached(
    forge: FakeForge, make_source: MakeSource, tmp_path: Path
) -> None:
    forge.rate_limit = 0
    cache = RepoCache.beside(tmp_path / "cache")
    records = await ask(make_source(token=None, cache=cache), ["https://github.com/psf/requests"])
    assert records["https://github.com/psf/requests"].state is RepoState.UNKNOWN
    assert cache.get("github:github.com/psf/requests", now=1e12) is None
    cache.close()


async def test_the_token_is_sent_but_never_printed(
    forge: FakeForge, make_source: MakeSource, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    forge.rate_limit = 1
    source = make_source()
    records = await ask(source, ["https://github.com/psf/requests", "https://gitlab.com/a/b"])
    graphql = [seen for seen in forge.seen if seen.path == "/github/graphql"]
    assert graphql[0].headers.get("Authorization") == f"Bearer {SECRET}"
    shown = " ".join(
        [caplog.text, *source.notes, repr(source), *(str(r.to_json()) for r in records.values())]
    )
    shown += repr(RepositorySettings(github_token=SECRET)) + repr(source.forges)
    assert SECRET not in shown


async def test_a_redirect_to_another_origin_is_not_followed(
    forge: FakeForge, make_source: MakeSource
) -> None:
    with FakeForge(github={"psf/requests": FakeRepo()}) as elsewhere:
        forge.redirect_elsewhere["psf/moved"] = f"{elsewhere.url}/github/repos/psf/requests"
        forge.graphql = False
        source = make_source()
        records = await ask(source, ["https://github.com/psf/moved"])
        moved = records["https://github.com/psf/moved"]
        assert moved.state is RepoState.UNKNOWN
        assert moved.error is not None and "another origin" in moved.error
        assert forge.count("/github/repos/psf/moved") == 1
        assert elsewhere.seen == []  # neither the request nor the token went there


#: JSON nested past the recursion limit (json.loads raises RecursionError, not ValueError).
DEEP_JSON = b"[" * 200_000 + b"]" * 200_000


@pytest.mark.parametrize(
    ("path", "status", "body", "error"),
    [
        ("/github/repos/psf/requests", 200, b"<html>not json</html>", "not JSON"),
        # Past the recursion limit: RecursionError went past the ValueError caught.
        ("/github/repos/psf/requests", 200, DEEP_JSON, "not JSON"),
        ("/github/repos/psf/requests", 200, b"[1, 2, 3]", "not a repository"),
        ("/github/repos/psf/requests", 418, b"{}", "HTTP 418"),
        ("/github/repos/psf/requests", 200, b"{" + b" " * (5 * 2**20) + b"}", "larger than"),
    ],
)
async def test_a_broken_forge_answer_costs_one_unknown_record(
    forge: FakeForge, make_source: MakeSource, path: str, status: int, body: bytes, error: str
) -> None:
    forge.raw[path] = (status, body)
    source = make_source(token=None)
    records = await ask(
        source, ["https://github.com/psf/requests", "https://gitlab.com/group/sub/tool"]
    )
    broken = records["https://github.com/psf/requests"]
    assert broken.state is RepoState.UNKNOWN
    assert broken.error is not None and error in broken.error
    assert records["https://gitlab.com/group/sub/tool"].archived is True


async def test_wrong_types_from_the_forge_are_not_taken(
    forge: FakeForge, make_source: MakeSource
) -> None:
    forge.raw["/github/repos/psf/requests"] = (
        200,
        b'{"full_name": "../../evil", "archived": "yes", "pushed_at": "yesterday"}',
    )
    records = await ask(make_source(token=None), ["https://github.com/psf/requests"])
    record = records["https://github.com/psf/requests"]
    assert (record.state, record.archived, record.last_commit, record.moved_to) == (
        RepoState.FOUND,
        None,
        None,
        None,
    )


@pytest.mark.parametrize("body", [b'{"data": "nope"}', DEEP_JSON], ids=["wrong-shape", "deep"])
async def test_graphql_garbage_falls_back_to_rest(
    forge: FakeForge, make_source: MakeSource, body: bytes
) -> None:
    forge.raw["/github/graphql"] = (200, body)
    records = await ask(make_source(), ["https://github.com/psf/requests"])
    assert records["https://github.com/psf/requests"].state is RepoState.FOUND
    assert forge.count("/github/repos/psf/requests") == 1


async def test_a_dead_forge_opens_the_breaker(http: httpx.AsyncClient) -> None:
    from listening import reserve_port

    with reserve_port() as held:  # refused, and no one else's while the lookups ask it
        dead = f"http://127.0.0.1:{held.getsockname()[1]}"
        source = RepositorySource(
            http=http,
            settings=RepositorySettings(github_api_url=f"{dead}/github", concurrency=1),
            cache=None,
        )
        urls = [f"https://github.com/owner{i}/repo{i}" for i in range(12)]
        records = await ask(source, urls)
    errors = [r.error or "" for r in records.values()]
    assert all(r.state is RepoState.UNKNOWN for r in records.values())
    # Two lookups spend their retries (4 attempts each); the other ten fail at once.
    assert sum("keeps failing" in e for e in errors) == 10
    assert any("keeps failing" in note for note in source.notes)
