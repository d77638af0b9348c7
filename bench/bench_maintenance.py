"""Benchmark the repository source (--maintenance): requests and time for 1,000 components.

Run: .venv/bin/python bench/bench_maintenance.py [--components 1000] [--latency 0.05]

A fake forge and JSON project API (tests/fakeforge.py) run on 127.0.0.1 with the given
latency per request; the survey runs in-process (the CLI's composition, without process
start). Phases: GitHub with a token (GraphQL, 100 repositories a request), the same warm
(the repository cache), GitHub without a token (REST, one request each), and components
whose SBOM names no repository (the JSON project API first, then GraphQL). A mix of GitLab
and Codeberg repositories is asked in every phase (one REST request each).
There is no peer to run beside it: no tool we know reads archived state from forges for
Python dependencies in bulk (Scorecard asks per repository and needs a token).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import httpx  # noqa: E402

from fakeforge import FakeForge, FakeRepo, ForgeRouter  # noqa: E402
from sbom_enrich.status.cache.disk import StatusCache  # noqa: E402
from sbom_enrich.status.client import StatusClient  # noqa: E402
from sbom_enrich.status.compose import open_maintenance_survey  # noqa: E402
from sbom_enrich.status.maintenance import StalePolicy  # noqa: E402
from sbom_enrich.status.model import ProjectStatus, utc_now  # noqa: E402
from sbom_enrich.status.repository.settings import RepositorySettings  # noqa: E402
from sbom_enrich.status.repository.survey import MaintenanceQuestion  # noqa: E402
from sbom_enrich.status.settings import ClientSettings  # noqa: E402

OTHER_FORGES_EVERY = 20  # one in twenty is on GitLab or Codeberg


def repository_url(number: int) -> str:
    if number % OTHER_FORGES_EVERY == 0:
        return f"https://gitlab.com/group{number}/project{number}"
    if number % OTHER_FORGES_EVERY == 1:
        return f"https://codeberg.org/team{number}/lib{number}"
    return f"https://github.com/owner{number}/repo{number}"


def build_forge(components: int, latency: float) -> FakeForge:
    forge = FakeForge(latency=latency)
    for number in range(components):
        path = repository_url(number).split("/", 3)[3].lower()
        table = {"gitlab.com": forge.gitlab, "codeberg.org": forge.gitea}.get(
            repository_url(number).split("/")[2], forge.github
        )
        table[path] = FakeRepo(archived=number % 50 == 7)
        forge.projects[f"project{number}"] = {
            "info": {"project_urls": {"Source": repository_url(number)}, "description": ""}
        }
    return forge


async def phase(
    forge: FakeForge, cache_dir: Path, *, components: int, token: str | None, from_sbom: bool
) -> tuple[int, int, float, dict[str, int]]:
    client_settings = ClientSettings(index_url=f"{forge.url}/simple/", cache_dir=cache_dir)
    settings = RepositorySettings(
        github_api_url=f"{forge.url}/github",
        project_api_url=f"{forge.url}/pypi",
        github_token=token,
        timeout=600.0,
    )
    questions = [
        MaintenanceQuestion(
            f"project{number}",
            ProjectStatus.ACTIVE,
            utc_now(),
            (repository_url(number),) if from_sbom else (),
        )
        for number in range(components)
    ]
    before = len(forge.seen)
    store = StatusCache(cache_dir)
    # gitlab.com and codeberg.org are asked at their public APIs: routed to the fake here.
    routes = {
        "https://gitlab.com": f"{forge.url}/gitlab",
        "https://codeberg.org": f"{forge.url}/gitea",
    }
    async with httpx.AsyncClient(transport=ForgeRouter(routes)) as http:
        client = StatusClient(http=http, cache=store, settings=client_settings)
        started = time.perf_counter()
        async with open_maintenance_survey(client, settings, StalePolicy()) as survey:
            answers = await survey.answer(questions)
        elapsed = time.perf_counter() - started
    store.close()
    seen = forge.seen[before:]
    verdicts: dict[str, int] = {}
    for answer in answers.values():
        verdicts[answer.verdict.verdict.value] = verdicts.get(answer.verdict.verdict.value, 0) + 1
    graphql = sum(1 for request in seen if request.path == "/github/graphql")
    return len(seen), graphql, elapsed, verdicts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--components", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.05)
    args = parser.parse_args()
    print(f"{args.components} components, {args.latency * 1000:.0f} ms per request")
    with tempfile.TemporaryDirectory() as tmp, build_forge(args.components, args.latency) as forge:
        cache = Path(tmp)
        rows = [
            ("token, GraphQL (cold)", cache / "a", "ghp_bench", True),
            ("token, GraphQL (warm cache)", cache / "a", "ghp_bench", True),
            ("no token, REST (cold)", cache / "b", None, True),
            ("no repo in SBOM: JSON API + GraphQL", cache / "c", "ghp_bench", False),
        ]
        for label, directory, token, from_sbom in rows:
            requests, graphql, elapsed, verdicts = asyncio.run(
                phase(forge, directory, components=args.components, token=token,
                      from_sbom=from_sbom)
            )  # fmt: skip
            shown = ", ".join(f"{k} {v}" for k, v in sorted(verdicts.items()))
            print(
                f"{label:<38} requests {requests:>5}  GraphQL {graphql:>3}  "
                f"{elapsed:6.2f} s   {shown}"
            )


if __name__ == "__main__":
    main()
