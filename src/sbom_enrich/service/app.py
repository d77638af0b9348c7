"""The ASGI app: routes, lifespan (one shared status client per process), errors as JSON."""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import msgspec
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .. import __version__
from .._deadline import within
from ..enrich import apply_signature_policy, load_sbom
from ..enrich.run import enrich_sbom, index_policy, wanted_lookups
from ..errors import ApiError, SbomError, SettingsError, UnsupportedSpecError
from ..findings.alternatives import AlternativesCatalog, with_recommendations
from ..findings.model import ExitCode, Report, exit_code
from ..formats.json import render_json
from ..status.answer_values import decimal
from ..status.client import SharedLookups, StatusClient, noting_shared_lookups
from ..status.compose import open_maintenance_survey, open_status_client
from ..status.model import StatusRecord, canonical
from ..status.repository.survey import MaintenanceAnswer, MaintenanceQuestion, MaintenanceSurvey
from ..status.settings import parse_index_url
from ..status.untrusted import clean_text
from ..status.urls import redact_url
from .access import OPEN_PATHS, BearerAuth, TrustedHosts, checks_host, load_tokens, unauthorized
from .config import CONFIG_ENV, ServiceSettings
from .metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from .metrics import ServiceMetrics
from .openapi import docs_page, openapi_document
from .protocol import (
    MAX_NAME_LENGTH,
    PROJECT_PARAMETERS,
    VERDICTS,
    EnrichQuery,
    error_json,
    parse_batch,
    parse_enrich_query,
    query_values,
    record_json,
    response_media_type,
    sbom_media_type,
    valid_project_name,
    valid_version,
    verdict_headers,
)
from .ratelimit import RateLimit, RateLimiter, client_key

logger = logging.getLogger(__name__)

T = TypeVar("T")
#: Batch bodies are names only: far smaller than SBOMs.
MAX_BATCH_BODY = 1024 * 1024
SOURCE = "request body"
#: nginx's "client closed request": counted, never sent, and not a server error to alert on.
CLIENT_CLOSED = 499
#: Values of the ``method`` metric label; any other method a client invents counts as "other".
METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"}
)


@dataclass(frozen=True)
class EnrichResult:
    sbom: bytes
    media_type: str
    report: Report
    code: ExitCode


