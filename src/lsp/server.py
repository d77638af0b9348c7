"""The pygls language server: thin handlers over the pure diagnostics, hover and code actions."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Coroutine, Generator, Mapping
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from lsprotocol import types
from pygls.exceptions import (
    FeatureRequestError,
    JsonRpcException,
    JsonRpcInvalidParams,
    JsonRpcInvalidRequest,
    JsonRpcParseError,
)
from pygls.lsp.server import LanguageServer
from pygls.protocol.json_rpc import JsonRPCProtocol, RPCRequest
from pygls.protocol.language_server import LanguageServerProtocol, lsp_method
from pygls.workspace import TextDocument

from sbom_enrich import __version__
from sbom_enrich._deadline import within
from sbom_enrich.errors import AlternativesError, SettingsError
from sbom_enrich.findings.alternatives import (
    Alternative,
    AlternativesCatalog,
    offered_alternatives,
)
from sbom_enrich.manifests import ParsedManifest, Requirement, Span, kind_of, parse_manifest
from sbom_enrich.status.maintenance import MaintenanceVerdict, StalePolicy
from sbom_enrich.status.model import ProjectStatus, StatusRecord, canonical
from sbom_enrich.status.settings import ClientSettings
from sbom_enrich.status.untrusted import clean_text
from sbom_enrich.status.urls import redact_url

from . import bootstrap
from .code_actions import code_actions_for
from .diagnostics import (
    DocumentDiagnostics,
    build_failure_messages,
    build_failure_reason,
    crashed_lookup,
    is_checked,
    locked_elsewhere,
    lookup_failure_message,
    lookup_key,
    lookups_failed_diagnostic,
    namesake_failure,
    namesake_key,
    not_checked_diagnostic,
    split_key,
    surveyed_keys,
    to_range,
)
from .hover import hover_markdown, hover_span, requirement_at
from .includes import (
    Included,
    IncludeReader,
    include_boundary,
    included_diagnostics,
    included_keys,
    not_followed,
)
from .lines import use_lsp_lines
from .locks import (
    LOCK_DISTANCE,
    LockBeside,
    LockReader,
    elsewhere_hover,
    namesake_hover,
    pulled_in_diagnostics,
    pulls_in_hover,
)
from .lsp_settings import (
    LspSettings,
    SettingsResult,
    concerns_us,
    parse_lsp_settings,
    settings_section,
    unknown_keys,
)
from .positions import from_client_column, normalize_encoding
from .scheduling import (
    OPENED,
    LineRange,
    LookupQueue,
    changed_lines,
    flush_delay,
    names_by_distance,
)
from .survey_batches import SurveyBatches

if TYPE_CHECKING:
    from sbom_enrich.status.client import StatusClient
    from sbom_enrich.status.repository.survey import (
        MaintenanceAnswer,
        MaintenanceQuestion,
        MaintenanceSurvey,
    )

logger = logging.getLogger(__name__)

#: How long an answer is reused from memory before the status client is asked again (its disk
#: cache decides whether that means a network request).
MEMO_SECONDS = 300.0
#: Failed lookups are retried sooner: the index may be back. Open documents are re-checked
#: after this long on their own, without waiting for an edit.
FAILED_MEMO_SECONDS = 30.0
#: How long a diagnostic pull waits for the status client (built after ``initialized``, rebuilt
#: after a settings change) before it is answered ServerCancelled and the editor asks again.
#: Answered at once instead, as it was, its empty report read as "no problems".
PULL_WAIT_SECONDS = 3.0
#: A status client that could not be built is tried again on its own after this long, then
#: twice as long each time, up to ``REBUILD_MAX_SECONDS``: a cache directory that was locked
#: or full, or an environment fixed meanwhile, brings the diagnostics back without an edit.
REBUILD_FIRST_SECONDS = 5.0
REBUILD_MAX_SECONDS = 300.0

ClientFactory = Callable[[ClientSettings], "AbstractAsyncContextManager[StatusClient]"]


def open_status_client(settings: ClientSettings) -> AbstractAsyncContextManager[StatusClient]:
    """The status client (HTTP client, disk cache), imported only when first needed.

    httpx (with the CLI extras it imports when installed: rich, click, pygments), the TLS
    context and diskcache are half of this server's start-up: they load after the server has
    answered ``initialize`` (tests/lsp/test_lsp_main.py checks what a start imports).
    """
    from sbom_enrich.status.compose import open_status_client as open_client

    return open_client(settings)


class ServerCancelled(JsonRpcException):
    """LSP's ServerCancelled for a diagnostic pull the server cannot answer yet: the
    DiagnosticServerCancellationData asks the editor to pull again (VS Code's client and
    Neovim 0.11 do so at once)."""

    CODE = types.LSPErrorCodes.ServerCancelled.value
    MESSAGE = "sbom-enrich is still starting its status client: pull again"

    def __init__(self) -> None:
        super().__init__(data={"retriggerRequest": True})


class RequestFailed(JsonRpcException):
    """LSP's RequestFailed: the request cannot be answered, and asking again would not help."""

    CODE = types.LSPErrorCodes.RequestFailed.value


class QuietServerCancelled(logging.Filter):
    """Drops pygls's error log (a traceback) for a pull answered ServerCancelled: expected,
    and the editor asks again; anything else it logs is kept."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], ServerCancelled))


#: One instance: adding it again (a second server in one process) is a no-op.
QUIET_SERVER_CANCELLED = QuietServerCancelled()


class QuietUnreadable(logging.Filter):
    """Drops pygls's tracebacks for a message it cannot read ("Unable to deserialize
    message", and "Unable to handle message" for a body that is not JSON): the protocol
    logs one line for it instead, and answers it where JSON-RPC asks for an answer."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = str(record.msg)
        if text.startswith("Unable to deserialize message"):
            return False
        unreadable = record.exc_info is not None and isinstance(record.exc_info[1], ValueError)
        return not (text.startswith("Unable to handle message") and unreadable)


QUIET_UNREADABLE = QuietUnreadable()


@dataclass(frozen=True)
class Analysis:
    """One document version, parsed."""

    version: int | None
    manifest: ParsedManifest
    lines: tuple[str, ...]
    toml: bool
    #: The lines that differ from the version analysed before (its lookups go first).
    changed: LineRange = OPENED
    #: A pyproject.toml's lock file beside it (what its dependencies pull in), if any.
    lock: LockBeside | None = None
    #: The text analysed: a client that sends new text under the same version number
    #: (didOpen again, a didChange that repeats it) is analysed again, not answered stale.
    source: str = ""
    #: What each ``-r``/``-c`` line of a requirements file leads to (read from disk).
    includes: tuple[Included, ...] = ()


@dataclass(frozen=True)
class Memo:
    record: StatusRecord
    expires: float


def uri_path(uri: str) -> str:
    """The file path in a ``file:`` URI (other schemes: the URI's path, for the name check)."""
    return unquote(urlsplit(uri).path)


class ServerNotInitialized(JsonRpcException):
    """LSP's answer to a request that comes before initialize."""

    CODE = types.ErrorCodes.ServerNotInitialized.value
    MESSAGE = "Server not initialized"


