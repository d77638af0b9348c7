"""Answers ``initialize`` on stdio before pygls is imported, then hands the stream to pygls.

Why: importing pygls and lsprotocol costs about 0.4 s of CPU (lsprotocol's ~1,100 attrs
classes compile their methods at import), more than the 0.3 s an editor should wait for a
server to be ready. The answer to ``initialize`` does not need them: it is our capabilities,
which depend on the client's capabilities in exactly two ways (pull diagnostics, position
encoding) plus one pygls quirk (``willSave``), and :func:`initialize_result` computes it from
the JSON with the standard library. A test builds the real server for many client capability
sets and compares its computed InitializeResult with this one, serialised; another fails when
a feature is registered that :data:`FEATURES` does not list.

How the stream is handed over, and why at this depth: pygls only takes its state (workspace,
position encoding, client capabilities, our handler's settings and pull mode) from an
``initialize`` it handles itself, and it always answers one. So the initialize message is
replayed to pygls's own reader, re-framed canonically (pygls reads only the exact header
``Content-Length: N``); the rest of stdin follows untouched (:class:`ReplayStdin`). pygls's
reply to that one request id is taken out of its output (:class:`ReplyFilter`): the client
has had its answer, so it sees exactly one. Until pygls has written that reply, the reader
does not hand pygls the next message, so ``initialized`` and ``didOpen`` meet a server whose
initialize handler has run, as they would without the early answer. If pygls answers with
an error, the client is told with ``window/showMessage`` and the server stops (its settings
never applied: carrying on could ask the default index about a private project's names); if
its capabilities differ from those sent, that is logged and shown.

Anything else first (another method, a malformed or oversized frame, end of input) is not
answered here: pygls gets every byte read so far followed by the rest, and behaves as it
always did. Only stdio is bootstrapped; ``--tcp`` is for debugging, and pygls's start there
is left as it is.
"""

from __future__ import annotations

import io
import json
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO, Protocol

logger = logging.getLogger(__name__)

SERVER_NAME = "sbom-enrich-lsp"
#: Every LSP method the server registers a handler for (ours and pygls's built-ins, with
#: ``textDocument/diagnostic`` for pull clients). A test fails when the server's list differs:
#: a new feature may change the capabilities, and :func:`server_capabilities` must follow.
FEATURES = frozenset(
    {
        "$/setTrace",
        "exit",
        "initialize",
        "initialized",
        "notebookDocument/didChange",
        "notebookDocument/didClose",
        "notebookDocument/didOpen",
        "shutdown",
        "textDocument/codeAction",
        "textDocument/diagnostic",
        "textDocument/didChange",
        "textDocument/didClose",
        "textDocument/didOpen",
        "textDocument/didSave",
        "textDocument/hover",
        "window/workDoneProgress/cancel",
        "workspace/didChangeConfiguration",
        "workspace/didChangeWorkspaceFolders",
        "workspace/executeCommand",
    }
)
#: Pull diagnostics, offered to a client that pulls and can be told to pull again.
PULL_IDENTIFIER = "sbom-enrich"
PULL_OPTIONS = {
    "interFileDependencies": False,
    "workspaceDiagnostics": False,
    "identifier": PULL_IDENTIFIER,
}
#: The position encodings pygls can serve, in no order: the client's first of them wins.
ENCODINGS = ("utf-8", "utf-16", "utf-32")

#: Bounds on the first frame: an initialize is a few kilobytes. A bigger one is not refused,
#: just not answered early (pygls reads it, as it always did).
MAX_HEADER_LINE = 8 * 1024
MAX_HEADER_LINES = 32
MAX_BODY = 16 * 1024 * 1024
#: How long the replay waits for pygls's reply to the initialize before giving up. It needs
#: milliseconds; this only keeps a server that can never start from hanging for good.
REPLY_TIMEOUT = 120.0


