"""``monitor serve``: passes on a schedule, the inventory and history over HTTP, and /metrics."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..status.maintenance import Maintenance
from ..status.model import ProjectStatus, canonical
from ..status.urls import PYPI_SIMPLE_URL
from .indexes import IndexRules
from .run import PassResult
from .store import MonitorStore, StoreError
from .views import adverse_now, inventory_json, readd_warning, status_document, transition_json

__all__ = ["MonitorService", "create_monitor_app"]

logger = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
STATUSES = [s.value for s in ProjectStatus]
#: Maintenance verdicts a pass records (an unknown one never replaces the last verdict).
MAINTENANCE_RECORDED = [m.value for m in Maintenance if m is not Maintenance.UNKNOWN]
#: Seconds between delivery retries while waiting for the next pass (the first retry of a
#: failed delivery is due after 30 s).
RETRY_TICK = 30.0
#: Seconds beyond three intervals before /healthz calls the schedule stuck.
STALE_GRACE = 60.0


@dataclass
class MonitorService:
    """The store, the schedule and what this process's passes did."""

    store: MonitorStore
    interval: float
    run: Callable[[], Awaitable[tuple[PassResult, Any]]]
    #: Sends the notices due (retries) between passes; None: only at passes.
    deliver: Callable[[], Awaitable[Any]] | None = None
    retry_every: float = RETRY_TICK
    #: The configured index and the allowed ones (``status`` keys each usage as a pass does).
    index_url: str = PYPI_SIMPLE_URL
    allowed_indexes: tuple[str, ...] = ()
    passes: int = 0
    failed_passes: int = 0
    #: Whether this process's last pass failed (as counted in ``failed_passes``); None before.
    last_pass_failed: bool | None = None
    started: float = field(default_factory=time.time)
    last_result: PassResult | None = None
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    async def schedule(self) -> None:
        """A pass now and then every ``interval`` seconds, until cancelled; in between, every
        ``retry_every`` seconds, the deliveries whose retry is due (a receiver that was down
        for a minute should not wait a whole interval)."""
        loop = asyncio.get_running_loop()
        while True:
            next_pass = loop.time() + self.interval
            await self.one_pass()
            while (left := next_pass - loop.time()) > 0:
                await asyncio.sleep(min(left, self.retry_every))
                if self.deliver is not None and next_pass - loop.time() > 0:
                    await self.retry_deliveries()

    async def retry_deliveries(self) -> None:
        assert self.deliver is not None
        try:
            await self.deliver()
        except StoreError as error:
            logger.error("monitor delivery failed: %s", error)
        except Exception:
            logger.exception("monitor delivery failed unexpectedly")

    async def one_pass(self) -> None:
        try:
            result, delivery = await self.run()
        except StoreError as error:
            self._count(failed=True)
            logger.error("monitor pass failed: %s", error)
            return
        except Exception:
            # A bug must cost one pass, not the schedule: the task would end silently and the
            # service keep answering /healthz with nothing watched any more.
            self._count(failed=True)
            logger.exception("monitor pass failed unexpectedly")
            return
        self.passes += 1
        self.last_result = result
        # What makes `monitor run` exit 3 makes a failed pass here.
        self._count(failed=bool(result.incomplete or delivery.failed))
        for problem in result.problem_lines:  # the lines `monitor run` prints (exit 3)
            logger.error("monitor pass: %s", problem)
        logger.info(
            "monitor pass: %d names, %d transitions, %d failed lookups, %d delivered, "
            "%d deliveries failed%s",
            result.names,
            len(result.transitions),
            len(result.failed),
            delivery.delivered,
            len(delivery.failed),
            " (skipped: another replica's pass)" if result.skipped else "",
        )

    def _count(self, *, failed: bool) -> None:
        if failed:
            self.failed_passes += 1
        self.last_pass_failed = failed