@dataclass(frozen=True)
class RefusedRequest:
    """A request pygls could not read (its params do not fit its method's type: a negative
    line, no position), or a notification sent with an id: pygls logged it and answered
    nothing, and the editor waited for ever. It is answered ``error``."""

    id: int | str
    method: str
    error: JsonRpcException
    jsonrpc: str = JsonRPCProtocol.VERSION


def unreadable_reason(error: BaseException) -> str:
    """The first thing cattrs could not read (``Position.line should be in range ...``)."""
    while inner := getattr(error, "exceptions", None):  # cattrs's (backported) ExceptionGroup
        error = inner[0]
    return str(error) or type(error).__name__


@dataclass(frozen=True)
class ProtocolNoise:
    """A message that is no valid request (an ``id`` that is null, a list, a fraction; no
    JSON-RPC object at all), or a notification or response pygls cannot read. JSON-RPC 2.0
    (section 5) answers an invalid request with an error whose id is null; a notification is
    answered nothing. Either is logged in one line; the user is told once per session."""

    reason: str
    #: Answer with this error and id null (None: a notification or a response, no answer).
    error: JsonRpcException | None = None


def valid_id(value: object) -> bool:
    """LSP's request id: an integer or a string (not null, a fraction, a list, a boolean)."""
    return not isinstance(value, bool) and isinstance(value, int | str)


def request_identity(data: object) -> tuple[int | str, str] | None:
    """(id, method) when ``data`` is a JSON-RPC 2.0 request someone waits an answer to."""
    if not isinstance(data, dict) or data.get("jsonrpc") != JsonRPCProtocol.VERSION:
        return None
    request_id, method = data.get("id"), data.get("method")
    if isinstance(request_id, bool) or not isinstance(request_id, int | str):
        return None
    return (request_id, method) if isinstance(method, str) else None


def refusal(method: str, *, initialized: bool, shut_down: bool) -> JsonRpcException | None:
    """The error a request is answered with before any handler sees it (LSP's lifecycle), or
    None: after shutdown only exit is left; before initialize, nothing; initialize only once."""
    if shut_down:
        return JsonRpcInvalidRequest(f"{method}: the server is shut down, only exit is left")
    if method == types.INITIALIZE:
        return JsonRpcInvalidRequest("initialize: sent once only") if initialized else None
    return None if initialized else ServerNotInitialized(f"{method}: initialize comes first")


