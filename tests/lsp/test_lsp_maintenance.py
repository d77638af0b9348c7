"""The language server's ``maintenance`` setting: hover shows the verdict and the maintainers'
recommendations, quick fixes offer them (real test index + fake forge on 127.0.0.1)."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsp_e2e_support import wait_until
from lsprotocol import types
from pygls.workspace import Workspace

from fakeforge import FakeForge, FakeRepo
from indexserver import IndexServer
from lsp.lsp_settings import LspSettings
from lsp.server import SbomEnrichServer
from sbom_enrich.status.settings import ClientSettings

DESCRIPTION = "This project is deprecated: use `requests` instead."


async def test_hover_and_quick_fix_with_maintenance_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, index_server: IndexServer
) -> None:
    with FakeForge(
        github={"nose-devs/nose": FakeRepo(pushed_at="2016-02-01T00:00:00Z", committed_at=None)},
        projects={
            "nose": {
                "info": {
                    "project_urls": {"Source": "https://github.com/nose-devs/nose"},
                    "description": DESCRIPTION,
                }
            }
        },
    ) as forge:
        env = {
            "SBOM_ENRICH_GITHUB_API_URL": f"{forge.url}/github",
            "SBOM_ENRICH_PROJECT_API_URL": f"{forge.url}/pypi",
        }
        server = SbomEnrichServer(env=env)
        server.settings = LspSettings(
            client=ClientSettings(index_url=index_server.url, cache_dir=tmp_path / "cache"),
            maintenance=True,
        )
        published: list[types.PublishDiagnosticsParams] = []
        monkeypatch.setattr(server, "text_document_publish_diagnostics", published.append)
        monkeypatch.setattr(server, "window_log_message", lambda _: None)
        server.protocol._workspace = Workspace(None)
        uri = (tmp_path / "requirements.txt").as_uri()
        server.workspace.put_text_document(
            types.TextDocumentItem(uri=uri, language_id="pip", version=1, text="nose==1.3.7\n")
        )
        try:
            await server.refresh(uri)
            await wait_until(lambda: "nose" in server.maintenance, timeout=20)
            hover = server.hover(uri, types.Position(line=0, character=1))
            assert hover is not None
            text = hover.contents.value  # type: ignore[union-attr]
            assert "Maintenance (repository and release age): **stale**" in text
            assert "- **requests** — recommended by its maintainers" in text
            actions = server.code_actions(
                types.CodeActionParams(
                    text_document=types.TextDocumentIdentifier(uri=uri),
                    range=types.Range(types.Position(0, 0), types.Position(0, 4)),
                    context=types.CodeActionContext(diagnostics=[]),
                )
            )
            assert any("requests" in action.title for action in actions)
            assert forge.count("/github/repos/nose-devs/nose") == 1  # no token: REST

            def stale_diagnostics() -> list[types.Diagnostic]:
                last = published[-1].diagnostics if published else []
                return [d for d in last if d.code == "sbom-enrich/stale"]

            # The verdict's arrival publishes again: a hint on the name.
            await wait_until(lambda: bool(stale_diagnostics()), timeout=20)
            (stale,) = stale_diagnostics()
            assert stale.severity is types.DiagnosticSeverity.Hint
            assert stale.message.startswith("nose: stale (last release 2015-06-02")
        finally:
            await server.close_status_client()


def test_maintenance_is_off_by_default() -> None:
    assert SbomEnrichServer(env={}).settings.maintenance is False
