"""One maintenance survey: find repositories, ask forges, judge, read maintainers' advice."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import httpx

from ..client import StatusClient
from ..maintenance import Maintenance, MaintenanceVerdict, StalePolicy, maintenance_verdict
from ..model import ProjectStatus, canonical, utc_now
from ..recommendations import recommended_projects, verified_recommendations
from .model import RepoRecord
from .project_meta import ProjectMetadata, fetch_project_metadata
from .settings import RepositorySettings
from .source import RepositorySource
from .urls import RepoRef, candidates_from_project_urls, first_repository, unrecognised_host

__all__ = ["MaintenanceAnswer", "MaintenanceQuestion", "MaintenanceSurvey"]

#: Index statuses whose final description may name what to use instead.
_ADVERSE = frozenset({ProjectStatus.ARCHIVED, ProjectStatus.DEPRECATED})
#: Index statuses that leave something to judge (not-found, quarantined, unknown do not).
_JUDGED = _ADVERSE | {ProjectStatus.ACTIVE}


def _not_a_forge(host: str) -> str:
    return (
        f"no repository found: {host} is not a configured forge (name its API with "
        "--gitlab-api-url, --gitea-api-url or --github-api-url to ask it)"
    )


@dataclass(frozen=True)
class MaintenanceQuestion:
    """One project: its index answer's facts and the repository URLs its SBOM entry names."""

    name: str
    status: ProjectStatus
    latest_release: datetime | None
    #: URLs from the SBOM (externalReferences vcs, then website), untrusted, in that order.
    repository_urls: tuple[str, ...] = ()
    #: The index the status came from, as its records show it; None: the survey's client's.
    index_url: str | None = None


@dataclass(frozen=True)
class MaintenanceAnswer:
    verdict: MaintenanceVerdict
    #: Projects the maintainers' own last description recommends, each active on the index.
    recommended: tuple[str, ...] = ()


