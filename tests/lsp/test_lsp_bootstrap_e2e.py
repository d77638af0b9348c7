"""The server process: initialize answered before pygls loads, one reply, the session intact;
every request answered exactly once (a malformed one with an error, none served after
shutdown), and the exit code LSP asks for."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lsp.bootstrap import initialize_result, read_frame
from sbom_enrich import __version__

EDITORS = Path(__file__).resolve().parents[1] / "data" / "lsp" / "initialize"
#: Ends a hung run; measures nothing.
TIMEOUT = 120.0
#: A child that cannot import pygls, lsprotocol, cattrs or attrs at all.
WITHOUT_PYGLS = """
import sys

class Blocked:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"pygls", "lsprotocol", "cattrs", "attrs", "attr"}:
            raise ImportError(f"blocked: {name}")
        return None

sys.meta_path.insert(0, Blocked())
from lsp.__main__ import main
sys.exit(main())
"""


def body(message: dict[str, Any]) -> bytes:
    return json.dumps(message).encode()


def framed(message: dict[str, Any]) -> bytes:
    data = body(message)
    return b"Content-Length: %d\r\n\r\n%b" % (len(data), data)


class Server:
    """The server as a subprocess, its messages read by a thread into a queue."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
        )
        self.messages: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.seen: list[dict[str, Any]] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        while (frame := read_frame(self.process.stdout)).body is not None:
            self.messages.put(json.loads(frame.body))
        self.messages.put(None)

    def send(self, *pieces: bytes) -> None:
        assert self.process.stdin is not None
        for piece in pieces:  # separate writes: the server reads each frame in parts
            self.process.stdin.write(piece)
            self.process.stdin.flush()

    def next(self) -> dict[str, Any] | None:
        message = self.messages.get(timeout=TIMEOUT)
        if message is not None:
            self.seen.append(message)
        return message

    def until(self, predicate: Any) -> dict[str, Any]:
        while (message := self.next()) is not None:
            if predicate(message):
                return message
        raise AssertionError(f"the server ended first; it sent {self.seen}")

    def close(self) -> int:
        if self.process.stdin is not None and not self.process.stdin.closed:
            self.process.stdin.close()
        while self.next() is not None:
            pass
        return self.process.wait(timeout=TIMEOUT)

    def stderr_text(self) -> str:
        """What the server logged (read once it has ended)."""
        assert self.process.stderr is not None
        return self.process.stderr.read().decode("utf-8", errors="replace")


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "SBOM_ENRICH_CACHE_DIR": str(tmp_path / "cache"),
        "SBOM_ENRICH_INDEX_URL": "http://127.0.0.1:9/simple/",  # closed: never the internet
        "SBOM_ENRICH_OFFLINE": "1",
        "HOME": str(tmp_path),
    }


@pytest.fixture
def start(env: dict[str, str]) -> Iterator[Any]:
    started: list[Server] = []

    def run(argv: list[str] | None = None) -> Server:
        server = Server(argv or [sys.executable, "-m", "lsp"], env)
        started.append(server)
        return server

    yield run
    for server in started:
        if server.process.poll() is None:
            server.process.kill()
            server.process.wait()
        for stream in (server.process.stdin, server.process.stdout, server.process.stderr):
            if stream is not None:
                stream.close()


def initialize(request_id: int | str, capabilities: dict[str, Any], **params: Any) -> bytes:
    return body(
        {
            "jsonrpc": "2.0",
            "id": request_id,
            "method": "initialize",
            "params": {"processId": None, "rootUri": None, "capabilities": capabilities, **params},
        }
    )


def in_pieces(content: bytes) -> tuple[bytes, ...]:
    """A frame with a Content-Type header, written as header, half the content, the rest."""
    header = (
        b"Content-Length: %d\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n"
        % len(content)
    )
    half = len(content) // 2
    return header[:9], header[9:], content[:half], content[half:]


def open_requirements(tmp_path: Path, text: str) -> tuple[str, bytes]:
    uri = (tmp_path / "requirements.txt").as_uri()
    item = {"uri": uri, "languageId": "requirements", "version": 1, "text": text}
    return uri, framed(
        {"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": item}}
    )


INITIALIZED = framed({"jsonrpc": "2.0", "method": "initialized", "params": {}})
EXIT = framed({"jsonrpc": "2.0", "method": "exit"})


def shutdown(request_id: int) -> bytes:
    return framed({"jsonrpc": "2.0", "id": request_id, "method": "shutdown"})


