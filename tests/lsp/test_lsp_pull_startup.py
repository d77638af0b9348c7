"""A diagnostic pull made before the status client exists: waited for or ServerCancelled,
never an empty report (an editor that pulls would show the file as clean)."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from lsp_e2e_support import (
    WAIT_TIMEOUT,
    answered,
    initialize,
    make_recording_client,
    open_document,
    pull_capabilities,
    pull_report,
    retriggered,
    wait_until,
    warm_the_cache,
)
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pygls.workspace import Workspace
from pytest_lsp import ClientServerConfig, LanguageClient

from indexserver import IndexServer
from lsp.server import (
    QUIET_SERVER_CANCELLED,
    ClientFactory,
    RequestFailed,
    SbomEnrichServer,
    ServerCancelled,
)
from sbom_enrich.status.client import StatusClient
from sbom_enrich.status.compose import open_status_client
from sbom_enrich.status.settings import ClientSettings

#: The real server, except that its status client is not built until the file named by the
#: first argument exists; the second argument replaces PULL_WAIT_SECONDS.
HELD_SERVER = """
import asyncio, sys
from contextlib import asynccontextmanager
from pathlib import Path

import lsp.server
from lsp.server import build_server, open_status_client

gate, lsp.server.PULL_WAIT_SECONDS = Path(sys.argv[1]), float(sys.argv[2])

@asynccontextmanager
async def held(settings):
    while not gate.exists():
        await asyncio.sleep(0.01)
    async with open_status_client(settings) as status:
        yield status

build_server(client_factory=held).start_io()
"""

TEXT = "pycrypto\nevil-pkg\n"
EXPECTED = ["sbom-enrich/archived", "sbom-enrich/quarantined"]


@asynccontextmanager
async def held_server(
    index: IndexServer, tmp_path: Path, pull_wait: float
) -> AsyncIterator[tuple[LanguageClient, Path]]:
    """A pull client initialized with a server whose status client waits for the gate file."""
    gate = tmp_path / "gate"
    config = ClientServerConfig(
        server_command=[sys.executable, "-c", HELD_SERVER, str(gate), str(pull_wait)],
        client_factory=make_recording_client,
    )
    client = await config.start()
    try:
        options = {"indexUrl": index.url, "cacheDir": str(tmp_path / "cache")}
        await initialize(client, pull_capabilities(), options)
        yield client, gate
    finally:
        gate.touch()  # shutdown waits for the status client too
        await client.shutdown_session()
        await client.stop()


def send_pull(client: LanguageClient, uri: str) -> asyncio.Future[Any]:
    """A pull sent now, ahead of whatever the test sends next; its answer is awaited later."""
    params = types.DocumentDiagnosticParams(text_document=types.TextDocumentIdentifier(uri=uri))
    # pygls's own send (pytest-lsp's async one would send only once awaited).
    return asyncio.wrap_future(client.protocol.send_request(types.TEXT_DOCUMENT_DIAGNOSTIC, params))


async def outcome(answer: Awaitable[Any]) -> object:
    """A pull's answer: the codes in its report, or the error it was answered with."""
    try:
        report = await answer
    except JsonRpcException as error:
        return error
    assert isinstance(report, types.RelatedFullDocumentDiagnosticReport)
    return [str(d.code) for d in report.items]


async def pull_once(client: LanguageClient, uri: str) -> object:
    return await outcome(send_pull(client, uri))


def assert_server_cancelled(answer: object) -> None:
    assert isinstance(answer, JsonRpcException), f"answered {answer!r}, not ServerCancelled"
    assert answer.code == -32802
    assert answer.data == {"retriggerRequest": True}
    assert retriggered(answer)


async def test_a_pull_while_the_status_client_is_built_waits_and_answers_in_full(
    index_server: IndexServer, tmp_path: Path
) -> None:
    # Was: answered at once with an empty report (no client, so not even the disk cache
    # read), and with every answer cached no lookup completed to send a refresh: VS Code
    # showed the file clean until the next edit.
    await warm_the_cache(index_server.url, tmp_path / "cache")
    async with held_server(index_server, tmp_path, pull_wait=WAIT_TIMEOUT) as (client, gate):
        uri = open_document(client, tmp_path / "requirements.txt", TEXT)
        first = send_pull(client, uri)
        await answered(client)
        assert not first.done(), f"answered without a status client: {await outcome(first)}"
        gate.touch()
        assert await outcome(first) == EXPECTED
        assert client.diagnostic_refresh_count == 0  # the pull's own answer was complete