class Readable(Protocol):
    def readline(self, size: int = -1, /) -> bytes: ...

    def read(self, size: int = -1, /) -> bytes: ...


@dataclass(frozen=True)
class Frame:
    """One base-protocol frame read from a stream.

    ``raw`` is every byte consumed, so a caller that does not want the frame can hand it on
    untouched. ``body`` is the content when the frame is complete and well formed; otherwise
    ``problem`` says why not (``"end of input"`` when the stream ended first).
    """

    raw: bytes
    body: bytes | None = None
    problem: str | None = None


END = "end of input"


def _read_line(stream: Readable, limit: int) -> bytes:
    # A stream may return a line in pieces (a socket file, a test's trickle): keep reading
    # until the line ends, the stream ends or the line is too long to be a header.
    line = b""
    while not line.endswith(b"\n") and len(line) < limit:
        piece = stream.readline(limit - len(line))
        if not piece:
            break
        line += piece
    return line


def _read_exactly(stream: Readable, size: int) -> bytes:
    data = b""
    while len(data) < size:
        piece = stream.read(size - len(data))
        if not piece:
            break
        data += piece
    return data


def _content_length(headers: Mapping[str, str], limit: int = MAX_BODY) -> int | str:
    """The body length the headers announce, or what is wrong with them."""
    if "content-length" not in headers:
        return "no Content-Length header"
    value = headers["content-length"]
    if not value.isascii() or not value.isdigit():
        return f"bad Content-Length {value[:20]!r}"
    if len(value) > 12 or int(value) > limit:
        shown = value if len(value) <= 20 else f"of {len(value)} digits"
        return f"Content-Length {shown} is more than the {limit} bytes a message may have here"
    if (content_type := headers.get("content-type")) is not None:
        for parameter in content_type.split(";")[1:]:
            key, _, charset = parameter.strip().partition("=")
            # The spec's default is utf-8; "utf8" is accepted for backwards compatibility.
            if key.strip().lower() == "charset" and charset.strip(' "').lower() not in {
                "utf-8",
                "utf8",
            }:
                return f"charset {charset[:20]!r} is not utf-8"
    return int(value)


def read_frame(stream: Readable, limit: int = MAX_BODY) -> Frame:
    """Read one frame of the LSP base protocol: ``Name: value\\r\\n`` headers, an empty line,
    then ``Content-Length`` bytes of content. Header names are case-insensitive (as in HTTP);
    ``Content-Type`` is optional and its charset must be utf-8."""
    raw = b""
    headers: dict[str, str] = {}
    for _ in range(MAX_HEADER_LINES + 1):
        line = _read_line(stream, MAX_HEADER_LINE)
        raw += line
        if not line.endswith(b"\n"):
            return Frame(raw, problem=END if len(line) < MAX_HEADER_LINE else "header too long")
        if not line.endswith(b"\r\n"):
            return Frame(raw, problem="header line does not end with \\r\\n")
        if line == b"\r\n":
            break
        name, colon, value = line[:-2].partition(b":")
        if not colon or not name or name != name.strip() or not name.isascii():
            return Frame(raw, problem="malformed header line")
        key = name.decode("ascii").lower()
        if key in headers and key in {"content-length", "content-type"}:
            return Frame(raw, problem=f"header {key} repeated")
        headers[key] = value.decode("latin-1").strip(" \t")
    else:
        return Frame(raw, problem="too many header lines")
    length = _content_length(headers, limit)
    if isinstance(length, str):
        return Frame(raw, problem=length)
    body = _read_exactly(stream, length)
    raw += body
    if len(body) < length:
        return Frame(raw, problem=END)
    return Frame(raw, body=body)


def encode_frame(message: Mapping[str, Any]) -> bytes:
    """A message framed as pygls frames it (its reader only knows ``Content-Length: N``)."""
    return frame_body(json.dumps(message, separators=(",", ":")).encode("utf-8"))