class SbomEnrichProtocol(LanguageServerProtocol):
    """pygls's protocol, except that every request gets exactly one answer (one pygls cannot
    read: InvalidParams; one out of the lifecycle's order: :func:`refusal`), ``exit`` sets the
    exit code LSP asks for (:attr:`exit_code`), and a didChange for a document never opened is
    ignored.

    pygls raises KeyError there, and editors show the user an "Error in server" pop-up for a
    client-side slip that loses nothing.
    """

    #: 0 after ``exit`` that followed ``shutdown``, 1 after one that did not; None before.
    exit_code: int | None = None
    #: Whether the user was told of a message the server could not read (once a session).
    noise_told: bool = False

    def structure_message(self, data: dict[str, Any]) -> Any:
        if "jsonrpc" in data and "method" in data and "id" in data and not valid_id(data["id"]):
            # pygls read an id of null as a request's and answered it (a null-id shutdown
            # shut the server down); a list or a fraction it could not read, and answered none.
            shown = clean_text(json.dumps(data["id"])[:40], 40)
            reason = f"a request whose id is {shown}, not an integer or a string"
            return ProtocolNoise(reason, JsonRpcInvalidRequest(f"Invalid request: {reason}"))
        try:
            message = super().structure_message(data)
        except JsonRpcException as error:
            if (request := request_identity(data)) is None:
                what = "notification" if "id" not in data else "response"
                method = data.get("method")
                name = clean_text(method, 100) if isinstance(method, str) else "?"
                cause = error.__cause__ if error.__cause__ is not None else error
                reason = clean_text(unreadable_reason(cause), 200)
                return ProtocolNoise(f"a {what} ({name}) that cannot be read: {reason}")
            request_id, method = request
            cause = error.__cause__ if error.__cause__ is not None else error
            reason = clean_text(unreadable_reason(cause), 200)
            logger.warning("request %s (%s) has invalid params: %s", request_id, method, reason)
            invalid = JsonRpcInvalidParams(
                f"Invalid params for {clean_text(method, 100)}: {reason}"
            )
            return RefusedRequest(request_id, method, invalid)
        request = request_identity(data)
        if request is not None and request[1] != types.EXIT and not hasattr(message, "id"):
            # pygls would handle it as the notification it is, and answer nothing.
            sent = JsonRpcInvalidRequest(f"{clean_text(request[1], 100)} is a notification")
            return RefusedRequest(*request, sent)
        return message

    def handle_message(self, message: Any) -> None:
        if not isinstance(message, ProtocolNoise) and not hasattr(message, "jsonrpc"):
            # A batch (LSP has none), a number, a string, an object without "jsonrpc".
            message = ProtocolNoise(
                "a message that is no JSON-RPC object",
                JsonRpcInvalidRequest("Invalid request: not a JSON-RPC 2.0 object"),
            )
        if isinstance(message, ProtocolNoise):
            self.protocol_noise(message)
            return
        if isinstance(message, RefusedRequest | RPCRequest):
            error = refusal(
                message.method, initialized=self._workspace is not None, shut_down=self._shutdown
            )
            if error is None and isinstance(message, RefusedRequest):
                error = message.error
            if error is not None:
                self._send_response(message.id, None, error.to_response_error())
                return
        if getattr(message, "method", None) == types.EXIT:
            self.exit_code = 0 if self._shutdown else 1
        super().handle_message(message)

    def protocol_noise(self, noise: ProtocolNoise) -> None:
        """Answer ``noise`` where JSON-RPC asks for an answer (id null), log it in one line,
        and tell the user the first time only: an editor (or a plugin) that sends such
        messages sends many, and a pop-up for each buried the user."""
        logger.warning("the editor sent %s: ignored", noise.reason)
        if noise.error is not None:
            # Written out: lsprotocol's ResponseErrorMessage leaves a null id out, and
            # JSON-RPC 2.0 requires the member.
            error = noise.error.to_response_error()
            answer = {"jsonrpc": self.VERSION, "id": None}
            self._send_data({**answer, "error": {"code": error.code, "message": error.message}})
        self.tell_once(f"the editor sent {noise.reason}; it was ignored")

    def tell_once(self, what: str) -> None:
        """One window/showMessage a session for protocol trouble; the rest is in the log."""
        if self.noise_told:
            return
        self.noise_told = True
        message = f"sbom-enrich: {what} (any more such messages go to the log only)"
        self.notify(
            types.WINDOW_SHOW_MESSAGE,
            types.ShowMessageParams(type=types.MessageType.Warning, message=message),
        )

    def _send_response(self, msg_id: Any, result: Any = None, error: Any = None) -> None:
        """pygls's, except that an error answer never carries a Python traceback: pygls puts
        one in ``data`` for any exception a handler raises (a request before initialize got
        eleven frames of our source). It goes to the log; the editor gets one clean line."""
        data = getattr(error, "data", None)
        if isinstance(data, dict) and "traceback" in data:
            logger.debug("error answered to request %s: %s", msg_id, "".join(data["traceback"]))
            error = types.ResponseError(
                code=error.code, message=clean_text(str(error.message), 300), data=None
            )
        super()._send_response(msg_id, result, error)

    @lsp_method(types.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(
        self, params: types.DidChangeTextDocumentParams
    ) -> Generator[Any, Any, Any]:
        if unquote(params.text_document.uri) not in self.workspace.text_documents:
            logger.warning("didChange for %s, which is not open: ignored", params.text_document.uri)
            return None
        return (yield from super().lsp_text_document__did_change(params))


class SbomEnrichServer(LanguageServer):
    """Holds per-session state; the handlers registered by :func:`build_server` call in here."""

    def __init__(
        self,
        *,
        env: Mapping[str, str] | None = None,
        client_factory: ClientFactory = open_status_client,
    ) -> None:
        super().__init__(
            name=bootstrap.SERVER_NAME, version=__version__, protocol_cls=SbomEnrichProtocol
        )
        self.env = env
        self.client_factory = client_factory
        self.settings = LspSettings()
        #: The settings last applied and the message about them (None: all were valid).
        self._settings_told: tuple[LspSettings, str | None] | None = None
        #: Our section of the initializationOptions: what a didChangeConfiguration is laid over.
        self.initialization_options: Mapping[str, Any] | None = None
        self.catalog = AlternativesCatalog.builtin()
        self.analyses: dict[str, Analysis] = {}
        self.memo: dict[str, Memo] = {}
        #: Diagnostics are pulled (the client asked for them and can be told to ask again);
        #: otherwise they are pushed. Never both.
        self.pull_mode = False
        self._status: StatusClient | None = None
        #: The repository source (setting ``maintenance``) and its answers by lookup key
        #: (:func:`lookup_key`): a private index's project is not its public namesake.
        self._survey: MaintenanceSurvey | None = None
        self.maintenance: dict[str, MaintenanceAnswer] = {}
        #: Questions for the survey, sent 100 at a time (one GraphQL request per batch).
        self.survey_batches: SurveyBatches | None = None
        self._stack: AsyncExitStack | None = None
        self._client_lock = asyncio.Lock()
        #: The status client being built for requests that wait for it (a pull).
        self._building: asyncio.Task[StatusClient] | None = None
        #: The build whose end sends a refresh, once a pull was answered ServerCancelled.
        self._refresh_when_built: asyncio.Task[StatusClient] | None = None
        #: Lookups in flight (at most the client's concurrency); the rest wait in ``_queue``.
        self._pending: dict[str, asyncio.Task[None]] = {}
        self._queue = LookupQueue()
        #: The names each analysed document needs: a queued name nobody needs is dropped.
        self._wanted: dict[str, frozenset[str]] = {}
        #: Of those, the ones some requirement installed from an index needs: only they are
        #: surveyed (:func:`surveyed_keys`; a name installed from git alone is not).
        self._surveyed: dict[str, frozenset[str]] = {}
        #: Queued names on the lines just edited: their answers are published without delay.
        self._edited: set[str] = set()
        self._debounce: dict[str, asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._updated: set[str] = set()
        self._flush: asyncio.Task[None] | None = None
        self._flush_due = 0.0
        #: Seconds the last flush (or pull) took: a backlog's answers wait in proportion.
        self._publish_cost = 0.0
        #: Each document's diagnostics, kept between publishes while its analysis is current.
        self._documents: dict[str, DocumentDiagnostics] = {}
        self._retry: asyncio.Task[None] | None = None
        self._failure_reported = False
        #: Why the status client could not be built (sanitised), while it cannot: shown once,
        #: and each open document is marked not checked. None once built, or settings changed.
        self.build_failure: str | None = None
        #: The timed retry of a failed build, and the wait before the next one.
        self._rebuild: asyncio.Task[None] | None = None
        self._rebuild_delay = REBUILD_FIRST_SECONDS
        self.locks = LockReader()
        self.include_reader = IncludeReader()

    # -- plumbing -----------------------------------------------------------------------

    def report_server_error(self, error: Exception, source: Any) -> None:
        """pygls shows each error it catches outside a request as an "Error in server" pop-up:
        one per malformed message. A body that is not JSON is answered ParseError (id null,
        JSON-RPC 2.0 section 5); every such error is logged in one line, and the user is told
        once a session. A request's own error is in its answer (pygls's rule, kept)."""
        if source is FeatureRequestError:
            return
        protocol = self.protocol
        if not isinstance(protocol, SbomEnrichProtocol):
            super().report_server_error(error, source)
            return
        reason = clean_text(str(error), 200) or type(error).__name__
        if source is JsonRpcException and isinstance(error, ValueError):
            # json.loads raised: not JSON (JSONDecodeError), or not UTF-8 (UnicodeDecodeError)
            noise = ProtocolNoise(f"a message that is not JSON ({reason})", JsonRpcParseError())
            protocol.protocol_noise(noise)
            return
        logger.error("server error (%s): %s", getattr(source, "__name__", source), reason)
        protocol.tell_once(f"internal error: {reason}")

    @property
    def exit_code(self) -> int:
        """The process's exit code once serving ended: 1 after an ``exit`` that no
        ``shutdown`` came before (LSP), else 0 (the editor closed the input: it has gone)."""
        protocol = self.protocol
        return (protocol.exit_code if isinstance(protocol, SbomEnrichProtocol) else None) or 0

    def spawn(self, work: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run ``work`` in the background, keeping a reference and logging its failure."""
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            logger.error("background task failed", exc_info=error)

    @property
    def encoding(self) -> str:
        return normalize_encoding(self.workspace.position_encoding)

    def apply_settings(self, result: SettingsResult, payload: object) -> bool:
        """Adopt new settings; True when the status client must be rebuilt."""
        told = (result.settings, result.message())
        if (message := told[1]) is not None and told != self._settings_told:
            # An Error when the index is refused: then no file is checked, and this is the one
            # message saying so (the failed build that follows only logs). Not again for the
            # same settings sent again (Neovim repeats them in a didChangeConfiguration at
            # start): a change that leaves a setting invalid is told again, the user acted.
            refused = result.settings.index_refused is not None
            kind = types.MessageType.Error if refused else types.MessageType.Warning
            self.window_show_message(types.ShowMessageParams(type=kind, message=message))
        self._settings_told = told
        if extra := unknown_keys(payload):
            logger.info("ignoring unknown settings: %s", ", ".join(extra))
        rebuild = (
            result.settings.client != self.settings.client
            or result.settings.maintenance != self.settings.maintenance
            or result.settings.index_refused != self.settings.index_refused
        )
        self.settings = result.settings
        try:
            self.catalog = AlternativesCatalog.load(result.settings.alternatives_files)
        except AlternativesError as error:
            self.window_show_message(
                types.ShowMessageParams(type=types.MessageType.Warning, message=str(error))
            )
            self.catalog = AlternativesCatalog.builtin()
        return rebuild

    async def status_client(self) -> StatusClient:
        """The status client, built first if need be. Built whole or not at all: when a part
        fails (the maintenance survey builds the HTTP client at once), what was opened is
        closed and the failure is told (:meth:`note_build_failure`) and raised; the next
        call builds again."""
        async with self._client_lock:
            if self._status is None:
                stack = AsyncExitStack()
                try:
                    if (refused := self.settings.index_refused) is not None:
                        raise SettingsError(refused)  # never the default index in its place
                    status = await stack.enter_async_context(
                        self.client_factory(self.settings.client)
                    )
                    if self.settings.maintenance:
                        await self.open_survey(stack, status)
                except BaseException as error:
                    await self.discard(stack)
                    if isinstance(error, Exception):
                        self.note_build_failure(error)
                        self.schedule_rebuild()
                    raise
                self._status, self._stack, self.build_failure = status, stack, None
                self.cancel_rebuild()  # built by an open or an edit before the timer's try
                logger.info("status client for %s", redact_url(self.settings.client.index_url))
            return self._status

    async def discard(self, stack: AsyncExitStack) -> None:
        """Close what a failed build opened: a client half built is no client."""
        self._survey, self.survey_batches = None, None
        try:
            await stack.aclose()
        except Exception:
            logger.exception("closing a status client that failed to build")

    def note_build_failure(self, error: Exception) -> None:
        """Tell the editor, once per failure, that the status client cannot be built.

        A push client (Neovim, Emacs, Vim) otherwise showed every file clean: nothing was
        published, and the error went only to the server's log. The same reason again (each
        open, edit and save builds again) is only logged; a new reason, or a failure after a
        settings change, is told again.
        """
        reason = build_failure_reason(error)
        if reason == self.build_failure:
            logger.info("the status client still cannot be built: %s", reason)
            return
        logger.error("the status client could not be built: %s", reason, exc_info=error)
        self.build_failure = reason
        client = self.settings.client
        refused = self.settings.index_refused is not None
        shown, logged = build_failure_messages(
            reason,
            None if refused else client.index_url,
            str(client.cache_dir or "the platform's user cache"),
            retried=not refused,
        )
        if not refused:  # an invalid index was shown with the settings: one pop-up, not two
            self.window_show_message(
                types.ShowMessageParams(type=types.MessageType.Error, message=shown)
            )
        self.window_log_message(
            types.LogMessageParams(type=types.MessageType.Error, message=logged)
        )

    def schedule_rebuild(self) -> None:
        """Try the failed build again after a while, on a timer that doubles each time, and
        re-check the open documents when it succeeds. Not for an invalid index: only a
        settings change fixes that (and cancels the timer, as shutting down does)."""
        if self.settings.index_refused is not None:
            return
        if self._rebuild is not None and not self._rebuild.done():
            return
        delay = self._rebuild_delay
        self._rebuild_delay = min(delay * 2, REBUILD_MAX_SECONDS)
        self._rebuild = self.spawn(self.rebuild_after(delay))

    async def rebuild_after(self, delay: float) -> None:
        await asyncio.sleep(delay)
        self._rebuild = None  # a failure now schedules the next try
        try:
            await self.status_client()
        except Exception:  # told by note_build_failure (once per reason), and tried again
            return
        logger.info("the status client was built on a later try")
        self.recheck_open_documents()

    def cancel_rebuild(self) -> None:
        if self._rebuild is not None:
            self._rebuild.cancel()
            self._rebuild = None
        self._rebuild_delay = REBUILD_FIRST_SECONDS

    def start_status_client(self) -> asyncio.Task[StatusClient]:
        """Build the status client in the background (once at a time); the task gives it."""
        if self._building is None or self._building.done():
            self._building = self.spawn(self.status_client())
        return self._building

    async def ready_status_client(self, timeout: float) -> StatusClient:
        """The status client, waiting at most ``timeout`` seconds while it is built.

        Raises :class:`ServerCancelled` when it is not ready by then (building goes on), and
        :class:`RequestFailed` when building it failed.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while (status := self._status) is None:
            building = self.start_status_client()
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise ServerCancelled
            try:
                # Shielded: a pull that gives up (or that the editor cancels) leaves it building.
                await within(asyncio.shield(building), remaining)
            except asyncio.TimeoutError:
                if self._refresh_when_built is not building:
                    self._refresh_when_built = building
                    building.add_done_callback(self._built_after_cancelled_pull)
                raise ServerCancelled from None
            except Exception as error:  # whatever building raised: told once, and logged
                raise RequestFailed(
                    f"sbom-enrich could not start its status client: {build_failure_reason(error)}"
                ) from error
            # Loop: a settings change may have closed the client that was just built.
        return status

    def _built_after_cancelled_pull(self, building: asyncio.Task[StatusClient]) -> None:
        """Ask for a pull again once built: for a client that ignores retriggerRequest (every
        client offered pull supports refresh), since with every answer cached no lookup ends
        to send one."""
        if not building.cancelled() and building.exception() is None:
            self.workspace_diagnostic_refresh(None)

    async def open_survey(self, stack: AsyncExitStack, status: StatusClient) -> None:
        """The repository source (setting ``maintenance``) beside ``status``; a bad forge
        setting in the environment (an API URL, two forges on one host) turns it off with
        one message instead of failing every lookup."""
        # Imported here, like the status client: start-up must not pay for httpx.
        from sbom_enrich.status.compose import open_maintenance_survey
        from sbom_enrich.status.repository.settings import repository_settings_from_env

        try:
            repository = repository_settings_from_env(
                self.settings.client.index_url, self.env, timeout=self.settings.client.timeout
            )
        except SettingsError as error:
            self.window_show_message(
                types.ShowMessageParams(
                    type=types.MessageType.Warning,
                    message=f"sbom-enrich: maintenance is off: {error}",
                )
            )
            return
        survey = await stack.enter_async_context(
            open_maintenance_survey(status, repository, StalePolicy())
        )
        self._survey = survey
        self.survey_batches = SurveyBatches(
            lambda questions: self.survey(questions, survey), self.spawn
        )

    async def close_status_client(self) -> None:
        self.cancel_rebuild()
        async with self._client_lock:
            for task in self._pending.values():
                task.cancel()
            self._pending.clear()
            self._queue.clear()
            self._edited.clear()
            self.memo.clear()
            self.maintenance.clear()
            self._survey = None
            if self.survey_batches is not None:
                self.survey_batches.clear()
                self.survey_batches = None
            stack, self._stack, self._status = self._stack, None, None
            if stack is not None:
                await stack.aclose()

    # -- analysis -----------------------------------------------------------------------

    def open_document(self, uri: str) -> TextDocument | None:
        """The editor's text for ``uri`` when it is open, else ``None``.

        Not ``workspace.get_text_document``: for a document that is not open it reads the file
        from disk (and raises when there is none) — requests about closed documents get nothing.
        """
        document: TextDocument | None = self.workspace.text_documents.get(unquote(uri))
        return document

    def analyze(self, uri: str) -> Analysis | None:
        """Parse the current text of ``uri`` (cheap; no I/O) and remember it."""
        document = self.open_document(uri)
        if document is None:
            return None
        current = self.analyses.get(uri)
        source = document.source
        if (
            current is not None
            and current.version == document.version
            and (current.source is source or current.source == source)
        ):
            if not any(included.changed() for included in current.includes):
                return current
            # An included file changed on disk (saved in the editor, say): read it again.
            current = replace(current, includes=self.read_includes(uri, current.manifest))
            self.analyses[uri] = current
            return current
        path = uri_path(uri)
        kind = kind_of(path)
        if kind is None or not kind.in_editor:
            return None
        manifest = parse_manifest(path, source)
        if manifest is None:
            return None
        lines = tuple(document.lines)
        analysis = Analysis(
            version=document.version,
            manifest=manifest,
            lines=lines,
            toml=kind.toml,
            changed=OPENED if current is None else changed_lines(current.lines, lines),
            lock=self.locks.beside(path, manifest) if kind.name == "pyproject" else None,
            source=source,
            includes=self.read_includes(uri, manifest),
        )
        self.analyses[uri] = analysis
        return analysis

    def read_includes(self, uri: str, manifest: ParsedManifest) -> tuple[Included, ...]:
        """What the document's ``-r``/``-c`` lines lead to, read as ``check`` reads them and
        kept inside its workspace folder (else its project root)."""
        if not manifest.includes:
            return ()
        if urlsplit(uri).scheme != "file":
            return not_followed(manifest, "the document is not a file on disk")
        folders = [
            Path(uri_path(folder.uri))
            for folder in self.workspace.folders.values()
            if urlsplit(folder.uri).scheme == "file"
        ]
        document = Path(uri_path(uri))
        return self.include_reader.included(document, manifest, include_boundary(document, folders))

    def including(self, uri: str) -> list[str]:
        """The open documents whose includes lead to the file of ``uri``."""
        if urlsplit(uri).scheme != "file":
            return []
        path = Path(uri_path(uri))
        return [
            other
            for other, analysis in self.analyses.items()
            if any(path in included.files for included in analysis.includes)
        ]

    def known(self, name: str, now: float) -> StatusRecord | None:
        memo = self.memo.get(name)
        return memo.record if memo is not None and memo.expires > now else None

    def remember(self, record: StatusRecord, name: str) -> None:
        ttl = FAILED_MEMO_SECONDS if record.error else MEMO_SECONDS
        if record.stale:
            ttl = 0.0  # shown now, but asked for again at once
        self.memo[name] = Memo(record, time.monotonic() + ttl)

    def start_lookups(self, uri: str, analysis: Analysis, status: StatusClient) -> None:
        """Use cached answers at once; queue the rest ahead of earlier requests."""
        now = time.monotonic()
        distances = names_by_distance(analysis.manifest, self.settings, analysis.changed)
        if analysis.lock is not None:  # what the dependencies pull in, after their own names
            asked = analysis.lock.all_keys(self.settings)
            distances.update(dict.fromkeys(asked - distances.keys(), LOCK_DISTANCE))
        if analysis.includes:  # the included files' packages, after the document's own too
            included = included_keys(analysis.includes, self.settings)
            distances.update(dict.fromkeys(included - distances.keys(), LOCK_DISTANCE))
        self._wanted[uri] = frozenset(distances)
        surveyed = surveyed_keys(analysis.manifest.requirements, self.settings)
        if analysis.lock is not None:
            lock = analysis.lock
            surveyed |= surveyed_keys((lock.locked[n] for n in lock.names), self.settings)
        for file in analysis.includes:
            surveyed |= surveyed_keys(file.requirements, self.settings)
        self._surveyed[uri] = frozenset(surveyed)
        from_cache = self.cached_records(
            [
                name
                for name in distances
                if name not in self._pending and name not in self._queue and name not in self.memo
            ],
            status,
        )
        missing: dict[str, int] = {}
        for name, distance in distances.items():  # lookup keys: a name, on an index
            if (known := self.known(name, now)) is not None:
                self.ask_maintenance(name, known)
                continue
            if name in self._pending:
                continue
            if (cached := from_cache.get(name)) is not None:
                self.remember(cached, name)
                self.ask_maintenance(name, cached)
                if not cached.stale:
                    continue
            missing[name] = distance
        self._queue.ask(missing)
        self._edited.update(name for name, distance in missing.items() if distance == 0)
        self.feed(status)
        if not self.lookups_waiting and self.survey_batches is not None:
            self.survey_batches.send_when_idle()

    @staticmethod
    def cached_records(keys: list[str], status: StatusClient) -> dict[str, StatusRecord]:
        """The cache's answers for lookup ``keys``, one batch read per index (a lock file
        opened in the editor asks for thousands at once)."""
        by_index: dict[str | None, list[tuple[str, str]]] = {}
        for key in keys:
            name, index = split_key(key)
            by_index.setdefault(index, []).append((key, name))
        found: dict[str, StatusRecord] = {}
        for index, pairs in by_index.items():
            records = status.cached_many([name for _, name in pairs], index)
            for key, name in pairs:
                if (record := records.get(canonical(name))) is not None:
                    found[key] = record
        return found

    def feed(self, status: StatusClient) -> None:
        """Start queued lookups while fewer than the client's concurrency are in flight.

        The status client would queue any number of lookups itself, first come first served;
        keeping the backlog here lets the latest edit overtake it.
        """
        while len(self._pending) < status.settings.concurrency:
            name = self._queue.pop()
            if name is None:
                return
            if any(name in wanted for wanted in self._wanted.values()):
                self._pending[name] = self.spawn(self.lookup(name, status))
            else:
                self._edited.discard(name)

    @property
    def lookups_waiting(self) -> int:
        """Lookups queued or in flight (a name no open document needs counts until dropped)."""
        return len(self._queue) + len(self._pending)

    async def lookup(self, name: str, status: StatusClient) -> None:
        """Look up one key (:func:`lookup_key`): a name on the configured index, or on the index
        a lock entry names (allowed from now on, as ``check`` allows the user's lock indexes)."""
        project, index = split_key(name)
        if index is not None and not status.is_allowed_index(index):
            status.allow_index(index)
        try:
            record = await status.lookup(project, index)
        except Exception as error:  # noqa: BLE001 - a bug: shown as a failed lookup, and logged
            # Without a record the name had no answer: the file was published clean ("could
            # not tell" shown as fine) and its hover said "in progress" for ever. As a failed
            # lookup it is what a refused connection is: the file marked not checked, the
            # failure told once, and the lookup tried again later. Logged once: the client
            # has logged one its shared lookup task raised.
            from sbom_enrich.status.client import traceback_logged  # loaded: it ran

            if not traceback_logged(error):
                logger.error(
                    "status lookup of %s failed unexpectedly", clean_text(name), exc_info=error
                )
            record = crashed_lookup(project, index or status.index_url)
        finally:
            # A lookup cancelled with its client must not unlist the next client's lookup.
            if self._pending.get(name) is asyncio.current_task():
                del self._pending[name]
            if status is self._status:
                self.feed(status)
        if status is not self._status:
            return  # settings changed meanwhile: this answer is for another index
        self.remember(record, name)
        self.note_failure(record)
        self.ask_maintenance(name, record)
        if not self.lookups_waiting and self.survey_batches is not None:
            self.survey_batches.send_when_idle()
        if record.error and (self._retry is None or self._retry.done()):
            self._retry = self.spawn(self.retry_failed())
        self._updated.add(name)
        edited = name in self._edited
        self._edited.discard(name)
        self.schedule_flush(flush_delay(self.lookups_waiting, self._publish_cost, edited=edited))

    def ask_maintenance(self, key: str, record: StatusRecord) -> None:
        """Queue the project of lookup ``key`` for the survey's next batch (setting
        ``maintenance``), once. A project on another index than the configured one (a lock
        entry's private index) is not surveyed, as ``check`` does not survey it: the forges
        and the project API describe the configured index's project of that name, another
        project, and its name would go to public APIs. It is ``unknown``, saying why. Nor is
        a name only requirements installed from a URL or VCS need (:func:`surveyed_keys`)."""
        batches, survey = self.survey_batches, self._survey
        if batches is None or survey is None or key in self.maintenance or record.error:
            return  # a failed index lookup is retried first; its answer is asked about then
        if not any(key in keys for keys in self._surveyed.values()):
            # asked again by start_lookups once a requirement from the index needs it (never
            # for a name asked only for the configured index's word on a lock's namesake)
            return
        from sbom_enrich.status.repository.survey import MaintenanceQuestion

        project, _index = split_key(key)
        question = MaintenanceQuestion(
            project, record.status, record.latest_upload, index_url=record.index_url
        )
        if survey.elsewhere(question):
            self.maintenance[key] = survey.not_judged(question)
            return
        batches.add(question)

    async def survey(self, questions: list[MaintenanceQuestion], survey: MaintenanceSurvey) -> None:
        """The maintenance verdicts for one batch (hover and diagnostics show them on arrival).

        Only projects of the configured index are asked (:meth:`ask_maintenance`): the
        answers' names are their lookup keys."""
        answers = await survey.answer(questions)
        if survey is self._survey:
            self.maintenance.update(answers)
            self._updated.update(answers.keys() & self.memo.keys())
            self.schedule_flush(0.0)
            for note in survey.repositories.notes:
                logger.info("maintenance: %s", note)

    def maintenance_verdict(self, key: str) -> MaintenanceVerdict | None:
        """The maintenance verdict for lookup ``key`` (:func:`lookup_key`), once surveyed."""
        answer = self.maintenance.get(key)
        return answer.verdict if answer is not None else None

    def alternatives_for(self, requirement: Requirement) -> tuple[Alternative, ...]:
        """The catalog's alternatives for ``requirement``'s name, then those the maintainers
        of the project its lookup key asks about recommend (never a namesake's); none for one
        not installed from an index — a URL, VCS, a file on this disk, a tool source
        (:func:`offered_alternatives`) — so no "Replace" quick fix that drops its source."""
        if not requirement.canonical_name:
            return ()
        key = lookup_key(requirement, self.settings)
        answer = self.maintenance.get(key)
        return offered_alternatives(
            self.catalog,
            split_key(key)[0],
            from_index=not requirement.off_index,
            recommended=answer.recommended if answer is not None else (),
        )

    def note_failure(self, record: StatusRecord) -> None:
        """Tell the user once per outage (not once per dependency) that lookups fail."""
        if record.error and not self._failure_reported:
            self._failure_reported = True
            self.window_log_message(
                types.LogMessageParams(
                    type=types.MessageType.Warning,
                    message=lookup_failure_message(record),
                )
            )
        elif not record.error and not record.from_cache:
            self._failure_reported = False

    async def retry_failed(self) -> None:
        """Re-check open documents once failed answers expire: the index may be back by then."""
        await asyncio.sleep(FAILED_MEMO_SECONDS)
        for name, memo in list(self.memo.items()):
            if memo.record.error:
                # Expired, not deleted: the failure stays shown until the new answer replaces
                # it (deleted, each retry published the document without it in between).
                self.memo[name] = Memo(memo.record, expires=0.0)
        for uri in list(self.analyses):
            self.schedule(uri, 0.0)

    def schedule_flush(self, delay: float) -> None:
        """Publish the answers that arrived in ``delay`` seconds, with those arriving meanwhile."""
        due = time.monotonic() + delay
        if self._flush is not None and not self._flush.done():
            if self._flush_due <= due:
                return
            self._flush.cancel()  # a typed name, or the backlog drained: publish sooner
        self._flush_due = due
        # A task, not loop.call_later: shutting down cancels it instead of publishing to a
        # client that has gone.
        self._flush = self.spawn(self.flush(delay))

    async def flush(self, delay: float) -> None:
        await asyncio.sleep(delay)
        updated, self._updated = self._updated, set()
        if self.pull_mode:
            self.workspace_diagnostic_refresh(None)
            return
        started = time.perf_counter()
        for uri, analysis in list(self.analyses.items()):
            if (
                not updated.isdisjoint(self.document_diagnostics(uri, analysis).names)
                or (
                    analysis.lock is not None
                    and not updated.isdisjoint(analysis.lock.all_keys(self.settings))
                )
                or not updated.isdisjoint(included_keys(analysis.includes, self.settings))
            ):
                self.publish(uri)
        self._publish_cost = time.perf_counter() - started

    def document_diagnostics(self, uri: str, analysis: Analysis) -> DocumentDiagnostics:
        """The diagnostics builder for ``analysis`` under the current settings, kept per URI."""
        built = self._documents.get(uri)
        if (
            built is None
            or built.manifest is not analysis.manifest
            or built.settings is not self.settings  # new settings come with a new catalog
            or built.encoding != self.encoding
        ):
            built = DocumentDiagnostics(
                analysis.manifest,
                self.settings,
                analysis.lines,
                self.encoding,
                self.alternatives_for,
                self.maintenance_verdict,
                previous=built,
            )
            self._documents[uri] = built
        return built

    def diagnostics(self, uri: str, analysis: Analysis) -> list[types.Diagnostic]:
        records = {name: memo.record for name, memo in self.memo.items()}
        found = self.document_diagnostics(uri, analysis).build(records)
        failed = self._failed_lookups(analysis.manifest)
        if failed:
            found.insert(0, lookups_failed_diagnostic(failed, analysis.lines, self.encoding))
        for included in analysis.includes:
            found += included_diagnostics(
                included, records, self.settings, analysis.lines, self.encoding
            )
        if analysis.lock is not None:
            found += pulled_in_diagnostics(
                analysis.manifest, analysis.lock, records, self.settings, analysis.lines,
                self.encoding,
            )  # fmt: skip
        return found

    def _failed_lookups(self, manifest: ParsedManifest) -> list[tuple[str, str]]:
        """(name, lookup error) of the file's checked dependencies whose lookup failed: an
        unknown with an error shows no line diagnostic (the network failure is logged once),
        so without a word for the file a push client showed it clean (DESIGN: "could not
        tell" is never shown as "fine")."""
        failed: list[tuple[str, str]] = []
        for requirement in manifest.requirements:
            record = None
            if is_checked(requirement, self.settings):
                memo = self.memo.get(lookup_key(requirement, self.settings))
                record = memo.record if memo is not None else None
                if record is not None and record.status is ProjectStatus.UNKNOWN and record.error:
                    failed.append((requirement.name, record.error))
                    continue
            # The configured index's word on a name a lock takes elsewhere: a quarantine
            # there could not be ruled out (``check``: incomplete).
            if (key := namesake_key(requirement, self.settings)) is not None:
                memo = self.memo.get(key)
                namesake = memo.record if memo is not None else None
                if (
                    namesake is not None
                    and namesake.error is not None
                    and namesake_failure(requirement, namesake, record, self.settings)
                ):
                    failed.append((requirement.name, namesake.error))
        return failed

    def publish(self, uri: str) -> None:
        """Push diagnostics for the analysed version, unless the document moved on since."""
        analysis = self.analyses.get(uri)
        if analysis is None:
            return
        document = self.open_document(uri)
        if document is None or document.version != analysis.version:
            return  # an edit is waiting out its debounce: never publish for an older version
        diagnostics = self.diagnostics(uri, analysis)
        if self._status is None and self.build_failure is not None:
            diagnostics.insert(
                0, not_checked_diagnostic(self.build_failure, analysis.lines, self.encoding)
            )
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(
                uri=uri, diagnostics=diagnostics, version=analysis.version
            )
        )

    async def refresh(self, uri: str, delay: float = 0.0) -> None:
        """(Re)analyse one document, publish what is known, start the missing lookups.

        Without a status client (it could not be built) the document is still analysed and
        published: its own problems, and that it was not checked; a settings change then
        finds it among the analysed documents and checks it again.
        """
        if delay:
            await asyncio.sleep(delay)
        try:
            status: StatusClient | None = await self.status_client()
        except Exception:  # told by note_build_failure
            status = None
        analysis = self.analyze(uri)
        if analysis is None:
            return
        if status is not None:
            self.start_lookups(uri, analysis, status)
        if not self.pull_mode:
            self.publish(uri)

    def schedule(self, uri: str, delay: float) -> None:
        if (previous := self._debounce.pop(uri, None)) is not None:
            previous.cancel()
        self._debounce[uri] = self.spawn(self.refresh(uri, delay))

    def forget(self, uri: str) -> None:
        if (previous := self._debounce.pop(uri, None)) is not None:
            previous.cancel()
        self.analyses.pop(uri, None)
        self.include_reader.forget(Path(uri_path(uri)))
        self._documents.pop(uri, None)
        self._wanted.pop(uri, None)
        self._surveyed.pop(uri, None)
        if not self.pull_mode:
            self.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(uri=uri, diagnostics=[])
            )

    async def reconfigure(self, payload: object) -> None:
        """Adopt a didChangeConfiguration: each key it holds replaces that key of the
        initializationOptions; keys it leaves out keep their initializationOptions value.

        Eglot sends ``eglot-workspace-configuration`` as it is (often just one key): replacing
        everything dropped the index set in initializationOptions and sent a private project's
        names to PyPI. A key sent as null falls back to the environment and the default.
        """
        if isinstance(payload, Mapping) and isinstance(self.initialization_options, Mapping):
            payload = {**self.initialization_options, **settings_section(payload)}
        previous = self.settings
        if self.apply_settings(parse_lsp_settings(payload, self.env), payload):
            await self.close_status_client()
        if self.settings != previous:
            # Still failing under new settings: told again (the user acted). Not for the same
            # settings again: Neovim sends its settings at start, the initializationOptions.
            self.build_failure = None
            self.cancel_rebuild()  # built again now; a new failure starts a new timer
        self.recheck_open_documents()

    def recheck_open_documents(self) -> None:
        """Analyse, look up and show every open document again (new settings, a new client)."""
        for uri in list(self.analyses):
            self.schedule(uri, 0.0)  # a push client gets the documents again from here
        if self.pull_mode and self.analyses:
            # A pull client shows new severities or ignores only when it pulls again; with
            # every answer cached no lookup completes to send the refresh for it.
            self.workspace_diagnostic_refresh(None)

    # -- requests -----------------------------------------------------------------------

    def requirement_at(
        self, uri: str, position: types.Position
    ) -> tuple[Analysis, Requirement, Span] | None:
        """The requirement at ``position`` and the span a hover there marks."""
        analysis = self.analyze(uri)
        if analysis is None or position.line >= len(analysis.lines):
            return None
        line_text = analysis.lines[position.line]
        column = from_client_column(line_text, position.character, self.encoding)
        requirement = requirement_at(analysis.manifest, position.line, column)
        if requirement is None:
            return None
        return analysis, requirement, hover_span(requirement, position.line, column)

    def hover(self, uri: str, position: types.Position) -> types.Hover | None:
        found = self.requirement_at(uri, position)
        if found is None:
            return None
        analysis, requirement, marked = found
        range_ = to_range(marked, analysis.lines, self.encoding)
        namesake = self._namesake_quarantine(requirement)
        if (elsewhere := locked_elsewhere(requirement, self.settings)) is not None:
            text = elsewhere_hover(requirement, elsewhere)
            if namesake is not None:
                text += f"\n\n{namesake_hover(requirement, namesake)}"
            return types.Hover(
                contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=text),
                range=range_,
            )
        name, key = requirement.canonical_name, lookup_key(requirement, self.settings)
        record = self.memo[key].record if key in self.memo else None
        if record is None and self._status is not None and name:
            record = self._status.cached(*split_key(key))
        text = hover_markdown(
            requirement,
            record,
            self.alternatives_for(requirement),
            ignored_by_setting=name in self.settings.ignore,
            maintenance=self.maintenance_verdict(key),
            not_checked=self.build_failure if self._status is None else None,
        )
        if namesake is not None:
            text += f"\n\n{namesake_hover(requirement, namesake)}"
        if analysis.lock is not None:
            records = {name: memo.record for name, memo in self.memo.items()}
            chains = pulls_in_hover(requirement, analysis.lock, records, self.settings)
            text += f"\n\n{chains}" if chains else ""
        return types.Hover(
            contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=text),
            range=range_,
        )

    def _namesake_quarantine(self, requirement: Requirement) -> StatusRecord | None:
        """The configured index's quarantine of the name of a lock entry sent to another
        index (:func:`namesake_key`), once answered."""
        key = namesake_key(requirement, self.settings)
        memo = self.memo.get(key) if key is not None else None
        if memo is None or memo.record.status is not ProjectStatus.QUARANTINED:
            return None
        return memo.record

    def code_actions(self, params: types.CodeActionParams) -> list[types.CodeAction]:
        uri = params.text_document.uri
        analysis = self.analyze(uri)
        if analysis is None or analysis.manifest.kind == "lock":
            return []  # a lock file is the tool's to write: no edits offered
        first, last = params.range.start.line, params.range.end.line
        diagnostics = self.diagnostics(uri, analysis)
        actions: list[types.CodeAction] = []
        for requirement in analysis.manifest.requirements:
            line = requirement.name_span.line
            if not first <= line <= last or not requirement.canonical_name:
                continue
            ranges = [to_range(requirement.name_span, analysis.lines, self.encoding)]
            if requirement.version_span is not None:
                ranges.append(to_range(requirement.version_span, analysis.lines, self.encoding))
            related = [
                d
                for d in diagnostics
                if d.range in ranges and is_checked(requirement, self.settings)
            ]
            key = lookup_key(requirement, self.settings)
            memo = self.memo.get(key)
            actions.extend(
                code_actions_for(
                    requirement,
                    self.alternatives_for(requirement),
                    uri=uri,
                    lines=analysis.lines,
                    encoding=self.encoding,
                    toml=analysis.toml,
                    diagnostics=related,
                    record=memo.record if memo is not None else None,
                )
            )
        return actions

    async def pull(self, uri: str) -> types.RelatedFullDocumentDiagnosticReport:
        """The report for a diagnostic pull: what is known now; the lookups it starts are
        followed by a workspace/diagnostic/refresh.

        Before the status client exists nothing is known, not even the disk cache's answers:
        an empty report would say "no problems" to an editor that pulls again only when told.
        So the pull waits for the client (:data:`PULL_WAIT_SECONDS`), or is answered
        ServerCancelled with retriggerRequest, and the editor pulls again.
        """
        if self.analyze(uri) is None:
            return types.RelatedFullDocumentDiagnosticReport(items=[])
        status = self._status or await self.ready_status_client(PULL_WAIT_SECONDS)
        analysis = self.analyze(uri)  # again: an edit may have come while the pull waited
        if analysis is None:
            return types.RelatedFullDocumentDiagnosticReport(items=[])
        self.start_lookups(uri, analysis, status)
        started = time.perf_counter()
        items = self.diagnostics(uri, analysis)
        self._publish_cost = time.perf_counter() - started
        return types.RelatedFullDocumentDiagnosticReport(items=items)