@dataclass
class MaintenanceSurvey:
    """Ties the sources together for one run; the front ends only translate the answers."""

    http: httpx.AsyncClient
    client: StatusClient
    repositories: RepositorySource
    settings: RepositorySettings
    policy: StalePolicy

    async def answer(
        self, questions: Iterable[MaintenanceQuestion]
    ) -> dict[str, MaintenanceAnswer]:
        """``{canonical name: answer}``; never raises for network or data trouble.

        Only projects on the client's own index are surveyed (as the monitor does): the
        project API and the forges describe that index's projects, so a private index's
        project would be judged by its public namesake's repository, and its name sent to
        public APIs. Such a project is ``unknown``, and nothing is asked about it.
        """
        asked: dict[str, MaintenanceQuestion] = {}
        for question in questions:
            name = canonical(question.name)
            if name in asked and self.elsewhere(question):
                continue  # the same name on the client's own index is the one to judge
            asked[name] = question
        # A project the index does not have (or could not answer for) has nothing to judge.
        by_name = {n: q for n, q in asked.items() if q.status in _JUDGED and not self.elsewhere(q)}
        refs: dict[str, RepoRef | None] = {}
        need_metadata: list[str] = []
        for name, question in by_name.items():
            refs[name] = first_repository(question.repository_urls, self.repositories.forges)
            wants_advice = self.settings.recommendations and question.status in _ADVERSE
            if refs[name] is None or wants_advice:
                need_metadata.append(name)
        metadata = await self._metadata(need_metadata)
        forges = self.repositories.forges
        #: Why no repository was found, when a URL named a host that is no configured forge.
        missing: dict[str, str] = {}
        #: Why no repository could be looked for: the project API gave no usable answer.
        #: "Could not tell", never "it lists none" (a recent release would read as active).
        unsearched: dict[str, str] = {}
        for name, question in by_name.items():
            if refs[name] is None and (host := unrecognised_host(question.repository_urls, forges)):
                missing[name] = _not_a_forge(host)
        for name, meta in metadata.items():
            if refs[name] is None and meta.error is not None:
                unsearched[name] = meta.error
            elif refs[name] is None:
                urls = candidates_from_project_urls(meta.project_urls, meta.home_page)
                refs[name] = first_repository(urls, forges)
                host = unrecognised_host(urls[:1], forges) if refs[name] is None else None
                if host and name not in missing:
                    missing[name] = _not_a_forge(host)
        located = [ref for ref in refs.values() if ref is not None]
        records: dict[str, RepoRecord] = {}
        async for record in self.repositories.query_all(located):
            records[record.url.lower()] = record
        recommended = await self._recommendations(by_name, metadata)
        now = utc_now()
        answers: dict[str, MaintenanceAnswer] = {
            name: self.not_judged(q) for name, q in asked.items() if name not in by_name
        }
        for name, question in by_name.items():
            ref = refs[name]
            repository = records.get(ref.url.lower()) if ref is not None else None
            verdict = maintenance_verdict(
                repository=repository,
                latest_release=question.latest_release,
                policy=self.policy,
                now=now,
                missing=missing.get(name, "no repository found"),
                search_failed=unsearched.get(name),
            )
            answers[name] = MaintenanceAnswer(verdict, recommended.get(name, ()))
        return answers

    def elsewhere(self, question: MaintenanceQuestion) -> bool:
        """Whether ``question``'s project is on another index than the client's own (then it
        is not surveyed: :meth:`answer`)."""
        return question.index_url is not None and question.index_url != self.client.index_url

    def not_judged(self, question: MaintenanceQuestion) -> MaintenanceAnswer:
        """``unknown``, saying why: a project on another index (:meth:`elsewhere`), or one the
        index gave nothing to judge (not-found, quarantined, a failed lookup)."""
        if self.elsewhere(question):
            why = (
                f"not surveyed: the project is on {question.index_url}, and the repository "
                f"source judges projects on {self.client.index_url} only (their names and "
                "repositories; a namesake there is another project)"
            )
        else:
            why = f"the index said {question.status}"
        return MaintenanceAnswer(MaintenanceVerdict(Maintenance.UNKNOWN, (why,)))

    async def _metadata(self, names: Sequence[str]) -> dict[str, ProjectMetadata]:
        """Each name's project metadata, failures included (``error`` set): a failure must
        reach the verdict, not be taken for a project that lists no repository."""
        api_url = self.settings.project_api_url
        if not api_url or not names:
            return {}
        semaphore = asyncio.Semaphore(self.settings.concurrency)
        cache = self.repositories.cache

        async def one(name: str) -> ProjectMetadata:
            now = time.time()
            cached = cache.get_metadata(api_url, name, now) if cache is not None else None
            if cached is not None:
                return cached
            if self.settings.offline:
                return ProjectMetadata(name, error="offline and not in the cache")
            async with semaphore:
                metadata = await fetch_project_metadata(
                    self.http, api_url, name, timeout=self.settings.timeout
                )
            if cache is not None:
                cache.set_metadata(api_url, metadata, now)
            return metadata

        fetched = await asyncio.gather(*(one(name) for name in names))
        return dict(zip(names, fetched, strict=True))

    async def _recommendations(
        self, questions: Mapping[str, MaintenanceQuestion], metadata: Mapping[str, ProjectMetadata]
    ) -> dict[str, tuple[str, ...]]:
        if not self.settings.recommendations:
            return {}
        candidates = {
            name: recommended_projects(metadata[name].description, name)
            for name, question in questions.items()
            if question.status in _ADVERSE and name in metadata and metadata[name].error is None
        }
        wanted = {canonical(c) for names in candidates.values() for c in names}
        if not wanted:
            return {}
        # Each candidate must exist on the same index and not be adverse itself.
        active = [
            record.name
            async for record in self.client.lookup_many(sorted(wanted))
            if record.status is ProjectStatus.ACTIVE
        ]
        return {
            name: verified
            for name, names in candidates.items()
            if (verified := verified_recommendations(names, active))
        }