def frame_body(body: bytes) -> bytes:
    return b"Content-Length: %d\r\n\r\n%b" % (len(body), body)


# -- the InitializeResult --------------------------------------------------------------------


class _Unexpected(Exception):
    """Client capabilities of a shape pygls would read differently (or refuse)."""


def _object(value: object, where: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise _Unexpected(f"{where} is not an object")
    return value


def _flag(value: object, where: str) -> bool | None:
    if value is not None and not isinstance(value, bool):
        raise _Unexpected(f"{where} is not a boolean")
    return value


def position_encoding(client: Mapping[str, Any]) -> str:
    """pygls's choice: the client's first encoding it supports, else UTF-16."""
    encodings = _object(client.get("general"), "general").get("positionEncodings")
    if encodings is None:
        return "utf-16"
    if not isinstance(encodings, list) or not all(isinstance(e, str) for e in encodings):
        raise _Unexpected("general.positionEncodings is not a list of strings")
    return next((e for e in encodings if e in ENCODINGS), "utf-16")


def pulls_with_refresh(client: Mapping[str, Any]) -> bool:
    """Whether the client pulls diagnostics and honours workspace/diagnostic/refresh.

    The JSON twin of ``server.pulls_with_refresh`` (which reads pygls's objects): an empty
    ``"diagnostic": {}`` counts, since it says the client pulls.
    """
    text_document = _object(client.get("textDocument"), "textDocument")
    workspace = _object(client.get("workspace"), "workspace")
    diagnostic = text_document.get("diagnostic")
    _object(diagnostic, "textDocument.diagnostic")
    refresh = _object(workspace.get("diagnostics"), "workspace.diagnostics").get("refreshSupport")
    refreshes = bool(_flag(refresh, "workspace.diagnostics.refreshSupport"))
    return diagnostic is not None and refreshes


def server_capabilities(client: Mapping[str, Any]) -> dict[str, Any]:
    """The ServerCapabilities pygls computes for our features and this client, as JSON."""
    synchronization = _object(
        _object(client.get("textDocument"), "textDocument").get("synchronization"),
        "textDocument.synchronization",
    )
    sync: dict[str, Any] = {"openClose": True, "change": 2}  # 2: incremental
    for key in ("willSave", "willSaveWaitUntil"):
        # pygls sends `client's flag and we handle it`: false when the client sent the flag
        # (we handle neither), nothing when it did not.
        if _flag(synchronization.get(key), key) is not None:
            sync[key] = False
    sync["save"] = True
    capabilities: dict[str, Any] = {
        "positionEncoding": position_encoding(client),
        "textDocumentSync": sync,
        "hoverProvider": True,
        "codeActionProvider": {"codeActionKinds": ["quickfix"]},
        "executeCommandProvider": {"commands": []},
    }
    if pulls_with_refresh(client):
        capabilities["diagnosticProvider"] = dict(PULL_OPTIONS)
    capabilities["workspace"] = {
        "workspaceFolders": {"supported": True, "changeNotifications": True},
        "fileOperations": {},
    }
    return capabilities


def initialize_result(
    params: object, version: str, name: str = SERVER_NAME
) -> dict[str, Any] | None:
    """The InitializeResult for these ``initialize`` params, or ``None`` when they are of a
    shape this module does not answer for (pygls then answers, or refuses, as it would)."""
    if not isinstance(params, Mapping) or not isinstance(params.get("capabilities"), Mapping):
        return None
    try:
        capabilities = server_capabilities(params["capabilities"])
    except _Unexpected as unexpected:
        logger.debug("initialize not answered early: %s", unexpected)
        return None
    return {"capabilities": capabilities, "serverInfo": {"name": name, "version": version}}


# -- the first message and the hand-over -----------------------------------------------------


@dataclass(frozen=True)
class EarlyAnswer:
    """An ``initialize`` answered before pygls was imported."""

    request_id: int | str
    #: The InitializeResult the client was sent.
    result: Mapping[str, Any]
    #: The message's content, as the client sent it.
    body: bytes

    @property
    def replay(self) -> bytes:
        """The message as pygls must read it: re-framed canonically, content as sent."""
        return frame_body(self.body)


def _initialize_request(body: bytes) -> tuple[int | str, object] | None:
    """The id and params of an ``initialize`` request, or ``None`` for anything else."""
    try:
        message = json.loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
        return None
    request_id = message.get("id")
    # bool is an int to Python, not to JSON-RPC.
    if message.get("method") != "initialize" or isinstance(request_id, bool):
        return None
    if not isinstance(request_id, int | str):
        return None
    return request_id, message.get("params")


def answer_initialize(
    stdin: Readable, stdout: BinaryIO, version: str
) -> tuple[bytes, EarlyAnswer | None]:
    """Read the first message; if it is an ``initialize`` we can answer, answer it.

    Returns the bytes pygls must read before the rest of stdin (everything read, when the
    message was not answered here) and the answer, if one was sent.
    """
    frame = read_frame(stdin)
    if frame.body is None:
        logger.debug("first message not answered early: %s", frame.problem)
        return frame.raw, None
    request = _initialize_request(frame.body)
    if request is None:
        return frame.raw, None
    request_id, params = request
    result = initialize_result(params, version)
    if result is None:
        return frame.raw, None
    stdout.write(encode_frame({"jsonrpc": "2.0", "id": request_id, "result": result}))
    stdout.flush()
    logger.info("initialize answered before loading pygls")
    return b"", EarlyAnswer(request_id, result, frame.body)


#: The largest message read after initialize (a didOpen carries a whole document).
MAX_MESSAGE = 128 * 1024 * 1024


class CheckedFrames:
    """The editor's stream as pygls reads it, each frame checked and written out again in the
    one form pygls's reader knows (``Content-Length: N``, exact case).

    pygls's reader matched only that header: a lowercase ``content-length`` (valid: header
    names are case-insensitive) was dropped silently, and after one malformed frame it glued
    the next header onto the leftover body and never answered again, alive but deaf; a huge
    length made it allocate the body first (a MemoryError, or an OverflowError). A frame this
    reader refuses ends the input, said in one log line: the server stops, and the editor
    (which sees it stop) can start it again.
    """

    def __init__(self, stream: Readable, limit: int = MAX_MESSAGE) -> None:
        self._stream = stream
        self._limit = limit
        self._pending = b""
        self._ended = False

    def _fill(self) -> None:
        if self._pending or self._ended:
            return
        frame = read_frame(self._stream, self._limit)
        if frame.problem is not None or frame.body is None:
            self._ended = True
            if frame.problem != END or frame.raw:
                logger.error("malformed message from the editor (%s): stopping", frame.problem)
            return
        self._pending = frame_body(frame.body)

    def readline(self, size: int = -1, /) -> bytes:
        self._fill()
        end = self._pending.find(b"\n") + 1 or len(self._pending)
        if size >= 0:
            end = min(end, size)
        line, self._pending = self._pending[:end], self._pending[end:]
        return line

    def read(self, size: int = -1, /) -> bytes:
        self._fill()
        end = len(self._pending) if size < 0 else min(size, len(self._pending))
        data, self._pending = self._pending[:end], self._pending[end:]
        return data


class ReplayStdin:
    """stdin as pygls reads it: ``prefix`` first, then the stream, untouched.

    With a ``gate``, the stream is not read until the gate opens (pygls has answered the
    replayed initialize); when the hand-over failed, pygls reads end of input and stops.
    """

    def __init__(self, prefix: bytes, stream: Readable, gate: ReplyFilter | None = None) -> None:
        self._prefix = prefix
        self._stream = stream
        self._gate = gate

    def _stream_open(self) -> bool:
        return self._gate is None or self._gate.wait()

    def readline(self, size: int = -1, /) -> bytes:
        if self._prefix:
            end = self._prefix.find(b"\n") + 1 or len(self._prefix)
            if size >= 0:
                end = min(end, size)
            line, self._prefix = self._prefix[:end], self._prefix[end:]
            if line.endswith(b"\n") or self._prefix or (size >= 0 and len(line) >= size):
                return line
            rest = -1 if size < 0 else size - len(line)
            return line + (self._stream.readline(rest) if self._stream_open() else b"")
        return self._stream.readline(size) if self._stream_open() else b""

    def read(self, size: int = -1, /) -> bytes:
        if self._prefix:
            end = len(self._prefix) if size < 0 else min(size, len(self._prefix))
            data, self._prefix = self._prefix[:end], self._prefix[end:]
            if size >= 0 and len(data) == size:
                return data
            rest = -1 if size < 0 else size - len(data)
            return data + (_read_exactly(self._stream, rest) if self._stream_open() else b"")
        return self._stream.read(size) if self._stream_open() else b""


class ReplyFilter:
    """stdout as pygls writes it, less pygls's reply to the initialize answered early.

    Frames pass through unchanged; until that reply has gone by, they are read whole first.
    """

    def __init__(self, stdout: BinaryIO, answer: EarlyAnswer) -> None:
        self._stdout = stdout
        self._answer = answer
        self._pending = b""
        self._replied = threading.Event()
        #: pygls refused the initialize: the server must stop.
        self.failed = False

    def wait(self) -> bool:
        """Block until pygls has replied to the initialize; False when the server must stop."""
        if not self._replied.wait(REPLY_TIMEOUT):
            logger.error("no reply to the replayed initialize in %.0f s: stopping", REPLY_TIMEOUT)
            self.fail("the server did not finish starting")
        return not self.failed

    def write(self, data: bytes) -> int:
        if self._replied.is_set():
            return self._stdout.write(data)
        self._pending += data
        while not self._replied.is_set():
            frame = read_frame(io.BytesIO(self._pending))
            if frame.problem == END:
                break  # wait for the rest of the frame
            self._pending = self._pending[len(frame.raw) :]
            if frame.body is None or not self._is_the_reply(frame.body):
                self._stdout.write(frame.raw)
        if self._replied.is_set() and self._pending:
            self._stdout.write(self._pending)
            self._pending = b""
        return len(data)

    def _is_the_reply(self, body: bytes) -> bool:
        try:
            message = json.loads(body)
        except ValueError:
            return False
        if (
            not isinstance(message, dict)
            or "method" in message
            or message.get("id") != self._answer.request_id
        ):
            return False
        if "error" in message:
            logger.error("the server refused the initialize answered early: %s", message["error"])
            self.fail("it could not read the editor's initialize request")
        elif message.get("result") != self._answer.result:
            logger.error(
                "the server's InitializeResult differs from the one sent early: sent %s, "
                "computed %s",
                json.dumps(self._answer.result),
                json.dumps(message.get("result")),
            )
            self._show(
                "sbom-enrich-lsp: the capabilities announced at start differ from the server's;"
                " diagnostics may be missing. Please report this; --no-early-initialize avoids it."
            )
        self._replied.set()
        return True

    def fail(self, why: str) -> None:
        """Tell the client the server stops (it was told initialize succeeded)."""
        self.failed = True
        self._show(f"sbom-enrich-lsp stopped: {why} (see its log).")
        self._replied.set()

    def _show(self, message: str) -> None:
        notification = {
            "jsonrpc": "2.0",
            "method": "window/showMessage",
            "params": {"type": 1, "message": message},  # 1: Error
        }
        try:
            self._stdout.write(encode_frame(notification))
            self._stdout.flush()
        except OSError as error:  # the editor has gone: the log says it all
            logger.error("cannot tell the editor: %s", error)

    def flush(self) -> None:
        self._stdout.flush()

    def close(self) -> None:
        self._stdout.close()