class Service:
    """What every request shares: settings, the one status client, the catalog, metrics."""

    def __init__(
        self,
        settings: ServiceSettings,
        client: StatusClient,
        catalog: AlternativesCatalog,
        metrics: ServiceMetrics,
        limiter: RateLimiter | None = None,
        survey: MaintenanceSurvey | None = None,
    ) -> None:
        self.settings = settings
        self.limiter = limiter
        #: The repository source (``--maintenance``), or None while it is off.
        self.survey = survey
        self.client = client
        self.catalog = catalog
        self.metrics = metrics
        self.default_index, self.allowed = index_policy(settings.client)
        self._by_shown = {redact_url(index): index for index in self.allowed}
        self._shown_allowed = set(self._by_shown)

    def deadline(self) -> float:
        """When a request starting now must be answered (``time.monotonic()``)."""
        return time.monotonic() + self.settings.request_timeout

    async def bounded(self, work: Awaitable[T], deadline: float | None = None) -> T:
        """``work`` by the request's ``deadline`` (default: the request timeout from now), else 504.

        The work ends with its request: when the deadline passes, or the request ends first
        (its client left, the server stops), it is cancelled, and with it every lookup it
        started that no other request awaits (the client cancels orphaned lookups), before
        the answer goes out. What it held (a parsed SBOM) is let go; answers that did arrive
        are cached, so a retry goes further.
        """
        task = asyncio.ensure_future(work)
        if deadline is None:
            deadline = self.deadline()
        left = max(0.0, deadline - time.monotonic())
        try:
            await asyncio.wait({task}, timeout=left)
        finally:
            late = not task.done()
            if late:
                await _cancelled(task)
        if late:
            # With --maintenance a repository forge may be what was slow, not the index.
            slow = "the index is slow" if self.survey is None else "the index or a forge is slow"
            raise ApiError(
                504,
                f"not finished within {self.settings.request_timeout:g} s ({slow}); "
                "the answers that arrived are cached, so a retry goes further",
            )
        return task.result()

    def _charge(self, caller: str | None, names: int, *, more: bool = False) -> None:
        """Charge ``caller`` for ``names``; refused (429) when another request already took
        the bucket below zero. ``more``: a second charge of a request already under way
        (its maintenance survey after its lookups): never refused, or a request would be
        answered 429 after the lookups it paid for."""
        if self.limiter is None or caller is None:
            return
        wait = self.limiter.charge(caller, names, refusable=not more)
        if wait is not None:
            seconds = max(1, math.ceil(wait))
            raise ApiError(
                429,
                f"rate limit of {self.limiter.per_minute} requests and lookups a minute "
                f"reached: try again in {seconds} s",
                {"Retry-After": str(seconds)},
            )

    def _refund(
        self,
        caller: str | None,
        charged: int,
        records: Iterable[StatusRecord],
        shared: SharedLookups,
    ) -> None:
        """Give back the ``charged`` units (one a distinct project) that the index did no work
        for: what ``caller`` pays is the lookups its request started that the index answered.

        Nothing is paid for an answer from the cache, for a lookup that joined one already
        under way (asked once, charged to the request that started it), or for a name that
        asked the index nothing (invalid, or on an index that is not allowed). Lookups the
        request made beyond ``records`` (the survey's candidate alternatives) cost nothing.
        """
        if self.limiter is not None and caller is not None:
            paid = sum(
                1
                for record in records
                if not record.from_cache
                and shared.asked_the_index(self._by_shown.get(record.index_url, ""), record.name)
            )
            self.limiter.refund(caller, max(0, charged - paid))

    async def enrich(
        self,
        data: bytes,
        media: str,
        fmt: str,
        query: EnrichQuery,
        deadline: float,
        caller: str | None = None,
    ) -> EnrichResult:
        started = time.perf_counter()
        try:
            # Parsing and serializing are CPU work: off the event loop for large SBOMs.
            sbom = await run_in_threadpool(load_sbom, data, source=SOURCE)
        except UnsupportedSpecError as error:
            raise ApiError(422, str(error)) from None
        except SbomError as error:
            raise ApiError(400, str(error)) from None
        if sbom.format != fmt:
            raise ApiError(
                400,
                f"{SOURCE}: the document is {sbom.format.upper()} but Content-Type says "
                f"{fmt.upper()}",
            )
        try:
            # As `sbom-enrich enrich`: a signed SBOM is refused unless the caller says what to
            # do with signatures that enrichment breaks (before any lookup is made).
            signature_warning = apply_signature_policy(sbom, query.signatures)
        except SbomError as error:
            raise ApiError(422, str(error)) from None
        try:
            sbom.remove_planted()  # refused before any lookup is charged (enrich does it too)
        except SbomError as error:
            raise ApiError(400, str(error)) from None
        # The lookups the run will make, as it works them out: a component it cannot edit, or
        # one on an index that is not allowed, asks nothing and costs nothing.
        wanted = wanted_lookups(sbom.pypi_components(), self.default_index, self.allowed)
        lookups = sum(len(names) for names in wanted.values())
        # With --maintenance each project also costs forge requests: a second unit each.
        self._charge(caller, lookups * (2 if self.survey is not None else 1))
        with noting_shared_lookups() as shared:
            report = await self.bounded(
                enrich_sbom(
                    sbom,
                    self.client,
                    self.catalog,
                    default_index=self.default_index,
                    allowed=self.allowed,
                    survey=self.survey,
                    wanted=wanted,
                ),
                deadline,
            )
        if signature_warning:
            report = msgspec.structs.replace(report, warnings=(*report.warnings, signature_warning))
        body = await run_in_threadpool(sbom.to_bytes)
        code = exit_code(report, query.fail_on, query.allow_incomplete)
        distinct = {(f.record.index_url, f.record.name): f.record for f in report.findings}
        self._refund(caller, lookups, distinct.values(), shared)
        if self.survey is not None:
            verdicts = {f.record.name: f.maintenance for f in report.findings if f.maintenance}
            self._refund_forges(caller, lookups, shared)
            self.metrics.observe_maintenance(verdicts.values())
        self.metrics.observe_lookups(
            r for r in distinct.values() if r.index_url in self._shown_allowed
        )
        self.metrics.observe_enrichment(report, VERDICTS[code], time.perf_counter() - started)
        return EnrichResult(body, response_media_type(media, sbom.spec_version), report, code)

    def _refund_forges(self, caller: str | None, charged: int, shared: SharedLookups) -> None:
        """Give back the ``charged`` forge units (one a project) that the forges were not
        asked for: what ``caller`` pays is the repository lookups its request started.

        Counted the other way (a unit back per repository the cache answered or another
        request's lookup answered) it kept the units of projects that asked no forge at all
        (no repository found, a host that is no configured forge, a project the index did
        not have) and of projects that share one repository, asked about once.
        """
        if self.limiter is not None and caller is not None:
            self.limiter.refund(caller, max(0, charged - shared.asked_the_forges()))

    async def maintenance(
        self,
        records: Iterable[StatusRecord],
        deadline: float | None = None,
        caller: str | None = None,
    ) -> dict[str, MaintenanceAnswer]:
        """The maintenance answers for ``records`` by canonical name; {} while it is off.

        Each distinct project is charged one more unit to ``caller`` (forges rate-limit the
        service per token: one caller must not spend it for all), refunded unless the request
        started a forge lookup for it (:meth:`_refund_forges`).
        """
        if self.survey is None:
            return {}
        distinct = {record.name: record for record in records}
        self._charge(caller, len(distinct), more=True)
        questions = [
            MaintenanceQuestion(
                record.name, record.status, record.latest_upload, index_url=record.index_url
            )
            for record in distinct.values()
        ]
        with noting_shared_lookups() as shared:
            answers = await self.bounded(self.survey.answer(questions), deadline)
        verdicts = [answer.verdict for answer in answers.values()]
        self._refund_forges(caller, len(distinct), shared)
        self.metrics.observe_maintenance(verdicts)
        return answers

    def record_answer(
        self,
        record: StatusRecord,
        answers: Mapping[str, MaintenanceAnswer],
        *,
        requested: str,
        version: str | None = None,
    ) -> dict[str, Any]:
        """One record as the API returns it, with its maintenance answer when there is one."""
        answer = answers.get(record.name)
        alternatives = self.catalog.for_project(record.name)
        if answer is not None:
            alternatives = with_recommendations(alternatives, answer.recommended)
        return record_json(
            record,
            alternatives,
            requested=requested,
            version=version,
            maintenance=answer.verdict if answer is not None else None,
            recommended=answer.recommended if answer is not None else (),
        )

    def check_index(self, index: str | None) -> str | None:
        """A requested index must be one of the allowed ones (no server-side request forgery)."""
        if index is None:
            return None
        try:
            url = parse_index_url("index", index)
        except SettingsError as error:
            raise ApiError(422, str(error)) from None
        # Callers name an index as shown (credentials removed); the service adds its own.
        real = self._by_shown.get(redact_url(url))
        if real is None:
            raise ApiError(422, f"index {redact_url(url)} is not allowed on this service")
        return real

    async def records(
        self,
        names: list[str],
        index: str | None,
        deadline: float | None = None,
        caller: str | None = None,
    ) -> list[StatusRecord]:
        """One record per name, in order; each distinct project looked up once (and charged
        to ``caller``'s rate limit, unless the cache answered or another request's lookup of
        it was under way)."""
        index = self.check_index(index)
        charged = len({canonical(name) for name in names})
        self._charge(caller, charged)

        async def lookup_all() -> list[StatusRecord]:
            found = {}
            async for record in self.client.lookup_many(names, index):
                found[record.name] = record
            return [found[canonical(name)] for name in names]

        with noting_shared_lookups() as shared:
            records = await self.bounded(lookup_all(), deadline)
        distinct = {r.name: r for r in records}.values()
        self._refund(caller, charged, distinct, shared)
        self.metrics.observe_lookups(distinct)
        return records


