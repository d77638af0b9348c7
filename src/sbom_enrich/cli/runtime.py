"""Running a command's lookups: one event loop, one status client per run."""

from __future__ import annotations

import logging
import sys
from collections.abc import Awaitable, Collection, Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast
from urllib.parse import urlsplit

from msgspec.structs import replace

from .._collector import parse_frozen
from ..findings.alternatives import with_recommendations
from ..findings.model import Finding
from ..status.model import StatusRecord, canonical
from ..status.settings import ClientSettings
from ..status.untrusted import clean_text
from ..status.urls import redact_url
from .event_loop import run_on_loop, running_loop_name
from .options import RunOptions
from .terminal import Progress, is_terminal

if TYPE_CHECKING:
    # Imported where used: the status client, httpx and the repository source cost ~0.1 s
    # that --help, --version and `cache info` never need.
    from ..status.maintenance import StalePolicy
    from ..status.repository.settings import RepositorySettings
    from ..status.repository.survey import MaintenanceAnswer, MaintenanceSurvey

logger = logging.getLogger("sbom_enrich")

T = TypeVar("T")


def run_async(work: Awaitable[T], event_loop: str) -> T:
    """``asyncio.run(work)`` on the loop ``event_loop`` names (``RunOptions.event_loop``,
    see event_loop.py), but the result never becomes the main task's result.

    On its way out asyncio.Runner asks ``signal.getsignal(SIGINT)``, which tries to map its
    own handler to an enum and so formats the handler's repr: the main task, result and all
    (~40 ms for the records of 1,000 components).
    """
    results: list[T] = []

    async def main() -> None:
        results.append(await work)

    run_on_loop(main(), event_loop)
    return results[0]


def log_settings(settings: ClientSettings, event_loop: str | None = None) -> None:
    """At ``-vv``: the resolved client settings and the event loop the lookups run on (the
    running one unless ``event_loop`` names it)."""
    if not logger.isEnabledFor(logging.DEBUG):
        return
    logger.debug(
        "index %s, concurrency %d, timeout %s s, cache %s%s, event loop %s",
        redact_url(settings.index_url),
        settings.concurrency,
        settings.timeout,
        settings.resolved_cache_dir if settings.use_cache else "off",
        ", offline" if settings.offline else "",
        event_loop or running_loop_name(),
    )


def log_traffic(requests: int, downloaded: int, not_modified: int, where: str = "") -> None:
    """At ``-v``: what a pass of lookups asked of the index (``where``: whose pass, when it
    was not this process's own). One line for every way a run looks up, one process or
    several (lookup_workers.py)."""
    logger.info(
        "%s%d requests, %d bytes downloaded, %d not modified",
        where,
        requests,
        downloaded,
        not_modified,
    )


class AnswerWatcher:
    """Sees each answer as it arrives: moves the progress line, and at ``-vv`` logs it."""

    def __init__(self, progress: Progress | None) -> None:
        self._progress = progress

    def __call__(self, record: StatusRecord, done: int, total: int) -> None:
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "%s: %s%s%s",
                record.name,
                record.status.value,
                " (from the cache)" if record.from_cache else "",
                f" ({clean_text(record.error, 200)})" if record.error else "",
            )
        if self._progress is not None:
            self._progress.update(done, total)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.close()

    @property
    def active(self) -> bool:
        """Whether an answer would show anywhere (a progress line, or ``-vv``): else the
        lookups need not call it (ten thousand calls in a warm run)."""
        return self._progress is not None or logger.isEnabledFor(logging.DEBUG)


def watch_answers(options: RunOptions) -> AnswerWatcher:
    """A progress line on a terminal's stderr unless ``-q``; nothing on a pipe or a file."""
    progress = None
    if not options.quiet and is_terminal(sys.stderr):
        host = urlsplit(options.client.index_url).hostname or "the index"
        progress = Progress(sys.stderr, waiting_for=host)
    return AnswerWatcher(progress)


def lookups_in_workers(
    options: RunOptions,
    settings: ClientSettings,
    wanted: Mapping[str, Collection[str]],
    watcher: AnswerWatcher,
) -> dict[tuple[str, str], StatusRecord]:
    """What ``--workers`` processes looked up for a large cold run (see lookup_workers), for
    the run's own pass as ``known``; called before the run's event loop exists."""
    if settings.offline:
        return {}  # lookup_in_workers's first rule, without importing its module (~1.5 ms)
    from .lookup_workers import lookup_in_workers

    return lookup_in_workers(settings, wanted, options.workers, watcher, options.lookup_loop)


