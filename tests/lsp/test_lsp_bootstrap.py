"""The early initialize answer: frames, the hand-over to pygls, and no drift from pygls's answer."""

from __future__ import annotations

import asyncio
import copy
import io
import json
import threading
from pathlib import Path
from typing import Any

import pytest

from lsp import bootstrap
from lsp.bootstrap import (
    END,
    EarlyAnswer,
    ReplayStdin,
    ReplyFilter,
    answer_initialize,
    encode_frame,
    initialize_result,
    read_frame,
)
from lsp.server import build_server, reads_message
from sbom_enrich import __version__

MAX_BODY = bootstrap.MAX_BODY
EDITORS = Path(__file__).resolve().parents[1] / "data" / "lsp" / "initialize"


class Trickle:
    """A stream that hands out one byte per call: every read is a partial read."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = 0

    def readline(self, size: int = -1, /) -> bytes:
        return self.read(1)

    def read(self, size: int = -1, /) -> bytes:
        piece = self.data[self.at : self.at + (1 if size else 0)]
        self.at += len(piece)
        return piece


def framed(message: dict[str, Any], headers: bytes = b"") -> bytes:
    body = json.dumps(message).encode()
    return b"Content-Length: %d\r\n%b\r\n%b" % (len(body), headers, body)


INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"processId": None, "rootUri": None, "capabilities": {}},
}
SHUTDOWN = {"jsonrpc": "2.0", "id": 2, "method": "shutdown"}


# -- frames -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        b"",
        b"Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n",
        b"Content-Type: application/vscode-jsonrpc; charset=utf8\r\n",  # backwards compatible
        b"Content-Type: application/vscode-jsonrpc\r\n",  # utf-8 is the default
        b"X-Other: anything\r\n",
    ],
)
def test_a_frame_is_read_whole_with_its_headers(headers: bytes) -> None:
    data = framed(INITIALIZE, headers) + framed(SHUTDOWN)
    stream = io.BytesIO(data)
    frame = read_frame(stream)
    assert frame.problem is None
    assert frame.body is not None and json.loads(frame.body) == INITIALIZE
    assert frame.raw == framed(INITIALIZE, headers)
    assert stream.read() == framed(SHUTDOWN)  # nothing of the next message was taken


def test_header_names_are_case_insensitive_as_in_http() -> None:
    body = json.dumps(INITIALIZE).encode()
    frame = read_frame(io.BytesIO(b"content-length: %d\r\n\r\n%b" % (len(body), body)))
    assert frame.body == body


def test_partial_reads_are_completed() -> None:
    data = framed(INITIALIZE, b"Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n")
    frame = read_frame(Trickle(data + framed(SHUTDOWN)))
    assert frame.body is not None and json.loads(frame.body) == INITIALIZE
    assert frame.raw == data


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"", END),
        (b"Content-Length: 10\r\n", END),
        (b"Content-Length: 10\r\n\r\n{}", END),
        (b"Content-Length: 2\n\n{}", "header line does not end with \\r\\n"),
        (b"Content-Type: application/vscode-jsonrpc\r\n\r\n{}", "no Content-Length header"),
        (b"Content-Length: 0x2\r\n\r\n{}", "bad Content-Length '0x2'"),
        (b"Content-Length: -2\r\n\r\n{}", "bad Content-Length '-2'"),
        (b"Content-Length: 2\r\nContent-Length: 2\r\n\r\n{}", "header content-length repeated"),
        (b"Content-Length 2\r\n\r\n{}", "malformed header line"),
        (
            b"Content-Length: 2\r\nContent-Type: application/vscode-jsonrpc; charset=latin-1\r\n"
            b"\r\n{}",
            "charset 'latin-1' is not utf-8",
        ),
        (b"".join(b"X-%d: y\r\n" % i for i in range(40)), "too many header lines"),
        (b"X: " + b"y" * 9000, "header too long"),
        (
            b"Content-Length: 99999999999\r\n\r\n",
            f"Content-Length 99999999999 is more than the {MAX_BODY} bytes a message may have here",
        ),
    ],
)
def test_a_bad_or_short_frame_is_not_read_and_every_byte_taken_is_kept(
    data: bytes, problem: str
) -> None:
    stream = io.BytesIO(data)
    frame = read_frame(stream)
    assert frame.body is None
    assert frame.problem == problem
    assert frame.raw + stream.read() == data  # pygls gets exactly these bytes back


# -- the first message ------------------------------------------------------------------------


def test_initialize_is_answered_once_and_replayed_framed_as_pygls_reads_frames() -> None:
    body = json.dumps(INITIALIZE).encode()
    stdin = io.BytesIO(
        b"content-length: %d\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n%b"
        % (len(body), body)
        + framed(SHUTDOWN)
    )
    stdout = io.BytesIO()
    prefix, answer = answer_initialize(stdin, stdout, __version__)
    assert prefix == b""
    assert answer is not None
    assert answer.replay == b"Content-Length: %d\r\n\r\n%b" % (len(body), body)
    sent = read_frame(io.BytesIO(stdout.getvalue()))
    assert sent.raw == stdout.getvalue()  # exactly one message
    assert sent.body is not None
    reply = json.loads(sent.body)
    assert reply == {"jsonrpc": "2.0", "id": 1, "result": answer.result}
    assert reply["result"]["serverInfo"] == {"name": "sbom-enrich-lsp", "version": __version__}
    assert stdin.read() == framed(SHUTDOWN)  # the rest is left for pygls


@pytest.mark.parametrize(
    "first",
    [
        framed(SHUTDOWN),
        framed({"jsonrpc": "2.0", "method": "exit"}),
        framed({"jsonrpc": "2.0", "method": "initialized", "params": {}}),
        framed({**INITIALIZE, "jsonrpc": "1.0"}),
        framed({**INITIALIZE, "id": True}),
        framed({**INITIALIZE, "id": None}),
        framed({**INITIALIZE, "params": None}),
        framed({**INITIALIZE, "params": {"capabilities": None}}),
        framed({**INITIALIZE, "params": {"capabilities": {"textDocument": "yes"}}}),
        framed(
            {**INITIALIZE, "params": {"capabilities": {"general": {"positionEncodings": "utf-8"}}}}
        ),
        framed(
            {
                **INITIALIZE,
                "params": {
                    "capabilities": {"workspace": {"diagnostics": {"refreshSupport": "yes"}}}
                },
            }
        ),
        b"Content-Length: 5\r\n\r\n[1,2]",
        b"Content-Length: 3\r\n\r\n{]}",
        b"Content-Length: 2\r\n\r\n\xff\xfe",
        b"Content-Length: 2\n\n{}",
        b"",
    ],
)
def test_anything_else_first_is_left_to_pygls_untouched(first: bytes) -> None:
    data = first + framed(SHUTDOWN)
    stdin = io.BytesIO(data)
    stdout = io.BytesIO()
    prefix, answer = answer_initialize(stdin, stdout, __version__)
    assert answer is None
    assert stdout.getvalue() == b""
    assert prefix + stdin.read() == data


# -- the hand-over ----------------------------------------------------------------------------


def pygls_reads(stream: Any) -> list[bytes]:
    """The frames pygls's reader takes from ``stream`` (its own loop: readline, then read)."""
    bodies = []
    length = 0
    while header := stream.readline():
        if header.startswith(b"Content-Length: "):
            length = int(header.split(b":")[1])
        elif header == b"\r\n" and length:
            bodies.append(stream.read(length))
            length = 0
    return bodies