PULL_OPTIONS = types.DiagnosticOptions(
    identifier=bootstrap.PULL_IDENTIFIER,
    inter_file_dependencies=False,
    workspace_diagnostics=False,
)


def pulls_with_refresh(capabilities: types.ClientCapabilities) -> bool:
    """Whether the client pulls diagnostics and honours workspace/diagnostic/refresh.

    ``bootstrap.pulls_with_refresh`` decides the same from the JSON, before pygls is loaded;
    tests/lsp/test_lsp_bootstrap.py holds the two to the same answers.
    """
    text_document, workspace = capabilities.text_document, capabilities.workspace
    return bool(
        text_document
        and text_document.diagnostic
        and workspace
        and workspace.diagnostics
        and workspace.diagnostics.refresh_support
    )


def reads_message(server: SbomEnrichServer, body: bytes) -> str | None:
    """Why pygls cannot read this message (its reader would log it and answer nothing), or None.

    The initialize answered before pygls loaded is replayed to it: one it cannot read would
    leave the server uninitialised behind an answer that said otherwise.
    """
    try:
        message = json.loads(body, object_hook=server.protocol.structure_message)
    except Exception as error:  # whatever pygls's reader would have caught
        return f"{type(error).__name__}: {error}"[:200]
    if isinstance(message, RefusedRequest):  # answered an error, never initialized
        return str(message.error)[:200]
    return None