def test_initialize_is_answered_before_pygls_can_even_load(start: Any, env: dict[str, str]) -> None:
    server = start([sys.executable, "-c", WITHOUT_PYGLS])
    content = initialize(1, {"general": {"positionEncodings": ["utf-32"]}})
    server.send(*in_pieces(content))
    reply = server.next()
    assert reply is not None
    expected = initialize_result(json.loads(content)["params"], __version__)
    assert reply == {"jsonrpc": "2.0", "id": 1, "result": expected}
    assert reply["result"]["capabilities"]["positionEncoding"] == "utf-32"
    assert server.close() != 0  # then it tried to load pygls, which this child cannot
    assert server.process.stderr is not None
    assert b"ImportError: blocked: " in server.process.stderr.read()


def test_a_push_client_gets_one_reply_and_the_server_has_its_settings(
    start: Any, tmp_path: Path
) -> None:
    server = start()
    options = {"severity": {"invalid-requirement": "hint"}, "cacheDir": str(tmp_path / "c")}
    capabilities = {"general": {"positionEncodings": ["utf-32", "utf-16"]}}
    server.send(*in_pieces(initialize("init-1", capabilities, initializationOptions=options)))
    uri, did_open = open_requirements(tmp_path, "pkg-\N{GRINNING FACE}@0.0.1\n")
    hover = framed(
        {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "textDocument/hover",
            "params": {"textDocument": {"uri": uri}, "position": {"line": 0, "character": 1}},
        }
    )
    # Everything after initialize at once: it waits in the pipe while pygls loads.
    server.send(INITIALIZED + did_open + hover)
    published = server.until(lambda m: m.get("method") == "textDocument/publishDiagnostics")
    (diagnostic,) = published["params"]["diagnostics"]
    assert diagnostic["code"] == "sbom-enrich/invalid-requirement"
    assert diagnostic["severity"] == 4  # hint: the initializationOptions reached the server
    assert diagnostic["range"]["end"]["character"] == 11  # UTF-32, as negotiated (UTF-16: 12)
    server.until(lambda m: m.get("id") == 2)
    server.send(shutdown(3))
    server.until(lambda m: m.get("id") == 3)
    server.send(EXIT)
    assert server.close() == 0
    replies = [m for m in server.seen if m.get("id") == "init-1"]
    assert len(replies) == 1  # pygls's own reply to the replayed initialize was taken out
    assert replies[0]["result"]["capabilities"]["positionEncoding"] == "utf-32"
    assert "diagnosticProvider" not in replies[0]["result"]["capabilities"]