def test_pygls_reads_the_replayed_bytes_then_the_rest_untouched() -> None:
    prefix = b"junk\r\n" + framed(SHUTDOWN)[:10]
    rest = framed(SHUTDOWN)[10:] + framed({"jsonrpc": "2.0", "method": "exit"})
    replay = ReplayStdin(prefix, Trickle(rest))
    assert replay.readline() == b"junk\r\n"
    whole = b""
    while piece := replay.readline():
        whole += piece
    assert b"junk\r\n" + whole == prefix + rest
    bodies = pygls_reads(ReplayStdin(prefix, io.BytesIO(rest)))
    assert [json.loads(b) for b in bodies] == [SHUTDOWN, {"jsonrpc": "2.0", "method": "exit"}]


def early(result: dict[str, Any] | None = None, request_id: int | str = 1) -> EarlyAnswer:
    body = json.dumps({**INITIALIZE, "id": request_id}).encode()
    result = result or initialize_result(INITIALIZE["params"], __version__)
    assert result is not None
    return EarlyAnswer(request_id, result, body)


def test_stdin_waits_until_pygls_has_replied_to_the_replayed_initialize() -> None:
    answer = early()
    stdout = io.BytesIO()
    replies = ReplyFilter(stdout, answer)
    stdin = ReplayStdin(answer.replay, io.BytesIO(framed(SHUTDOWN)), gate=replies)
    assert pygls_reads(_Prefix(stdin, answer.replay)) == [answer.body]
    reader = threading.Thread(target=lambda: read.append(stdin.readline()))
    read: list[bytes] = []
    reader.start()
    reader.join(0.2)
    assert reader.is_alive() and not read  # blocked: the initialize is not answered yet
    replies.write(encode_frame({"jsonrpc": "2.0", "id": 1, "result": answer.result}))
    reader.join(10)
    assert read == [b"Content-Length: %d\r\n" % len(json.dumps(SHUTDOWN))]
    assert stdout.getvalue() == b""  # pygls's reply was taken out: the client had one


