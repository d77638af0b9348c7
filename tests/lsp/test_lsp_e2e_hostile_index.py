"""End to end: the real language server against the hostile page server (tests/hostile_pages.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_lsp
from lsp_e2e_support import (
    SERVER_COMMAND,
    hover_text,
    initialize,
    make_recording_client,
    open_document,
    push_capabilities,
    wait_until,
)
from pytest_lsp import ClientServerConfig, LanguageClient

from hostile_pages import HOSTILE_NAMES, HostilePageServer
from untrusted_text import assert_terminal_safe


@pytest_lsp.fixture(
    config=ClientServerConfig(server_command=SERVER_COMMAND, client_factory=make_recording_client)
)
async def client(lsp_client: LanguageClient, tmp_path: Path) -> AsyncIterator[None]:
    with HostilePageServer() as index:
        await initialize(
            lsp_client,
            push_capabilities(),
            {"indexUrl": index.url, "cacheDir": str(tmp_path / "cache"), "debounceMs": 50},
        )
        yield
        await lsp_client.shutdown_session()


async def test_hostile_pages_are_answered_unknown_and_the_honest_one_is_flagged(
    client: LanguageClient, tmp_path: Path
) -> None:
    names = [*HOSTILE_NAMES, "bad-but-honest", "fine-forever"]
    uri = open_document(client, tmp_path / "requirements.txt", "".join(f"{n}\n" for n in names))
    await wait_until(
        lambda: any(
            str(d.code) == "sbom-enrich/quarantined" for d in client.diagnostics.get(uri, [])
        ),
    )
    # No hostile page becomes a status diagnostic (unknown is logged, not shown per line);
    # the file is marked not checked, once, for the lookups that failed.
    every = f"{len(HOSTILE_NAMES)} lookups failed"
    await wait_until(
        lambda: (
            [(str(d.code), every in d.message) for d in client.diagnostics.get(uri, [])]
            == [("sbom-enrich/not-checked", True), ("sbom-enrich/quarantined", False)]
        )
    )
    marker = client.diagnostics[uri][0]
    assert_terminal_safe(marker.message, lines=False)
    for line, name in enumerate(HOSTILE_NAMES):
        # Every lying page gets its answer: never "lookup in progress" forever.
        for _ in range(300):
            text = await hover_text(client, uri, line)
            if "in progress" not in text:
                break
            await asyncio.sleep(0.05)
        assert "**unknown**" in text and "Lookup failed:" in text, (name, text)
    # An honest page with a hostile header (a max-age past any float) is answered as it says.
    for _ in range(300):
        text = await hover_text(client, uri, len(names) - 1)
        if "in progress" not in text:
            break
        await asyncio.sleep(0.05)
    assert "**fine-forever** — **active**" in text, text
    failures = [m.message for m in client.log_messages if "cannot get project status" in m.message]
    # Logged once per run of failures (an honest answer in between re-arms it), not per page.
    assert 1 <= len(failures) < len(HOSTILE_NAMES), failures
    for message in failures:
        assert_terminal_safe(message, lines=False)