def test_vscode_is_offered_pull_and_its_pulls_are_answered(start: Any, tmp_path: Path) -> None:
    server = start()
    params = json.loads((EDITORS / "vscode-1.100.json").read_text())["params"]
    params["initializationOptions"] = {"cacheDir": str(tmp_path / "c")}
    server.send(
        framed({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": params}),
    )
    reply = server.until(lambda m: m.get("id") == 0)
    assert reply["result"]["capabilities"]["diagnosticProvider"]["identifier"] == "sbom-enrich"
    uri, did_open = open_requirements(tmp_path, "evil-pkg@0.0.1\n")

    def pull(request_id: int) -> bytes:
        return framed(
            {
                "jsonrpc": "2.0",
                "id": request_id,
                "method": "textDocument/diagnostic",
                "params": {"textDocument": {"uri": uri}},
            }
        )

    server.send(INITIALIZED + did_open + pull(1))
    answer, request_id = server.until(lambda m: m.get("id") == 1), 1
    # Pulled right after initialized, before the status client exists: waited for, or, on a
    # slow machine, ServerCancelled with retriggerRequest, and VS Code pulls again.
    while answer.get("error", {}).get("code") == -32802:
        assert answer["error"]["data"] == {"retriggerRequest": True}
        request_id += 1
        server.send(pull(request_id))
        answer = server.until(lambda m, sent=request_id: m.get("id") == sent)
    assert [d["code"] for d in answer["result"]["items"]] == ["sbom-enrich/invalid-requirement"]
    server.send(shutdown(100))
    server.until(lambda m: m.get("id") == 100)
    server.send(EXIT)
    assert server.close() == 0
    assert not any(m.get("method") == "textDocument/publishDiagnostics" for m in server.seen)
    assert [m for m in server.seen if m.get("id") == 0] == [reply]


def test_params_pygls_cannot_read_stop_the_server_with_a_message(start: Any) -> None:
    # The early answer has gone; pygls would never apply these settings: stop, say so.
    server = start()
    server.send(framed(json.loads(initialize(1, {}, processId="not a number"))))
    reply = server.next()
    assert reply is not None and reply["id"] == 1 and "result" in reply
    shown = server.next()
    assert shown is not None and shown["method"] == "window/showMessage"
    assert shown["params"]["type"] == 1
    assert "stopped" in shown["params"]["message"]
    assert server.close() == 1
    assert [m for m in server.seen if "id" in m] == [reply]


SHUTDOWN_THEN_EXIT = shutdown(5) + EXIT
FIRST_MESSAGES = {
    "nothing": b"",
    "shutdown first": SHUTDOWN_THEN_EXIT,
    "exit first": EXIT,
    "malformed frame, then initialize": b"Content-Length: abc\r\n\r\n"
    + framed(json.loads(initialize(1, {})))
    + SHUTDOWN_THEN_EXIT,
    "not JSON-RPC 2.0": framed({**json.loads(initialize(1, {})), "jsonrpc": "1.0"})
    + SHUTDOWN_THEN_EXIT,
}


def test_anything_else_first_gets_what_pygls_always_did(start: Any) -> None:
    early = {name: start() for name in FIRST_MESSAGES}
    plain = {
        name: start([sys.executable, "-m", "lsp", "--no-early-initialize"])
        for name in FIRST_MESSAGES
    }
    for name, data in FIRST_MESSAGES.items():
        for server in (early[name], plain[name]):
            server.send(data)
    for name in FIRST_MESSAGES:
        assert early[name].close() == plain[name].close(), name
        assert early[name].seen == plain[name].seen, name
    # A malformed frame ends the input (one log line), in either mode: pygls skipped this
    # one, but after a malformed frame later on it never answered again (alive, deaf).
    assert early["malformed frame, then initialize"].seen == []


def test_an_editor_gone_before_the_answer_is_one_line_and_exit_1(env: dict[str, str]) -> None:
    server = subprocess.Popen(
        [sys.executable, "-m", "lsp"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert server.stdout is not None
    server.stdout.close()  # nobody will read the answer
    _, stderr = server.communicate(framed(json.loads(initialize(1, {}))), timeout=TIMEOUT)
    assert server.returncode == 1
    assert b"cannot answer initialize" in stderr
    assert b"Traceback" not in stderr


@pytest.mark.parametrize(
    "after",
    [
        b"Content-Length: abc\r\n\r\n",  # no number
        b"Content-Length: 5\r\n\r\n{}",  # longer than what follows it: runs into the next frame
        b"{}",  # no header at all
        b"Content-Length: 1099511627776\r\n\r\n",  # 2**40: pygls allocated first (MemoryError)
        b"Content-Length: " + b"9" * 30 + b"\r\n\r\n",  # an OverflowError in pygls
    ],
)
def test_a_malformed_frame_later_ends_the_session_in_one_log_line(start: Any, after: bytes) -> None:
    """After initialize, one malformed frame left pygls's reader glued to the wrong bytes: alive
    and deaf for good (0 of the next 10 requests answered); a huge length killed it with a
    traceback. It is now refused, said once, and the input ends: the server stops."""
    server = start()
    server.send(framed(json.loads(initialize(1, {}))))
    reply = server.next()
    assert reply is not None and reply["id"] == 1
    server.send(after + shutdown(5) + EXIT)
    assert server.close() in (0, 1)  # stopped, not hung
    assert not [m for m in server.seen if m.get("id") == 5]  # nothing after it was read
    assert "malformed message from the editor" in server.stderr_text()
    assert "Traceback" not in server.stderr_text()


def test_lowercase_header_names_are_read_after_initialize_too(start: Any) -> None:
    """Header names are case-insensitive; pygls matched only "Content-Length" and dropped the
    rest silently (the first message was answered, every later one lost)."""
    server = start()
    server.send(framed(json.loads(initialize(1, {}))))
    assert (reply := server.next()) is not None and reply["id"] == 1
    body = json.dumps({"jsonrpc": "2.0", "id": 5, "method": "shutdown"}).encode()
    server.send(b"content-length: %d\r\n\r\n%b" % (len(body), body) + EXIT)
    assert server.close() == 0
    shutdown_reply = {"jsonrpc": "2.0", "id": 5, "result": None}
    assert [m for m in server.seen if m.get("id") == 5] == [shutdown_reply]


def test_an_error_answer_carries_no_traceback(start: Any) -> None:
    """pygls answered a request it could not serve (here: before initialize) with eleven frames
    of the server's Python traceback in the error's data. One clean line now; the traceback
    goes to the log."""
    server = start([sys.executable, "-m", "lsp", "--no-early-initialize"])
    hover = {"jsonrpc": "2.0", "id": 7, "method": "textDocument/hover", "params": {
        "textDocument": {"uri": "file:///x/requirements.txt"},
        "position": {"line": 0, "character": 0}}}  # fmt: skip
    server.send(framed(hover))
    reply = server.next()
    assert reply is not None and reply["id"] == 7
    assert set(reply["error"]) == {"code", "message"}, reply
    assert "Traceback" not in json.dumps(reply) and "\n" not in reply["error"]["message"]
    server.send(EXIT)
    server.close()


# -- the session's rules --------------------------------------------------------------------

INVALID_REQUEST = -32600
INVALID_PARAMS = -32602
MODES = {"early": [], "plain": ["--no-early-initialize"]}


def request(request_id: int | str, method: str, params: Any = None) -> bytes:
    message: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
    if params is not None:
        message["params"] = params
    return framed(message)


def hover(request_id: int | str, uri: str, line: Any, character: Any) -> bytes:
    position = {"line": line, "character": character}
    return request(
        request_id, "textDocument/hover", {"textDocument": {"uri": uri}, "position": position}
    )


def started(start: Any, mode: str) -> Server:
    server: Server = start([sys.executable, "-m", "lsp", *MODES[mode]])
    server.send(framed(json.loads(initialize(1, {}))))
    server.until(lambda m: m.get("id") == 1)
    server.send(INITIALIZED)
    return server


def answers(server: Server) -> dict[Any, list[dict[str, Any]]]:
    """Every answer the server sent (once it has ended), by request id."""
    found: dict[Any, list[dict[str, Any]]] = {}
    for message in server.seen:
        if "id" in message and "method" not in message:
            found.setdefault(message["id"], []).append(message)
    return found


def test_a_request_with_a_position_out_of_range_gets_an_error_not_silence(
    start: Any, tmp_path: Path
) -> None:
    """pygls dropped a request whose params it could not read (a negative line, a column past
    2**31-1, no position): the editor waited for an answer that never came."""
    server = started(start, "early")
    uri, did_open = open_requirements(tmp_path, "pycrypto==2.6.1\n")
    code_action = {
        "textDocument": {"uri": uri},
        "range": {"start": {"line": -1, "character": 0}, "end": {"line": 0, "character": 0}},
        "context": {"diagnostics": []},
    }
    server.send(
        did_open,
        hover(10, uri, -1, 0),
        hover(11, uri, 0, 2**31),
        hover("twelve", uri, 0, -5),
        request(13, "textDocument/hover", {"textDocument": {"uri": uri}}),
        request(14, "textDocument/codeAction", code_action),
        request(15, "textDocument/hover"),
        hover(16, uri, 2**31 - 1, 2**31 - 1),  # valid: past the end, nothing there
        hover(17, uri, 0, 1),
    )
    server.until(lambda m: m.get("id") == 17)
    server.send(shutdown(18), EXIT)
    assert server.close() == 0
    found = answers(server)
    expected = [1, 10, 11, "twelve", 13, 14, 15, 16, 17, 18]
    assert sorted(map(str, found)) == sorted(map(str, expected))
    assert all(len(replies) == 1 for replies in found.values()), found
    for request_id in (10, 11, "twelve", 13, 14, 15):
        (reply,) = found[request_id]
        assert reply["error"]["code"] == INVALID_PARAMS, reply
        assert reply["error"]["message"].startswith("Invalid params for "), reply
        assert "data" not in reply["error"] or not reply["error"]["data"]
    assert "should be in range" in found[10][0]["error"]["message"]
    assert found[16][0]["result"] is None
    assert "pycrypto" in found[17][0]["result"]["contents"]["value"]


@pytest.mark.parametrize("mode", MODES)
def test_requests_after_shutdown_are_refused_and_exit_says_whether_it_came(
    start: Any, tmp_path: Path, mode: str
) -> None:
    """LSP: requests after shutdown are answered InvalidRequest (pygls answered nothing), and
    exit without shutdown ends with code 1 (it ended with 0)."""
    server = started(start, mode)
    uri, did_open = open_requirements(tmp_path, "pycrypto==2.6.1\n")
    server.send(did_open, shutdown(20))
    assert server.until(lambda m: m.get("id") == 20)["result"] is None
    server.send(hover(21, uri, 0, 1), shutdown(22), EXIT)
    assert server.close() == 0
    found = answers(server)
    refused = [reply for request_id in (21, 22) for reply in found.get(request_id, [])]
    assert [r["error"]["code"] for r in refused] == [INVALID_REQUEST] * 2, refused
    assert "shut down" in refused[0]["error"]["message"]

    abrupt = started(start, mode)
    abrupt.send(EXIT)
    assert abrupt.close() == 1


@pytest.mark.parametrize("mode", MODES)
def test_requests_out_of_the_lifecycles_order_are_answered_with_lsps_errors(
    start: Any, tmp_path: Path, mode: str
) -> None:
    """Before initialize pygls answered InternalError with a RuntimeError's text; a second
    initialize made a new workspace (the open documents gone); a notification sent with an
    id was never answered."""
    server = start([sys.executable, "-m", "lsp", *MODES[mode]])
    uri, _ = open_requirements(tmp_path, "")
    server.send(hover(1, uri, 0, 1), framed(json.loads(initialize(2, {}))), INITIALIZED)
    server.send(framed(json.loads(initialize(3, {}))))
    server.send(request(4, "$/cancelRequest", {"id": 1}), shutdown(5), EXIT)
    assert server.close() == 0
    found = {request_id: replies[0] for request_id, replies in answers(server).items()}
    assert len(found) == sum(map(len, answers(server).values())) == 5
    assert found[1]["error"]["code"] == -32002  # ServerNotInitialized
    assert "capabilities" in found[2]["result"]
    assert found[3]["error"] == {"code": INVALID_REQUEST, "message": "initialize: sent once only"}
    assert found[4]["error"]["code"] == INVALID_REQUEST
    assert found[5]["result"] is None


PARSE_ERROR = -32700


def raw(content: bytes) -> bytes:
    return b"Content-Length: %d\r\n\r\n%b" % (len(content), content)


@pytest.mark.parametrize("mode", MODES)
def test_malformed_messages_get_json_rpc_answers_and_at_most_one_pop_up(
    start: Any, tmp_path: Path, mode: str
) -> None:
    """A request with an id of null, a list or a fraction got no answer, and each (and each
    malformed notification) showed the user an "Error in server: Invalid Params" pop-up; a
    shutdown with a null id shut the server down. JSON-RPC 2.0 (section 5): an invalid
    request is answered with an error whose id is null; a notification gets no answer."""
    server = started(start, mode)
    uri = (tmp_path / "requirements.txt").as_uri()
    bad_open = {"jsonrpc": "2.0", "method": "textDocument/didOpen",
                "params": {"textDocument": {"uri": uri}}}  # fmt: skip
    server.send(
        hover(None, uri, 0, 1),  # type: ignore[arg-type]
        hover([1], uri, 0, 1),  # type: ignore[arg-type]
        hover(1.5, uri, 0, 1),  # type: ignore[arg-type]
        request(None, "shutdown"),  # type: ignore[arg-type]
        framed(bad_open),
        framed(bad_open),
        framed({"jsonrpc": "2.0", "method": "workspace/didChangeConfiguration", "params": 7}),
        raw(b"{not json"),
        raw(b"[]"),
        hover(30, uri, 0, 1),
        shutdown(31),
        EXIT,
    )
    assert server.close() == 0  # the null-id shutdown did not count: exit came after one
    found = answers(server)
    assert sorted(map(str, found)) == sorted(map(str, [1, None, 30, 31]))
    codes = [reply["error"]["code"] for reply in found[None]]
    assert codes == [INVALID_REQUEST] * 4 + [PARSE_ERROR, INVALID_REQUEST], found[None]
    assert all(reply["id"] is None and "result" not in reply for reply in found[None])
    assert "result" in found[30][0] and found[31][0]["result"] is None
    shown = [m for m in server.seen if m.get("method") == "window/showMessage"]
    assert len(shown) == 1, shown
    assert "Error in server" not in shown[0]["params"]["message"]
    log = server.stderr_text()
    assert log.count("the editor sent ") == 9, log
    assert "Traceback" not in log