class _Prefix:
    """Reads only the first ``len(prefix)`` bytes of a ReplayStdin (the replayed message)."""

    def __init__(self, stream: ReplayStdin, prefix: bytes) -> None:
        self.stream = stream
        self.left = len(prefix)

    def readline(self) -> bytes:
        if not self.left:
            return b""
        line = self.stream.readline()
        self.left -= len(line)
        return line

    def read(self, size: int) -> bytes:
        data = self.stream.read(size)
        self.left -= len(data)
        return data


@pytest.mark.parametrize("request_id", [1, "init-1"])
def test_only_pygls_reply_to_that_id_is_taken_out_even_in_pieces(request_id: int | str) -> None:
    answer = early(request_id=request_id)
    stdout = io.BytesIO()
    replies = ReplyFilter(stdout, answer)
    log = encode_frame({"jsonrpc": "2.0", "method": "window/logMessage", "params": {}})
    other = encode_frame({"jsonrpc": "2.0", "id": 7, "result": None})
    reply = encode_frame({"jsonrpc": "2.0", "id": request_id, "result": answer.result})
    later = encode_frame({"jsonrpc": "2.0", "id": request_id, "result": None})
    data = log + other + reply + later
    for start in range(0, len(data), 7):
        replies.write(data[start : start + 7])
    assert stdout.getvalue() == log + other + later
    assert replies.wait() and not replies.failed


def test_an_error_reply_stops_the_server_and_tells_the_client() -> None:
    answer = early()
    stdout = io.BytesIO()
    replies = ReplyFilter(stdout, answer)
    replies.write(
        encode_frame(
            {"jsonrpc": "2.0", "id": 1, "error": {"code": -32603, "message": "handler failed"}}
        )
    )
    assert not replies.wait()
    assert replies.failed
    stdin = ReplayStdin(b"", io.BytesIO(framed(SHUTDOWN)), gate=replies)
    assert stdin.readline() == b""  # pygls reads end of input and stops
    shown = read_frame(io.BytesIO(stdout.getvalue()))
    assert shown.body is not None
    message = json.loads(shown.body)
    assert message["method"] == "window/showMessage"
    assert message["params"]["type"] == 1
    assert "stopped" in message["params"]["message"]


def test_a_different_result_is_shown_not_passed_on(caplog: pytest.LogCaptureFixture) -> None:
    answer = early()
    stdout = io.BytesIO()
    replies = ReplyFilter(stdout, answer)
    other = copy.deepcopy(dict(answer.result))
    other["capabilities"]["completionProvider"] = {}
    replies.write(encode_frame({"jsonrpc": "2.0", "id": 1, "result": other}))
    assert replies.wait()
    shown = read_frame(io.BytesIO(stdout.getvalue()))
    assert shown.body is not None
    assert json.loads(shown.body)["method"] == "window/showMessage"
    assert "differs" in caplog.text


def test_params_pygls_cannot_read_are_found_before_the_hand_over() -> None:
    server = build_server()
    assert reads_message(server, json.dumps(INITIALIZE).encode()) is None
    bad = {**INITIALIZE, "params": {"processId": "not a number", "capabilities": {}}}
    assert reads_message(server, json.dumps(bad).encode()) is not None


# -- no drift from what pygls computes --------------------------------------------------------


def initialized(params: dict[str, Any], request_id: int | str = 1) -> tuple[Any, dict[str, Any]]:
    """The real server (pygls) after this initialize, and the reply it sent."""
    server = build_server()
    written: list[dict[str, Any]] = []

    class Capture:
        def write(self, data: bytes) -> None:
            written.append(json.loads(data))

        def close(self) -> None:
            pass

    server.protocol.set_writer(Capture(), include_headers=False)
    message = {"jsonrpc": "2.0", "id": request_id, "method": "initialize", "params": params}

    async def run() -> None:
        server.protocol.handle_message(
            json.loads(json.dumps(message), object_hook=server.protocol.structure_message)
        )
        for _ in range(100):
            if any("id" in m for m in written):
                return
            await asyncio.sleep(0)

    asyncio.run(run())
    replies = [m for m in written if "id" in m]
    assert len(replies) == 1, written
    return server, replies[0]


def pygls_reply(params: dict[str, Any], request_id: int | str = 1) -> dict[str, Any]:
    return initialized(params, request_id)[1]


def editor(name: str) -> dict[str, Any]:
    params: dict[str, Any] = json.loads((EDITORS / f"{name}.json").read_text())["params"]
    return params