def look_up(
    options: RunOptions,
    wanted: Mapping[str, Collection[str]],
    on_answer: AnswerWatcher,
    known: Mapping[tuple[str, str], StatusRecord],
) -> dict[tuple[str, str], StatusRecord]:
    """The index's records for ``wanted`` (``known``: those the lookup processes got), in an
    event loop of its own. Offline they are cache reads, which make nothing but records that
    live as long as the run: read without an event loop (nor asyncio imported, ~20 ms), with
    the collector paused, and frozen (:func:`parse_frozen`).
    """
    if options.client.offline:
        return parse_frozen(lambda: _look_up_offline(options.client, wanted, on_answer, known))
    from ..status.client import lookup_records

    records, _ = run_async(
        with_survey(
            options.client,
            None,
            options.stale_policy,
            lambda client, _: lookup_records(client, wanted, on_answer=on_answer, known=known),
        ),
        options.lookup_loop,
    )
    return cast(dict[tuple[str, str], StatusRecord], records)


def _look_up_offline(
    settings: ClientSettings,
    wanted: Mapping[str, Collection[str]],
    on_answer: AnswerWatcher,
    known: Mapping[tuple[str, str], StatusRecord],
) -> dict[tuple[str, str], StatusRecord]:
    """:func:`look_up` of an offline run: the cache read in this thread, no event loop."""
    from ..status.client import lookup_records_offline
    from ..status.compose import open_offline_client

    log_settings(settings, "none (offline)")
    watching = on_answer if on_answer.active else None
    with open_offline_client(settings) as client:
        return lookup_records_offline(client, wanted, on_answer=watching, known=known)


async def with_survey(
    settings: ClientSettings,
    repository: RepositorySettings | None,
    stale_policy: StalePolicy,
    work: Any,
) -> tuple[Any, tuple[str, ...]]:
    """``work(client, survey)`` (survey None without --maintenance) → (result, its notes)."""
    log_settings(settings)
    from ..status.compose import open_maintenance_survey, open_status_client

    async with open_status_client(settings) as client:
        try:
            if repository is None:
                return await work(client, None), ()
            async with open_maintenance_survey(client, repository, stale_policy) as survey:
                result = await work(client, survey)
                source = survey.repositories
                logger.info(
                    "repository source: %d requests (%d GraphQL)",
                    source.requests,
                    source.graphql_requests,
                )
                return result, source.notes
        finally:
            log_traffic(client.requests, client.bytes_downloaded, client.not_modified)


def with_maintenance(
    findings: tuple[Finding, ...], answers: Mapping[tuple[str, str], MaintenanceAnswer]
) -> tuple[Finding, ...]:
    """Each finding with its project's maintenance verdict and maintainers' recommendations:
    ``answers`` by (the index its record names, canonical name), so a private project never
    takes the verdict of its namesake on the surveyed index."""
    if not answers:
        return findings
    updated = []
    for finding in findings:
        answer = answers.get((finding.record.index_url, canonical(finding.record.name)))
        # A name installed from a URL or VCS: the surveyed repository is its namesake's on
        # the index (as enrich leaves it out), so no verdict and no recommendations.
        if answer is not None and not finding.refused and finding.off_index is None:
            finding = replace(
                finding,
                maintenance=answer.verdict,
                alternatives=with_recommendations(finding.alternatives, answer.recommended),
            )
        updated.append(finding)
    return tuple(updated)


async def lookups_and_survey(
    client: Any,
    survey: MaintenanceSurvey | None,
    wanted: Mapping[str, Collection[str]],
    on_answer: Any,
    known: Mapping[tuple[str, str], StatusRecord] | None = None,
    unsurveyed: Collection[tuple[str, str]] = (),
) -> tuple[dict[tuple[str, str], StatusRecord], dict[tuple[str, str], MaintenanceAnswer]]:
    """The index's records (``known``: those the lookup processes got), then (with
    ``--maintenance``) the survey's answers for them, by (the index the record names,
    canonical name): the same name on two indexes is two projects. ``unsurveyed``: the
    lookups, by (index, name) as ``wanted`` has them, that no finding takes a verdict from
    (check's names asked only to see whether the configured index quarantined them)."""
    from ..status.client import lookup_records

    records = await lookup_records(client, wanted, on_answer=on_answer, known=known)
    if survey is None:
        return records, {}
    from ..status.repository.survey import MaintenanceQuestion

    questions = {
        (record.index_url, name): MaintenanceQuestion(
            name, record.status, record.latest_upload, index_url=record.index_url
        )
        for (index, name), record in records.items()
        if (index, name) not in unsurveyed
    }
    answers = await survey.answer(questions.values())
    return records, {
        key: survey.not_judged(question) if survey.elsewhere(question) else answers[key[1]]
        for key, question in questions.items()
    }
