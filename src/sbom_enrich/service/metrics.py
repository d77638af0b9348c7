"""Prometheus metrics of one service process: HTTP traffic, lookups, the index and the cache."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ..findings.model import Report
from ..status.cache.disk import RecordStore
from ..status.client import StatusClient
from ..status.maintenance import MaintenanceVerdict
from ..status.model import StatusRecord
from ..status.repository.source import RepositorySource

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


class _ClientCollector(Collector):
    """Reads the shared client's own counters and the cache's health at scrape time."""

    def __init__(
        self,
        client: Callable[[], StatusClient | None],
        store: Callable[[], RecordStore | None],
        forges: Callable[[], RepositorySource | None],
    ) -> None:
        self._client = client
        self._store = store
        self._forges = forges

    def collect(self) -> Iterator[Metric]:
        client = self._client()
        if client is not None:
            yield CounterMetricFamily(
                "sbom_enrich_index_requests",
                "HTTP requests sent to package indexes (retries included)",
                value=client.requests,
            )
            yield CounterMetricFamily(
                "sbom_enrich_index_not_modified",
                "Index answers that were 304 Not Modified (cache revalidations)",
                value=client.not_modified,
            )
            yield CounterMetricFamily(
                "sbom_enrich_index_bytes",
                "Bytes of project pages downloaded from package indexes",
                value=client.bytes_downloaded,
            )
            yield GaugeMetricFamily(
                "sbom_enrich_index_lookups_in_flight",
                "Index lookups running now (a request that ends cancels those only it awaited)",
                value=client.in_flight,
            )
        forges = self._forges()
        if forges is not None:  # --maintenance: counts only, never a token or a repository
            yield CounterMetricFamily(
                "sbom_enrich_forge_requests",
                "HTTP requests sent to forge APIs by the repository source (--maintenance)",
                value=forges.requests,
            )
            yield CounterMetricFamily(
                "sbom_enrich_forge_graphql_requests",
                "Of those, GitHub GraphQL requests (up to 100 repositories each)",
                value=forges.graphql_requests,
            )
            yield GaugeMetricFamily(
                "sbom_enrich_forge_lookups_in_flight",
                "Forge calls running now (a request that ends cancels those only it awaited)",
                value=forges.in_flight,
            )
        store = self._store()
        yield GaugeMetricFamily(
            "sbom_enrich_cache_up",
            "1 when the status cache (disk or Redis) answers, 0 when degraded or disabled",
            value=1.0 if store is not None and store.usable else 0.0,
        )


class ServiceMetrics:
    """One registry per app (several apps can live in one test process)."""

    def __init__(
        self,
        client: Callable[[], StatusClient | None],
        store: Callable[[], RecordStore | None],
        forges: Callable[[], RepositorySource | None] = lambda: None,
    ) -> None:
        self.registry = CollectorRegistry()
        self.http_requests = Counter(
            "sbom_enrich_http_requests",
            "HTTP requests served, by route, method and status code",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.http_latency = Histogram(
            "sbom_enrich_http_request_duration_seconds",
            "Time to serve an HTTP request, by route",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.in_progress = Gauge(
            "sbom_enrich_http_requests_in_progress",
            "HTTP requests being served",
            registry=self.registry,
        )
        self.lookups = Counter(
            "sbom_enrich_lookups",
            "Project lookups (distinct per request), by where the answer came from: "
            "cache (fresh, or revalidated with a 304), index, or error",
            ["source"],
            registry=self.registry,
        )
        self.index_errors = Counter(
            "sbom_enrich_index_errors",
            "Lookups that failed after retries (network, timeouts, 5xx, unreadable pages)",
            registry=self.registry,
        )
        self.components = Counter(
            "sbom_enrich_components",
            "PyPI components enriched, by project status",
            ["status"],
            registry=self.registry,
        )
        self.verdicts = Counter(
            "sbom_enrich_verdicts",
            "Enrich requests by policy verdict",
            ["verdict"],
            registry=self.registry,
        )
        self.enrich_latency = Histogram(
            "sbom_enrich_enrich_duration_seconds",
            "Time to enrich one SBOM: parse, lookups, edits and serialization",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.maintenance = Counter(
            "sbom_enrich_maintenance_verdicts",
            "Maintenance verdicts given (--maintenance), distinct per request, by verdict",
            ["verdict"],
            registry=self.registry,
        )
        self.registry.register(_ClientCollector(client, store, forges))

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        self.http_requests.labels(route, method, str(status)).inc()
        self.http_latency.labels(route).observe(seconds)

    def observe_lookups(self, records: Iterable[StatusRecord]) -> None:
        for record in records:
            if record.failed:
                self.lookups.labels("error").inc()
                self.index_errors.inc()
            else:
                self.lookups.labels("cache" if record.from_cache else "index").inc()

    def observe_maintenance(self, verdicts: Iterable[MaintenanceVerdict]) -> None:
        for verdict in verdicts:
            self.maintenance.labels(verdict.verdict.value).inc()

    def observe_enrichment(self, report: Report, verdict: str, seconds: float) -> None:
        for status, count in report.counts().items():
            self.components.labels(status).inc(count)
        self.verdicts.labels(verdict).inc()
        self.enrich_latency.observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