def build_server(
    *,
    env: Mapping[str, str] | None = None,
    client_factory: ClientFactory = open_status_client,
) -> SbomEnrichServer:
    """The server with its handlers; each handler only translates and calls in."""
    server = SbomEnrichServer(env=env, client_factory=client_factory)
    logging.getLogger("pygls.protocol.json_rpc").addFilter(QUIET_SERVER_CANCELLED)
    for name in ("pygls.protocol.json_rpc", "pygls.server"):
        logging.getLogger(name).addFilter(QUIET_UNREADABLE)

    async def pull_diagnostics(
        ls: SbomEnrichServer, params: types.DocumentDiagnosticParams
    ) -> types.RelatedFullDocumentDiagnosticReport:
        return await ls.pull(params.text_document.uri)

    @server.feature(types.INITIALIZE)
    async def initialize(ls: SbomEnrichServer, params: types.InitializeParams) -> None:
        use_lsp_lines(ls.workspace)  # pygls made it just now, before any document is opened
        ls.pull_mode = pulls_with_refresh(params.capabilities)
        if ls.pull_mode:
            # Registered here, before pygls computes the capabilities it answers with: a client
            # that can pull but cannot be told to pull again (Neovim 0.11) would otherwise
            # show nothing until the user edits, so it is not offered pull and gets pushes.
            ls.feature(types.TEXT_DOCUMENT_DIAGNOSTIC, PULL_OPTIONS)(pull_diagnostics)
        payload = params.initialization_options
        ls.initialization_options = settings_section(payload) if payload is not None else None
        ls.apply_settings(parse_lsp_settings(payload, ls.env), payload)
        logger.info("client %s, pull diagnostics: %s", params.client_info, ls.pull_mode)

    @server.feature(types.INITIALIZED)
    def initialized(ls: SbomEnrichServer, params: types.InitializedParams) -> None:
        # Importing httpx, building the HTTP client (TLS context) and opening the disk cache
        # take a few hundred milliseconds: start now, once the client has its answer to
        # initialize, so a didOpen that follows waits only for what is left of it.
        ls.start_status_client()

    @server.feature(types.SHUTDOWN)
    async def shutdown(ls: SbomEnrichServer, params: None) -> None:
        await ls.close_status_client()

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: SbomEnrichServer, params: types.DidOpenTextDocumentParams) -> None:
        ls.schedule(params.text_document.uri, 0.0)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: SbomEnrichServer, params: types.DidChangeTextDocumentParams) -> None:
        ls.schedule(params.text_document.uri, ls.settings.debounce)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: SbomEnrichServer, params: types.DidSaveTextDocumentParams) -> None:
        ls.schedule(params.text_document.uri, 0.0)
        for including in ls.including(params.text_document.uri):
            ls.schedule(including, 0.0)  # its include line tells what the saved file holds

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: SbomEnrichServer, params: types.DidCloseTextDocumentParams) -> None:
        ls.forget(params.text_document.uri)

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def did_change_configuration(
        ls: SbomEnrichServer, params: types.DidChangeConfigurationParams
    ) -> None:
        # Neovim sends {} at start; other editors send other servers' sections: not ours.
        if concerns_us(params.settings):
            await ls.reconfigure(params.settings)
        else:
            logger.debug("didChangeConfiguration without sbom-enrich settings: ignored")

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    def hover(ls: SbomEnrichServer, params: types.HoverParams) -> types.Hover | None:
        return ls.hover(params.text_document.uri, params.position)

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix]),
    )
    def code_action(ls: SbomEnrichServer, params: types.CodeActionParams) -> list[types.CodeAction]:
        return ls.code_actions(params)

    return server