async def test_a_pull_not_ready_in_time_is_server_cancelled_and_pulled_again(
    index_server: IndexServer, tmp_path: Path
) -> None:
    await warm_the_cache(index_server.url, tmp_path / "cache")
    async with held_server(index_server, tmp_path, pull_wait=0.05) as (client, gate):
        uri = open_document(client, tmp_path / "requirements.txt", TEXT)
        assert_server_cancelled(await pull_once(client, uri))
        assert_server_cancelled(await pull_once(client, uri))  # still building: the same
        gate.touch()
        # Pulled again as VS Code and Neovim do: the first report is the complete one.
        assert sorted(str(d.code) for d in await pull_report(client, uri)) == EXPECTED
        # And told to pull again once the client is built: for an editor that ignores
        # retriggerRequest (with every answer cached, no lookup would send a refresh).
        await wait_until(lambda: client.diagnostic_refresh_count == 1)
        assert not [m for m in client.messages if m.type == types.MessageType.Error]


# -- in process ----------------------------------------------------------------------------------


def server_with(factory: ClientFactory) -> SbomEnrichServer:
    server = SbomEnrichServer(client_factory=factory)
    server.protocol._workspace = Workspace(None)  # what initialize would set up
    server.pull_mode = True
    return server


def put(server: SbomEnrichServer, path: Path, text: str) -> str:
    uri = path.as_uri()
    server.workspace.put_text_document(
        types.TextDocumentItem(uri=uri, language_id="pip", version=1, text=text)
    )
    return uri


async def test_a_pull_that_gives_up_leaves_the_status_client_building(
    index_server: IndexServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await warm_the_cache(index_server.url, tmp_path / "cache")
    settings = ClientSettings(index_url=index_server.url, cache_dir=tmp_path / "cache")
    gate = asyncio.Event()
    built = 0

    @asynccontextmanager
    async def held(_: ClientSettings) -> AsyncIterator[StatusClient]:
        nonlocal built
        built += 1
        await gate.wait()
        async with open_status_client(settings) as status:
            yield status

    server = server_with(held)
    uri = put(server, tmp_path / "requirements.txt", TEXT)
    monkeypatch.setattr("lsp.server.PULL_WAIT_SECONDS", 0.0)
    with pytest.raises(ServerCancelled):
        await server.pull(uri)
    waiting = asyncio.ensure_future(server.ready_status_client(WAIT_TIMEOUT))
    await asyncio.sleep(0)
    waiting.cancel()  # the editor cancelled its pull
    with pytest.raises(asyncio.CancelledError):
        await waiting
    gate.set()
    monkeypatch.setattr("lsp.server.PULL_WAIT_SECONDS", WAIT_TIMEOUT)
    report = await server.pull(uri)
    assert sorted(str(d.code) for d in report.items) == EXPECTED
    assert built == 1  # one client, built once, for every pull that waited
    await server.close_status_client()


async def test_a_status_client_that_cannot_be_built_fails_the_pull_with_the_reason(
    tmp_path: Path,
) -> None:
    @asynccontextmanager
    async def broken(_: ClientSettings) -> AsyncIterator[StatusClient]:
        raise OSError("cache directory unreadable")
        yield  # pragma: no cover

    server = server_with(broken)
    uri = put(server, tmp_path / "requirements.txt", TEXT)
    with pytest.raises(RequestFailed) as failed:
        await server.pull(uri)
    assert failed.value.code == -32803
    assert "could not start its status client: OSError: cache directory unreadable" in str(
        failed.value
    )


def log_as_pygls(error: JsonRpcException) -> None:
    """What pygls logs when a request handler raises ``error``."""
    try:
        raise error
    except JsonRpcException:
        logging.getLogger("pygls.protocol.json_rpc").exception(
            'Exception occurred for message "%s"', 7
        )


def test_pygls_logs_no_traceback_for_a_pull_answered_server_cancelled(
    caplog: pytest.LogCaptureFixture,
) -> None:
    logging.getLogger("pygls.protocol.json_rpc").addFilter(QUIET_SERVER_CANCELLED)  # as built
    other = RequestFailed("other")
    log_as_pygls(ServerCancelled())
    log_as_pygls(other)
    assert [record.exc_info[1] for record in caplog.records if record.exc_info] == [other]