async def _cancelled(task: asyncio.Future[Any]) -> None:
    """Cancel ``task`` and wait until it has ended (its own cleanup included)."""
    task.cancel()
    await asyncio.wait({task})
    if not task.cancelled() and task.exception() is not None:
        logger.warning("work ended by its request failed: %s", task.exception())


# -- request helpers ------------------------------------------------------------------------


def service_of(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


def caller_of(request: Request) -> str | None:
    """Who the rate limiter charges (None when there is no rate limit)."""
    return client_key(request.scope) if service_of(request).limiter is not None else None


async def read_body(request: Request, limit: int, deadline: float) -> bytes:
    """The body, refused with 413 as soon as it passes ``limit`` (never read whole first), and
    with 408 when it has not all arrived by ``deadline`` (a stalled or trickling upload)."""
    coding = request.headers.get("content-encoding", "identity").strip().lower()
    if coding != "identity":
        shown = clean_text(coding, 40)
        message = f"Content-Encoding {shown} is not supported: send the body uncompressed"
        raise ApiError(415, message)
    # HTTP's digits only ("²".isdigit() is True, int("²") raises); h11 refuses such a length
    # first, but the app must not rely on the server in front of it.
    declared = decimal(request.headers.get("content-length") or "", limit + 1)
    if declared is not None and declared > limit:
        raise ApiError(413, f"the body is larger than the limit of {limit} bytes")
    chunks: list[bytes] = []

    async def receive() -> None:
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise ApiError(413, f"the body is larger than the limit of {limit} bytes")
            chunks.append(chunk)

    timeout = service_of(request).settings.request_timeout
    try:
        await within(receive(), max(0.0, deadline - time.monotonic()))
    except asyncio.TimeoutError:
        raise ApiError(408, f"the body did not arrive within {timeout:g} s") from None
    except ClientDisconnect:
        raise ApiError(CLIENT_CLOSED, "the client left before sending the whole body") from None
    return b"".join(chunks)


async def _client_left(request: Request) -> None:
    """Returns once the client has hung up (its body read, ``receive`` waits for that)."""
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            return
        if message.get("more_body", False):
            # A body nobody reads (a GET's) stays unread, never drained to see the hang-up.
            await asyncio.Event().wait()


async def while_connected(request: Request, work: Awaitable[T]) -> T:
    """``work``, cancelled when the client hangs up first (its lookups end with it, as at the
    deadline: :meth:`Service.bounded`); then a 499, which only the metrics see."""
    task = asyncio.ensure_future(work)
    gone = asyncio.ensure_future(_client_left(request))
    try:
        await asyncio.wait({task, gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for running in (gone, task):
            if not running.done():
                await _cancelled(running)
    if task.cancelled():
        raise ApiError(CLIENT_CLOSED, "the client left before the answer")
    return task.result()


def json_response(
    body: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    # A lone surrogate (JSON allows "\ud800", so clients can send one and see it echoed) has
    # no UTF-8 form; backslashreplace writes it back as the same JSON escape.
    return Response(
        json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode(
            "utf-8", "backslashreplace"
        ),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


# -- handlers -------------------------------------------------------------------------------


async def enrich(request: Request) -> Response:
    service = service_of(request)
    media, fmt = sbom_media_type(request.headers.get("content-type"))
    query = parse_enrich_query(
        request.query_params.multi_items(),
        fail_on=service.settings.fail_on,
        allow_incomplete=service.settings.allow_incomplete,
    )
    deadline = service.deadline()
    data = await read_body(request, service.settings.max_body, deadline)
    result = await while_connected(
        request, service.enrich(data, media, fmt, query, deadline, caller_of(request))
    )
    headers = verdict_headers(result.report, result.code)
    if query.report:
        return json_response(render_json(result.report, query.fail_on, result.code), 200, headers)
    return Response(result.sbom, media_type=result.media_type, headers=headers)


async def project(request: Request) -> Response:
    service = service_of(request)
    name = valid_project_name(request.path_params["name"])
    params = query_values(request.query_params.multi_items(), PROJECT_PARAMETERS)
    version = valid_version(params.get("version") or "") or None
    index = params.get("index")
    deadline = service.deadline()
    caller = caller_of(request)

    async def answer() -> dict[str, Any]:
        [record] = await service.records([name], index, deadline, caller)
        answers = await service.maintenance([record], deadline, caller)
        return service.record_answer(record, answers, requested=name, version=version)

    return json_response(await while_connected(request, answer()))


async def projects_batch(request: Request) -> Response:
    service = service_of(request)
    deadline = service.deadline()
    limit = max(MAX_BATCH_BODY, service.settings.max_batch * (MAX_NAME_LENGTH + 8))
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != "application/json":
        # Any type was read as JSON: a web page may POST text/plain to a service on this
        # machine without asking first (no CORS preflight), and make it do lookups.
        shown = clean_text(media, 60) or "none"
        raise ApiError(415, f"Content-Type {shown}: send the names as application/json")
    query_values(request.query_params.multi_items(), ())  # it takes none: all in the body
    body = await read_body(request, min(limit, service.settings.max_body), deadline)
    names, index = parse_batch(body, service.settings.max_batch)
    caller = caller_of(request)

    async def answer() -> dict[str, Any]:
        records = await service.records(names, index, deadline, caller)
        answers = await service.maintenance(records, deadline, caller)
        return {
            "records": [
                service.record_answer(record, answers, requested=name)
                for name, record in zip(names, records, strict=True)
            ]
        }

    return json_response(await while_connected(request, answer()))


async def healthz(request: Request) -> Response:
    service = service_of(request)
    store = request.app.state.store
    backend = "none" if store is None else "redis" if service.settings.cache_url else "disk"
    cache = {"backend": backend, "usable": store is not None and store.usable}
    maintenance = service.survey is not None
    return json_response(
        {"status": "ok", "version": __version__, "cache": cache, "maintenance": maintenance}
    )


async def metrics(request: Request) -> Response:
    return Response(service_of(request).metrics.render(), media_type=METRICS_CONTENT_TYPE)


async def openapi(request: Request) -> Response:
    return JSONResponse(request.app.state.openapi)


async def docs(request: Request) -> Response:
    return HTMLResponse(docs_page(request.app.state.openapi))


# -- errors ---------------------------------------------------------------------------------


async def api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return json_response(error_json(exc.message), exc.status, exc.headers)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return json_response(error_json(str(exc.detail)), exc.status_code, exc.headers)


async def server_error(request: Request, exc: Exception) -> Response:
    logger.exception("internal error serving %s %s", request.method, request.url.path)
    return json_response(error_json("internal error (logged on the server)"), 500)


class RequestMetrics:
    """Counts and times every HTTP request by route template (not by raw path)."""

    def __init__(self, app: ASGIApp, metrics: Callable[[], ServiceMetrics | None]) -> None:
        self.app = app
        self._metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        service_metrics = self._metrics()
        if service_metrics is not None:
            service_metrics.in_progress.inc()
        try:
            await self.app(scope, receive, send_status)
        finally:
            if service_metrics is not None:
                service_metrics.in_progress.dec()
                route = scope.get("route")
                label = getattr(route, "path", None) or "unmatched"
                method = scope["method"] if scope["method"] in METHODS else "other"
                service_metrics.observe_request(
                    label, method, status, time.perf_counter() - started
                )


#: An unread request body up to this size is read (and dropped) before an early answer.
DRAIN_LIMIT = 64 * 1024
DRAIN_SECONDS = 1.0


def _small(headers: dict[bytes, bytes]) -> bool:
    if b"transfer-encoding" in headers:
        return False
    length = decimal(headers.get(b"content-length", b"").decode("latin-1"), DRAIN_LIMIT + 1)
    return length is not None and length <= DRAIN_LIMIT


class CloseOnUnreadBody:
    """Ends the connection when the answer starts before the request body was read to its end
    (413, 408, 415, a bad query): uvicorn would keep it and swallow the rest of the upload."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        unread = b"transfer-encoding" in headers or headers.get(b"content-length", b"0") != b"0"

        async def receive_body() -> Message:
            nonlocal unread
            message = await receive()
            if not message.get("more_body", False):  # the last chunk, or a disconnect
                unread = False
            return message

        async def drain() -> None:
            nonlocal unread
            while unread:
                message = await receive()
                if message["type"] != "http.request" or not message.get("more_body", False):
                    unread = False

        async def send_close(message: Message) -> None:
            nonlocal unread
            if message["type"] == "http.response.start" and unread and _small(headers):
                # Read a small unread body before answering: closing a socket with unread
                # bytes sends a TCP reset, and the client can lose the answer with it. The
                # wait is bounded, so a client that never sends its body costs one second.
                try:
                    await within(drain(), DRAIN_SECONDS)
                except asyncio.TimeoutError:
                    unread = True
            if message["type"] == "http.response.start" and unread:
                close = (b"connection", b"close")
                message = {**message, "headers": [*message.get("headers", []), close]}
            await send(message)

        await self.app(scope, receive_body, send_close)


def create_app(settings: ServiceSettings) -> Starlette:
    """The app; the status client, cache and HTTP pool are made in the lifespan, per process.

    Raises AlternativesError when an alternatives file is unusable, SettingsError when the token
    file is (before serving anything).
    """
    catalog = AlternativesCatalog.load(settings.alternatives_files)
    tokens = load_tokens(settings.token_file) if settings.token_file else ()
    limiter = RateLimiter(settings.rate_limit) if settings.rate_limit else None

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            async with AsyncExitStack() as stack:
                client = await stack.enter_async_context(
                    open_status_client(
                        settings.client,
                        cache_url=settings.cache_url,
                        not_found_ttl=settings.not_found_ttl,
                        # A request that ends (deadline, hang-up) ends the lookups it alone
                        # awaits: they would hold index connections and its parsed SBOM.
                        cancel_orphans=True,
                    )
                )
                survey = None
                if settings.repository is not None:
                    survey = await stack.enter_async_context(
                        open_maintenance_survey(
                            client,
                            settings.repository,
                            settings.stale_policy,
                            cache_url=settings.cache_url,
                            # As the index lookups: a forge call only an ended request
                            # awaited would hold a slot of the forge concurrency.
                            cancel_orphans=True,
                        )
                    )
                app.state.store = client.cache
                app.state.service = Service(
                    settings, client, catalog, app.state.metrics, limiter, survey
                )
                app.state.client = client
                app.state.survey = survey
                logger.info(
                    "serving %s (cache: %s; maintenance: %s)",
                    client.index_url,
                    redact_url(settings.cache_url) if settings.cache_url else "disk",
                    "on" if survey is not None else "off",
                )
                yield
        finally:
            app.state.client = None
            app.state.store = None
            app.state.survey = None

    app = Starlette(
        routes=[
            Route("/v1/enrich", enrich, methods=["POST"]),
            Route("/v1/projects:batch", projects_batch, methods=["POST"]),
            Route("/v1/projects/{name}", project, methods=["GET"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
            Route("/openapi.json", openapi, methods=["GET"]),
            Route("/docs", docs, methods=["GET"]),
        ],
        exception_handlers={
            ApiError: api_error,
            HTTPException: http_error,
            Exception: server_error,
        },
        lifespan=lifespan,
    )
    # Its redirect built Location from the client's Host header; a wrong path is a JSON 404.
    app.router.redirect_slashes = False
    app.state.client = None
    app.state.store = None
    app.state.survey = None
    app.state.metrics = ServiceMetrics(
        lambda: app.state.client,
        lambda: app.state.store,
        lambda: app.state.survey.repositories if app.state.survey is not None else None,
    )
    app.state.openapi = openapi_document(settings)
    if limiter is not None:
        app.add_middleware(RateLimit, limiter=limiter, open_paths=OPEN_PATHS | {"/metrics"})
    if tokens:
        open_paths = OPEN_PATHS if settings.metrics_auth else OPEN_PATHS | {"/metrics"}
        # Guesses are rate-limited by address: a wrong token costs a unit like a request.
        refuse = unauthorized if limiter is None else RateLimit(unauthorized, limiter, ())
        app.add_middleware(BearerAuth, tokens=tokens, open_paths=open_paths, refuse=refuse)
    if checks_host(settings.host, settings.allowed_hosts):
        # Before tokens: a rebound browser's request is refused whatever it carries.
        app.add_middleware(TrustedHosts, names=settings.allowed_hosts)
    app.add_middleware(RequestMetrics, metrics=lambda: app.state.metrics)
    app.add_middleware(CloseOnUnreadBody)
    return app


def create_app_from_environment() -> Starlette:
    """uvicorn's factory for worker processes: settings from ``SBOM_ENRICH_SERVE_CONFIG``."""
    text = os.environ.get(CONFIG_ENV)
    return create_app(ServiceSettings.from_json(text) if text else ServiceSettings())