class _StoreCollector(Collector):
    """Reads the shared database at scrape time, so every replica reports the same numbers."""

    def __init__(self, service: MonitorService) -> None:
        self._service = service

    def collect(self) -> Iterator[Metric]:
        store = self._service.store
        counts = store.status_counts()
        yield GaugeMetricFamily(
            "sbom_enrich_monitor_watched_names",
            "Distinct project names in the inventory",
            value=sum(counts.values()),
        )
        per_status = GaugeMetricFamily(
            "sbom_enrich_monitor_names",
            "Watched names by their last known status (unknown: never answered yet)",
            labels=["status"],
        )
        for status in STATUSES:
            per_status.add_metric([status], counts.get(status, 0))
        yield per_status
        per_verdict = GaugeMetricFamily(
            "sbom_enrich_monitor_maintenance_names",
            "Names by their last maintenance verdict (--maintenance; unknown is never recorded)",
            labels=["verdict"],
        )
        verdicts = Counter(v.verdict.value for v in store.maintenance().values())
        for verdict in MAINTENANCE_RECORDED:
            per_verdict.add_metric([verdict], verdicts.get(verdict, 0))
        yield per_verdict
        yield GaugeMetricFamily(
            "sbom_enrich_monitor_notification_backlog",
            "Notices queued in the outbox and not delivered yet",
            value=store.backlog(),
        )
        last = store.last_pass()
        if last is not None:
            yield GaugeMetricFamily(
                "sbom_enrich_monitor_last_pass_timestamp_seconds",
                "When the last pass (of any replica) finished, Unix time",
                value=last.finished_at.timestamp(),
            )
            yield GaugeMetricFamily(
                "sbom_enrich_monitor_last_pass_duration_seconds",
                "How long the last pass (of any replica) took",
                value=last.duration,
            )
            yield GaugeMetricFamily(
                "sbom_enrich_monitor_last_pass_failed_lookups",
                "Lookups that failed in the last pass",
                value=last.failed,
            )
        yield CounterMetricFamily(
            "sbom_enrich_monitor_passes",
            "Passes this process ran",
            value=self._service.passes,
        )
        yield CounterMetricFamily(
            "sbom_enrich_monitor_failed_passes",
            "Passes of this process with failed lookups or deliveries, or that recorded nothing",
            value=self._service.failed_passes,
        )


def _service(request: Request) -> MonitorService:
    service: MonitorService = request.app.state.monitor
    return service


async def projects(request: Request) -> Response:
    return JSONResponse(inventory_json(_service(request).store.sources()))


async def status(request: Request) -> Response:
    service = _service(request)
    store = service.store
    rules = IndexRules(service.index_url, service.allowed_indexes)
    sources = store.sources()
    items = adverse_now(
        sources, store.baselines(), rules, store.maintenance(), store.unchecked_by_last_pass()
    )
    warning = readd_warning([(s.project, s.path) for s in sources if s.readd])
    document = status_document(
        items, len(store.watched()), [warning] if warning else [], store.last_pass()
    )
    return JSONResponse(document)


async def history(request: Request) -> Response:
    name = request.query_params.get("name")
    transitions = _service(request).store.transitions(canonical(name) if name else None)
    return JSONResponse([transition_json(t) for t in transitions])


async def healthz(request: Request) -> Response:
    """503 when the database does not answer, or when no replica finished a pass for three
    intervals (after this one has been up that long): a stuck schedule is not healthy.

    ``last_pass_failed`` says whether this process's last pass failed (what ``monitor run``
    exits 3 for): still 200, since a restart would not make an index answer or be allowed."""
    service = _service(request)
    try:
        backlog = service.store.backlog()
        last = service.store.last_pass()
    except StoreError as error:
        return JSONResponse({"status": "database unavailable", "error": str(error)}, 503)
    now = time.time()
    allowed = 3 * service.interval + STALE_GRACE
    last_at = last.finished_at.timestamp() if last is not None else None
    if now - service.started > allowed and (last_at is None or now - last_at > allowed):
        return JSONResponse({"status": "no pass lately", "last_pass": last_at}, 503)
    return JSONResponse(
        {
            "status": "ok",
            "backlog": backlog,
            "last_pass": last_at,
            "last_pass_failed": service.last_pass_failed,
        }
    )


async def metrics(request: Request) -> Response:
    return Response(generate_latest(_service(request).registry), media_type=CONTENT_TYPE)


async def store_error(request: Request, exc: Exception) -> Response:
    return JSONResponse({"error": str(exc)}, 503)


def create_monitor_app(service: MonitorService, *, schedule: bool = True) -> Starlette:
    """The app; with ``schedule`` its lifespan runs passes until shutdown."""
    service.registry.register(_StoreCollector(service))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        task = asyncio.create_task(service.schedule()) if schedule else None
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    app = Starlette(
        routes=[
            Route("/v1/monitor/projects", projects, methods=["GET"]),
            Route("/v1/monitor/status", status, methods=["GET"]),
            Route("/v1/monitor/history", history, methods=["GET"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
        ],
        exception_handlers={StoreError: store_error},
        lifespan=lifespan,
    )
    app.state.monitor = service
    return app