EDITOR_NAMES = sorted(p.stem for p in EDITORS.glob("*.json"))
PULL = {
    "textDocument": {"diagnostic": {}},
    "workspace": {"diagnostics": {"refreshSupport": True}},
}
CLIENTS: dict[str, dict[str, Any]] = {
    "none": {},
    "empty sections": {"textDocument": {}, "workspace": {}, "general": {}},
    "utf-8": {"general": {"positionEncodings": ["utf-8", "utf-16"]}},
    "utf-32 first": {"general": {"positionEncodings": ["utf-32", "utf-8"]}},
    "unknown then utf-32": {"general": {"positionEncodings": ["utf-7", "utf-32"]}},
    "unknown only": {"general": {"positionEncodings": ["utf-7"]}},
    "no encodings": {"general": {"positionEncodings": []}},
    "pull with refresh": PULL,
    "pull with refresh, details": {
        "textDocument": {"diagnostic": {"dynamicRegistration": True}},
        "workspace": {"diagnostics": {"refreshSupport": True}},
    },
    "pull without refresh": {"textDocument": {"diagnostic": {}}},
    "pull, refresh false": {
        "textDocument": {"diagnostic": {}},
        "workspace": {"diagnostics": {"refreshSupport": False}},
    },
    "pull, no refresh field": {
        "textDocument": {"diagnostic": {}},
        "workspace": {"diagnostics": {}},
    },
    "refresh without pull": {"workspace": {"diagnostics": {"refreshSupport": True}}},
    "null sections": {"textDocument": None, "workspace": None, "general": None},
    "willSave": {"textDocument": {"synchronization": {"willSave": True}}},
    "willSave false": {"textDocument": {"synchronization": {"willSave": False}}},
    "willSaveWaitUntil": {"textDocument": {"synchronization": {"willSaveWaitUntil": True}}},
    "notebooks": {"notebookDocument": {"synchronization": {"dynamicRegistration": True}}},
    "file operations": {
        "workspace": {
            "fileOperations": {
                k: True
                for k in (
                    "didCreate",
                    "willCreate",
                    "didRename",
                    "willRename",
                    "didDelete",
                    "willDelete",
                )
            }
        }
    },
    "rename prepare": {"textDocument": {"rename": {"prepareSupport": True}}},
    "configuration and dynamic registration": {
        "workspace": {
            "configuration": True,
            "didChangeConfiguration": {"dynamicRegistration": True},
            "workspaceFolders": True,
        }
    },
}


@pytest.mark.parametrize("name", sorted(CLIENTS))
def test_the_early_answer_is_what_pygls_computes(name: str) -> None:
    params = {"processId": None, "rootUri": None, "capabilities": CLIENTS[name]}
    ours = initialize_result(params, __version__)
    assert ours is not None
    assert json.dumps(ours, sort_keys=True) == json.dumps(
        pygls_reply(params)["result"], sort_keys=True
    )


@pytest.mark.parametrize("name", EDITOR_NAMES)
def test_the_early_answer_to_real_editors_is_what_pygls_computes(name: str) -> None:
    params = editor(name)
    ours = initialize_result(params, __version__)
    assert ours is not None
    assert json.dumps(ours, sort_keys=True) == json.dumps(
        pygls_reply(params)["result"], sort_keys=True
    )


def test_the_recorded_editors_cover_push_and_pull() -> None:
    assert len(EDITOR_NAMES) >= 6
    pulls = {n for n in EDITOR_NAMES if bootstrap.pulls_with_refresh(editor(n)["capabilities"])}
    assert pulls == {"vscode-1.100"}  # Neovim 0.11 pulls but cannot be told to pull again


def test_a_string_request_id_is_echoed_as_sent() -> None:
    assert pygls_reply(INITIALIZE["params"], "init-1")["id"] == "init-1"


def registered_features() -> set[str]:
    features: set[str] = set()
    # A pull client makes the server register textDocument/diagnostic too.
    for capabilities in ({}, PULL):
        server, _ = initialized({"capabilities": capabilities})
        features |= set(server.protocol.fm.features) | set(server.protocol.fm.builtin_features)
        assert not server.protocol.fm.commands  # executeCommandProvider: {"commands": []}
    return features


def test_a_feature_added_without_updating_the_early_answer_fails_here() -> None:
    # A new handler can change the capabilities (a provider, a sync option): add it to
    # bootstrap.FEATURES and make server_capabilities() say what pygls now says.
    assert registered_features() == bootstrap.FEATURES


def test_no_reply_at_all_stops_the_server_instead_of_hanging(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(bootstrap, "REPLY_TIMEOUT", 0.01)
    stdout = io.BytesIO()
    replies = ReplyFilter(stdout, early())
    assert ReplayStdin(b"", io.BytesIO(framed(SHUTDOWN)), gate=replies).readline() == b""
    assert replies.failed
    shown = read_frame(io.BytesIO(stdout.getvalue()))
    assert shown.body is not None and b"did not finish starting" in shown.body
