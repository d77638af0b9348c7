"""One monitoring pass: re-ask every watched name, record what changed, queue the notices."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import msgspec

from ..status.cache.disk import CacheEntry, RecordStore
from ..status.client import StatusClient
from ..status.maintenance import Maintenance
from ..status.model import ProjectStatus, StatusRecord, utc_now
from ..status.settings import ClientSettings
from ..status.untrusted import clean_text
from .indexes import IndexRules, PassPlan
from .model import Judgement, PassStats, Transition, UsageRef, WatchKey
from .store import MonitorStore
from .transitions import Alternatives, judge_maintenance, judge_record

if TYPE_CHECKING:
    from ..status.repository.survey import MaintenanceSurvey

__all__ = [
    "PassResult",
    "RevalidatingStore",
    "open_monitor_client",
    "run_pass",
    "wrong_indexes",
]

logger = logging.getLogger(__name__)


class RevalidatingStore:
    """A record store whose every entry reads as stale, so each lookup revalidates.

    A pass must ask the index every time (``If-None-Match``: a ``304`` costs no page): an
    answer still fresh by ``max-age`` may already be out of date, and a quarantine can come
    and go within a day. Entries are written through unchanged, so ``check`` and the language
    server sharing the cache keep their usual freshness.
    """

    def __init__(self, inner: RecordStore) -> None:
        self._inner = inner

    @property
    def usable(self) -> bool:
        return self._inner.usable

    def get(self, key: str) -> CacheEntry | None:
        entry = self._inner.get(key)
        return None if entry is None else msgspec.structs.replace(entry, max_age=0.0)

    def get_many(self, keys: Sequence[str]) -> dict[str, CacheEntry]:
        found = self._inner.get_many(keys)
        return {key: msgspec.structs.replace(entry, max_age=0.0) for key, entry in found.items()}

    def set(self, key: str, entry: CacheEntry) -> None:
        self._inner.set(key, entry)

    def info(self) -> dict[str, Any]:
        return self._inner.info()

    def clear(self) -> int:
        return self._inner.clear()

    def close(self) -> None:
        self._inner.close()


@asynccontextmanager
async def open_monitor_client(
    settings: ClientSettings, *, cache_url: str | None = None
) -> AsyncIterator[StatusClient]:
    """Like ``status.open_status_client``, with the cache wrapped in :class:`RevalidatingStore`.

    Without a cache (``--no-cache``) there is no ETag to send: every pass downloads every page.
    """
    from ..status.compose import open_status_client

    async with open_status_client(
        settings, cache_url=cache_url, wrap_store=RevalidatingStore
    ) as client:
        yield client


#: The one line of a pass in which no name got a real answer.
NOTHING_CHECKED = (
    "no name got a status from the index (it cannot express project status: Simple API < "
    "1.4, or a page that is no index's, such as a sign-in page): nothing was checked"
)
#: The same when every answer was a status this version does not know (``"retired"``).
NOTHING_KNOWN = (
    "no name got a status this version knows from the index (it sent only statuses this "
    "version does not know; a newer release may): nothing was checked"
)


@dataclass(frozen=True)
class PassResult:
    """What a pass saw; ``skipped`` when another replica held the pass lock."""

    names: int = 0
    failed: tuple[StatusRecord, ...] = ()
    cannot_tell: tuple[StatusRecord, ...] = ()
    transitions: tuple[Transition, ...] = ()
    baselines: int = 0
    requests: int = 0
    not_modified: int = 0
    bytes_downloaded: int = 0
    duration: float = 0.0
    skipped: bool = False
    #: Why nothing was recorded although the lookups ran (one line), e.g. a wrong index URL.
    problem: str | None = None
    #: (name, index) items whose index no rule lets us ask (a purl index not allowed).
    elsewhere: tuple[WatchKey, ...] = ()
    #: With --maintenance: names judged, and those whose verdict stayed unknown (no notice).
    maintenance_judged: int = 0
    maintenance_unknown: tuple[str, ...] = ()
    #: Notes of the repository source (no token, rate limited), one line each.
    notes: tuple[str, ...] = ()
    #: (index shown, names) of each index on which every name that got an answer got a 404:
    #: its URL is probably wrong, and nothing was recorded for it.
    wrong_indexes: tuple[tuple[str, int], ...] = ()

    @property
    def wrong_index_lines(self) -> tuple[str, ...]:
        """One line per index whose answers were all 404 (a wrong URL, not news)."""
        return tuple(
            f"every one of the {count} names that got an answer from {clean_text(index, 200)} "
            "answered 404: is the index URL right? Nothing was recorded for that index"
            for index, count in self.wrong_indexes
        )

    @property
    def checked_nothing(self) -> bool:
        """No name got a real answer: the index could not express any status (below Simple
        API 1.4, or a sign-in page where the index was), the rest not-found or failed. Such
        a pass saw nothing, so it must not read as fine (DESIGN, "Honest verdicts")."""
        if not self.cannot_tell:
            return False
        return self.names == len(self.cannot_tell) + len(self.failed) + self.not_found

    #: Names the index answered 404 (not a status: only that a name is missing).
    not_found: int = 0

    @property
    def elsewhere_line(self) -> str | None:
        """The line saying which names come from an index no rule lets us ask, if any."""
        if not self.elsewhere:
            return None
        shown = ", ".join(
            f"{clean_text(name, 100)} from {clean_text(index, 200)}"
            for name, index in self.elsewhere[:5]
        )
        return (
            f"{len(self.elsewhere)} names come from an index that is not allowed (a purl "
            "repository_url needs --allow-index URL; a lock's index must be an http(s) URL "
            f"without a query) and were not checked (e.g. {shown})"
        )

    @property
    def problem_lines(self) -> tuple[str, ...]:
        """One line per reason, beside failed lookups, that the pass is no all-clear: what
        ``monitor run`` prints and ``monitor serve`` logs, so that the two agree."""
        lines = [self.problem, *self.wrong_index_lines, self.elsewhere_line]
        if self.checked_nothing:
            # An unknown answer with a reason is a status not known here, not an old index.
            known_words = any(not record.reason for record in self.cannot_tell)
            lines.append(NOTHING_CHECKED if known_words else NOTHING_KNOWN)
        return tuple(line for line in lines if line)

    @property
    def incomplete(self) -> bool:
        """Some of the inventory was not checked (a failed lookup, a name whose index is not
        allowed), or nothing was recorded: never all-clear."""
        return bool(self.failed or self.problem_lines)


async def run_pass(
    store: MonitorStore,
    client: StatusClient,
    alternatives: Alternatives,
    targets: Sequence[str],
    survey: MaintenanceSurvey | None = None,
    configured: ClientSettings | None = None,
) -> PassResult:
    """Look every watched item up once; judge and record each answer; never raises for lookups.

    With a ``survey`` (``--maintenance``), the names watched on the configured index are also
    judged by the repository source, recorded and notified apart from the index's status.
    ``configured``: the user's settings, before ``monitor_settings`` allowed the indexes lock
    files name (default: the client's): an index only a lock names is the lock's choice, and
    its names are watched on the configured index too (``PassPlan.namesakes``).
    """
    rules = IndexRules.of(configured or client.settings)
    with store.pass_lock() as granted:
        if not granted:
            return PassResult(skipped=True)
        return await _locked_pass(store, client, rules, alternatives, targets, survey)


async def _locked_pass(
    store: MonitorStore,
    client: StatusClient,
    rules: IndexRules,
    alternatives: Alternatives,
    targets: Sequence[str],
    survey: MaintenanceSurvey | None,
) -> PassResult:
    from ..status.client import lookup_records

    started_at = utc_now()
    started = time.perf_counter()
    requests, not_modified, downloaded = (
        client.requests,
        client.not_modified,
        client.bytes_downloaded,
    )
    # A baseline stored under another spelling of its index (an earlier release's, or the
    # configured index's URL) is judged against, never orphaned by a new first baseline.
    store.adopt_index_keys(rules.key)
    plan = rules.plan(store.watched())
    if not plan.usages and not plan.refused:
        return PassResult(problem="nothing is registered: add files with 'monitor add'")
    found = await lookup_records(client, plan.wanted())
    everything = [(key, found[(plan.ask[key], name)]) for name, key in plan.watch_keys()]
    # A lock's namesake on the configured index (PassPlan.namesakes) is asked for its
    # quarantine only: its 404 (a private package's usual answer there) neither counts as
    # not found nor makes the configured index look wrong.
    namesake_only = {(r.name, key) for key, r in everything if plan.namesake_only((r.name, key))}
    own = [(key, r) for key, r in everything if (r.name, key) not in namesake_only]
    records = [record for _, record in own]
    wrong = wrong_indexes(own)
    # What a wrong index URL answered is not news: recording it would send one "not-found"
    # notice per name now and one "revived" per name once the URL is fixed.
    answers = [(key, record) for key, record in everything if key not in wrong]
    judge = judge_record(plan.usages, alternatives, utc_now(), plan.namesakes)
    first_seen = 0

    def counting(key: WatchKey, before: StatusRecord | None, after: StatusRecord) -> Judgement:
        nonlocal first_seen
        judgement = judge(key, before, after)
        first_seen += before is None and judgement.baseline is not None
        return judgement

    transitions = store.apply(answers, counting, targets)
    judged = 0
    unknown: tuple[str, ...] = ()
    if survey is not None:
        more, judged, unknown = await _maintenance(store, survey, plan, answers, targets)
        transitions += more
    # A failed namesake lookup could not rule its quarantine out (check: incomplete).
    failed = tuple(r for _, r in everything if r.failed)
    cannot_tell = tuple(r for r in records if r.status is ProjectStatus.UNKNOWN and not r.failed)
    result = PassResult(
        names=len(records),
        elsewhere=plan.refused,
        failed=failed,
        cannot_tell=cannot_tell,
        not_found=sum(r.status is ProjectStatus.NOT_FOUND for r in records),
        transitions=tuple(transitions),
        baselines=first_seen,
        requests=client.requests - requests,
        not_modified=client.not_modified - not_modified,
        bytes_downloaded=client.bytes_downloaded - downloaded,
        duration=time.perf_counter() - started,
        maintenance_judged=judged,
        maintenance_unknown=unknown,
        wrong_indexes=tuple(
            (key or client.index_url, count) for key, count in sorted(wrong.items())
        ),
    )
    # Recorded even when it recorded no answer: `status` shows what it could not check.
    store.record_pass(
        PassStats(
            started_at,
            utc_now(),
            result.names,
            len(failed),
            len(transitions),
            result.requests,
            result.not_modified,
            result.bytes_downloaded,
        )
    )
    return result


def wrong_indexes(answers: Sequence[tuple[str, StatusRecord]]) -> dict[str, int]:
    """``{index key: names}`` of each index that watches two names or more and answered every
    one it answered with a 404: such an index has none of the names, and a wrong URL is far
    likelier than all of them gone at once.

    Failed lookups answer nothing (neither a 404 nor a status): they are left out of the
    count, so a flaky network does not hide a wrong URL. An index with one watched name
    cannot be told from a project deleted there: its 404 is recorded (a "not-found" notice).
    """
    watched: dict[str, int] = {}
    answered: dict[str, int] = {}
    missing: dict[str, int] = {}
    for key, record in answers:
        watched[key] = watched.get(key, 0) + 1
        if not record.failed:
            answered[key] = answered.get(key, 0) + 1
            missing[key] = missing.get(key, 0) + (record.status is ProjectStatus.NOT_FOUND)
    return {
        key: count for key, count in answered.items() if watched[key] >= 2 and missing[key] == count
    }


async def _maintenance(
    store: MonitorStore,
    survey: MaintenanceSurvey,
    plan: PassPlan,
    answers: Sequence[tuple[str, StatusRecord]],
    targets: Sequence[str],
) -> tuple[list[Transition], int, tuple[str, ...]]:
    """(transitions, names judged, names still unknown) of the repository source.

    Only names watched on the configured index are surveyed: a private index's name must not
    be sent to PyPI's JSON API or a public forge (and its repository is not PyPI's project's).
    """
    from ..status.repository.survey import MaintenanceQuestion

    usages: dict[str, list[UsageRef]] = {}
    for (name, key), refs in plan.usages.items():
        if not key:
            usages.setdefault(name, []).extend(refs)
    questions = [
        MaintenanceQuestion(
            record.name,
            record.status,
            record.latest_upload,
            # The URLs the registered SBOMs name for it, as `enrich` reads them.
            tuple(dict.fromkeys(u for ref in usages[record.name] for u in ref.repository_urls)),
        )
        for key, record in answers
        # Not a lock's namesake watched for its quarantine only: no verdict comes from it.
        if not key and not record.failed and record.name in usages
    ]
    if not questions:
        return [], 0, ()
    verdicts = {name: answer.verdict for name, answer in (await survey.answer(questions)).items()}
    statuses = {record.name: record.status for key, record in answers if not key}
    judge = judge_maintenance(usages, statuses, utc_now())
    transitions = store.apply_maintenance(verdicts, judge, targets)
    unknown = tuple(sorted(n for n, v in verdicts.items() if v.verdict is Maintenance.UNKNOWN))
    return transitions, len(verdicts), unknown
