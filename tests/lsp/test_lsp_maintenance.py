"""The language server's ``maintenance`` setting: hover shows the verdict and the maintainers'
recommendations, quick fixes offer them (real test index + fake forge on 127.0.0.1)."""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path
from typing import Any

import pytest
from lsp_e2e_support import (
    SERVER_COMMAND,
    WAIT_TIMEOUT,
    answered,
    hover_text,
    initialize,
    make_recording_client,
    open_document,
    push_capabilities,
    wait_until,
)
from lsprotocol import types
from pygls.workspace import Workspace
from pytest_lsp import ClientServerConfig

from fakeforge import FakeForge, FakeRepo
from indexserver import IndexServer, MakeIndexServer, ProjectSpec, release
from lsp.lsp_settings import LspSettings
from lsp.server import SbomEnrichServer
from sbom_enrich.status.settings import ClientSettings

DESCRIPTION = "This project is deprecated: use `requests` instead."


def nose_forge() -> FakeForge:
    """nose's repository, last pushed in 2016, found through the JSON project API, whose
    description recommends ``requests``."""
    return FakeForge(
        github={"nose-devs/nose": FakeRepo(pushed_at="2016-02-01T00:00:00Z", committed_at=None)},
        projects={
            "nose": {
                "info": {
                    "project_urls": {"Source": "https://github.com/nose-devs/nose"},
                    "description": DESCRIPTION,
                }
            }
        },
    )


async def test_hover_and_quick_fix_with_maintenance_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, index_server: IndexServer
) -> None:
    with nose_forge() as forge:
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
            await wait_until(lambda: "nose" in server.maintenance)
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
            await wait_until(lambda: bool(stale_diagnostics()))
            (stale,) = stale_diagnostics()
            assert stale.severity is types.DiagnosticSeverity.Hint
            assert stale.message.startswith("nose: stale (last release 2015-06-02")
        finally:
            await server.close_status_client()


async def test_a_name_installed_from_git_is_offered_no_alternative(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, index_server: IndexServer
) -> None:
    """`nose @ git+https://…` may be a private package bearing the deprecated project's name:
    neither the catalog's replacements (pytest, unittest) nor those the public project's
    maintainers recommend (requests) are about it, and "Replace nose with pytest" rewrote
    the line without its URL. pycrypto, from the index, keeps its quick fix. Nor is the
    public nose's maintenance asked about or shown for it (as `check` and `enrich`)."""
    with nose_forge() as forge:
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
        text = "nose @ git+https://git.example/corp/nose@v1\npycrypto==2.6.1\n"
        server.workspace.put_text_document(
            types.TextDocumentItem(uri=uri, language_id="pip", version=1, text=text)
        )
        try:
            await server.refresh(uri)
            await wait_until(lambda: "pycrypto" in server.maintenance)
            assert "nose" not in server.maintenance
            assert forge.count("/pypi/nose/json") == 0

            def status_diagnostics() -> dict[str, types.Diagnostic]:
                last = published[-1].diagnostics if published else []
                codes = ("sbom-enrich/deprecated", "sbom-enrich/archived")
                return {d.message.split()[0]: d for d in last if d.code in codes}

            await wait_until(lambda: len(status_diagnostics()) == 2)
            found = status_diagnostics()
            assert "Consider" not in found["nose"].message, found["nose"].message
            assert "Consider pycryptodome" in found["pycrypto"].message
            hover = server.hover(uri, types.Position(line=0, character=1))
            assert hover is not None
            text = hover.contents.value  # type: ignore[union-attr]
            assert "installed from a git repository" in text
            assert "alternatives" not in text and "recommended by" not in text, text
            assert "Maintenance" not in text, text
            actions = server.code_actions(
                types.CodeActionParams(
                    text_document=types.TextDocumentIdentifier(uri=uri),
                    range=types.Range(types.Position(0, 0), types.Position(1, 4)),
                    context=types.CodeActionContext(diagnostics=[]),
                )
            )
            titles = [action.title for action in actions]
            assert "Replace pycrypto with pycryptodome" in titles
            assert not [t for t in titles if t.startswith(("Replace nose", "Remove nose"))], titles
        finally:
            await server.close_status_client()


def test_maintenance_is_off_by_default() -> None:
    assert SbomEnrichServer(env={}).settings.maintenance is False


def many_projects(count: int) -> tuple[list[ProjectSpec], FakeForge]:
    """``count`` active projects on the index, each with a GitHub repository on the fake forge
    (found through the JSON project API: a requirements file names no repository)."""
    names = [f"project{number}" for number in range(count)]
    specs = [ProjectSpec(name, files=release(name, "1.0")) for name in names]
    forge = FakeForge(
        github={f"owner{n}/repo{n}": FakeRepo() for n in range(count)},
        projects={
            name: {"info": {"project_urls": {"Source": f"https://github.com/owner{n}/repo{n}"}}}
            for n, name in enumerate(names)
        },
    )
    return specs, forge


def maintenance_server(forge: FakeForge, index_url: str, cache_dir: Path) -> SbomEnrichServer:
    env = {
        "SBOM_ENRICH_GITHUB_API_URL": f"{forge.url}/github",
        "SBOM_ENRICH_PROJECT_API_URL": f"{forge.url}/pypi",
        "GITHUB_TOKEN": "ghp_lsp_token",
    }
    server = SbomEnrichServer(env=env)
    server.settings = LspSettings(
        client=ClientSettings(index_url=index_url, cache_dir=cache_dir), maintenance=True
    )
    server.protocol._workspace = Workspace(None)
    return server


async def test_repositories_are_asked_in_batches_of_a_hundred_without_holding_diagnostics(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make_index_server: MakeIndexServer
) -> None:
    count = 150
    specs, forge = many_projects(count)
    specs.append(ProjectSpec("old-lib", status="deprecated", files=release("old-lib", "1.0")))
    index = make_index_server(specs)
    forge.hold = threading.Event()  # no forge answer until the index's diagnostics are out
    with forge:
        server = maintenance_server(forge, index.url, tmp_path / "cache")
        published: list[tuple[types.PublishDiagnosticsParams, int]] = []
        monkeypatch.setattr(
            server,
            "text_document_publish_diagnostics",
            lambda params: published.append((params, len(server.maintenance))),
        )
        monkeypatch.setattr(server, "window_log_message", lambda _: None)
        uri = (tmp_path / "requirements.txt").as_uri()
        text = "".join(f"{spec.name}==1.0\n" for spec in specs)
        server.workspace.put_text_document(
            types.TextDocumentItem(uri=uri, language_id="pip", version=1, text=text)
        )
        try:
            await server.status_client()
            assert server.survey_batches is not None
            # Batches go when full or when the index lookups are done, not on a timer here.
            server.survey_batches.max_wait = 3600
            await server.refresh(uri)

            def index_diagnostics() -> bool:
                return any(
                    d.code == "sbom-enrich/deprecated" for p, _ in published for d in p.diagnostics
                )

            # The index's diagnostics are published while every forge answer is still held.
            await wait_until(index_diagnostics)
            assert server.maintenance == {}
            forge.hold.set()
            await wait_until(lambda: len(server.maintenance) == count + 1)
            verdicts = [a.verdict.verdict.value for a in server.maintenance.values()]
        finally:
            forge.hold.set()
            await server.close_status_client()
    assert verdicts.count("active") == count  # old-lib has no repository: unknown
    # 150 GitHub repositories: two GraphQL requests (100 + 50), not one per dependency.
    assert forge.count("/github/graphql") == 2
    assert forge.count("/github/repos") == 0
    # The JSON project API has no batch form: one request per project (no repository named).
    assert forge.count("/pypi/") == count + 1


async def test_projects_the_index_cache_answers_get_their_verdict_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make_index_server: MakeIndexServer
) -> None:
    specs, forge = many_projects(3)
    index = make_index_server(specs)
    uri = (tmp_path / "requirements.txt").as_uri()
    text = "".join(f"{spec.name}==1.0\n" for spec in specs)

    async def session() -> int:
        server = maintenance_server(forge, index.url, tmp_path / "cache")
        monkeypatch.setattr(server, "text_document_publish_diagnostics", lambda _: None)
        monkeypatch.setattr(server, "window_log_message", lambda _: None)
        server.workspace.put_text_document(
            types.TextDocumentItem(uri=uri, language_id="pip", version=1, text=text)
        )
        try:
            await server.refresh(uri)
            await wait_until(lambda: len(server.maintenance) == 3)
            return len(server.maintenance)
        finally:
            await server.close_status_client()

    with forge:
        assert await session() == 3
        # A new session finds the index answers in the disk cache: no lookup completes, and
        # the verdicts must come all the same.
        assert await session() == 3
    assert index.stats.by_project["project0"] == 1
    assert forge.count("/github/graphql") == 1  # the second answers from the repository cache


async def test_survey_batches_fill_send_when_idle_and_never_ask_twice() -> None:
    from lsp.survey_batches import SurveyBatches
    from sbom_enrich.status.model import ProjectStatus
    from sbom_enrich.status.repository.survey import MaintenanceQuestion

    asked: list[list[str]] = []
    release_answers = asyncio.Event()

    async def ask(questions: list[MaintenanceQuestion]) -> None:
        asked.append([q.name for q in questions])
        await release_answers.wait()

    tasks: list[asyncio.Task[object]] = []

    def spawn(work: Any) -> asyncio.Task[Any]:
        tasks.append(asyncio.ensure_future(work))
        return tasks[-1]

    batches = SurveyBatches(ask, spawn, size=2, max_wait=3600)
    for name in ["a", "b", "c", "a", "b"]:
        batches.add(MaintenanceQuestion(name, ProjectStatus.ACTIVE, None))
    await asyncio.sleep(0)
    assert asked == [["a", "b"]]  # full: sent at once; "c" waits for more or for idle
    batches.send_when_idle()
    await asyncio.sleep(0)
    assert asked == [["a", "b"], ["c"]]
    batches.add(MaintenanceQuestion("a", ProjectStatus.ACTIVE, None))  # still being asked
    batches.send_when_idle()
    assert batches.batches_sent == 2
    release_answers.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    assert "a" not in batches  # answered: the server's own map keeps it from now on


async def test_a_bad_forge_setting_turns_maintenance_off_with_one_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, index_server: IndexServer
) -> None:
    env = {
        "SBOM_ENRICH_GITLAB_API_URL": "https://git.example.org/api/v4",
        "SBOM_ENRICH_GITEA_API_URL": "https://git.example.org/api/v1",
    }
    server = SbomEnrichServer(env=env)
    server.settings = LspSettings(
        client=ClientSettings(index_url=index_server.url, cache_dir=tmp_path / "cache"),
        maintenance=True,
    )
    messages: list[types.ShowMessageParams] = []
    monkeypatch.setattr(server, "window_show_message", messages.append)
    try:
        status = await server.status_client()
        record = await status.lookup("nose")  # the index still answers
    finally:
        await server.close_status_client()
    assert record.status.value == "deprecated"
    [message] = messages
    assert "maintenance is off" in message.message and "git.example.org" in message.message
    assert server.survey_batches is None


def forge_env(forge: FakeForge) -> dict[str, str]:
    """The server's environment: the fake forge and JSON API, no token or setting of ours."""
    kept = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SBOM_ENRICH_", "GITHUB_", "GITLAB_", "GITEA_", "GH_"))
    }
    return {
        **kept,
        "SBOM_ENRICH_GITHUB_API_URL": f"{forge.url}/github",
        "SBOM_ENRICH_PROJECT_API_URL": f"{forge.url}/pypi",
    }


async def test_a_package_locked_from_a_private_index_is_not_judged_by_its_namesake(
    tmp_path: Path, index_server: IndexServer, make_index_server: MakeIndexServer
) -> None:
    """A uv.lock takes "nose" from a private index; the configured index's nose, which a
    requirements file names, is another project. The editor gave the private one the public
    nose's verdict (a stale hint on its name) and its maintainers' recommendation, asked by
    name only; `check` judges each on its own index. Real server over stdio."""
    private = make_index_server(
        [ProjectSpec("nose", status="archived", files=release("nose", "2"))]
    )
    lock_text = (
        'version = 1\n\n[[package]]\nname = "nose"\nversion = "2"\n'
        f'source = {{ registry = "{private.url}" }}\n'
    )
    (tmp_path / "uv.lock").write_text(lock_text)
    with nose_forge() as forge:
        config = ClientServerConfig(
            server_command=SERVER_COMMAND,
            client_factory=make_recording_client,
            server_env=forge_env(forge),
        )
        client = await config.start()
        try:
            options = {
                "indexUrl": index_server.url,
                "cacheDir": str(tmp_path / "cache"),
                "maintenance": True,
                "debounceMs": 50,
            }
            await initialize(client, push_capabilities(), options)
            lock = open_document(client, tmp_path / "uv.lock", lock_text)
            requirements = open_document(client, tmp_path / "requirements.txt", "nose==1.3.7\n")

            def codes(uri: str) -> set[str]:
                return {str(d.code) for d in client.diagnostics.get(uri, [])}

            async def maintenance_shown() -> str:
                while "Maintenance" not in (text := await hover_text(client, requirements, 0)):
                    await asyncio.sleep(0.05)
                return text

            # The public nose is judged by its own repository and releases: stale, a hint.
            public = await asyncio.wait_for(maintenance_shown(), WAIT_TIMEOUT)
            assert "Maintenance (repository and release age): **stale**" in public
            await wait_until(lambda: "sbom-enrich/stale" in codes(requirements))
            assert "- **requests** — recommended by its maintainers" in public
            await answered(client)  # the lock's publish of the same answers has arrived
            assert codes(lock) == {"sbom-enrich/archived"}  # the private index's status only
            line = lock_text.splitlines().index('name = "nose"')
            hover = await client.text_document_hover_async(
                types.HoverParams(
                    text_document=types.TextDocumentIdentifier(uri=lock),
                    position=types.Position(line=line, character=9),
                )
            )
            assert hover is not None and isinstance(hover.contents, types.MarkupContent)
            locked = hover.contents.value
            assert "**archived**" in locked
            assert "Maintenance (repository and release age): **unknown** — not surveyed" in (
                locked
            )
            assert "recommended by its maintainers" not in locked
        finally:
            await client.shutdown_session()
            await client.stop()
    # One question about nose to the public project API: the public one's.
    assert forge.count("/pypi/nose/json") == 1


async def test_a_failed_project_api_shows_unknown_never_active(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make_index_server: MakeIndexServer
) -> None:
    """A requirements file names no repository: the project API is how one is found. When it
    failed, a project with a recent release was shown "active" in hover."""
    from datetime import datetime, timedelta, timezone

    recent = (datetime.now(timezone.utc) - timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    files = release("fresh", "1.0", upload_time=recent)
    index = make_index_server([ProjectSpec("fresh", files=files)])
    with FakeForge() as forge:
        forge.raw["/pypi/fresh/json"] = (500, b"oops")
        server = maintenance_server(forge, index.url, tmp_path / "cache")
        monkeypatch.setattr(server, "text_document_publish_diagnostics", lambda _: None)
        monkeypatch.setattr(server, "window_log_message", lambda _: None)
        uri = (tmp_path / "requirements.txt").as_uri()
        server.workspace.put_text_document(
            types.TextDocumentItem(uri=uri, language_id="pip", version=1, text="fresh==1.0\n")
        )
        try:
            await server.refresh(uri)
            await wait_until(lambda: "fresh" in server.maintenance)
            hover = server.hover(uri, types.Position(line=0, character=1))
        finally:
            await server.close_status_client()
    assert hover is not None
    text = hover.contents.value  # type: ignore[union-attr]
    assert "Maintenance (repository and release age): **unknown**" in text, text
    assert "project API: HTTP 500" in text


async def test_a_name_from_git_beside_one_from_the_index_gets_no_verdict(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, index_server: IndexServer
) -> None:
    """The same name from git and from the index: the index's nose is surveyed (for its
    line); the git line shows neither its verdict (hover) nor a diagnostic for it."""
    with nose_forge() as forge:
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
        text = "nose @ git+https://git.example/corp/nose@v1 ; python_version < '3'\nnose==1.3.7\n"
        server.workspace.put_text_document(
            types.TextDocumentItem(uri=uri, language_id="pip", version=1, text=text)
        )

        def stale_lines() -> list[int]:
            last = published[-1].diagnostics if published else []
            return [d.range.start.line for d in last if d.code == "sbom-enrich/stale"]

        try:
            await server.refresh(uri)
            await wait_until(lambda: bool(stale_lines()))
            assert stale_lines() == [1]
            from_git = server.hover(uri, types.Position(line=0, character=1))
            from_index = server.hover(uri, types.Position(line=1, character=1))
        finally:
            await server.close_status_client()
    assert from_git is not None and from_index is not None
    assert "Maintenance" not in from_git.contents.value  # type: ignore[union-attr]
    assert "**stale**" in from_index.contents.value  # type: ignore[union-attr]
    assert forge.count("/pypi/nose/json") == 1


async def test_a_lock_name_asked_on_the_configured_index_only_as_a_namesake_is_not_surveyed(
    tmp_path: Path, index_server: IndexServer, make_index_server: MakeIndexServer
) -> None:
    """A uv.lock takes "nose" from a private index the settings do not name: its name is asked
    on the configured index too (a quarantine there is shown), but no verdict comes from that
    answer, so the name goes to no forge or project API — as `check` surveys no namesake."""
    private = make_index_server([ProjectSpec("nose", files=release("nose", "2"))])
    lock_text = (
        'version = 1\n\n[[package]]\nname = "nose"\nversion = "2"\n'
        f'source = {{ registry = "{private.url}" }}\n'
    )
    with nose_forge() as forge:
        config = ClientServerConfig(
            server_command=SERVER_COMMAND,
            client_factory=make_recording_client,
            server_env=forge_env(forge),
        )
        client = await config.start()
        try:
            options = {
                "indexUrl": index_server.url,
                "cacheDir": str(tmp_path / "cache"),
                "maintenance": True,
                "debounceMs": 50,
            }
            await initialize(client, push_capabilities(), options)
            open_document(client, tmp_path / "uv.lock", lock_text)
            await wait_until(lambda: index_server.stats.by_project.get("nose", 0) >= 1)
            await answered(client)
            # A name of the configured index's own, surveyed after the lock's answers: a
            # survey of the namesake would have gone out first.
            requirements = open_document(client, tmp_path / "requirements.txt", "requests\n")

            async def maintenance_shown() -> str:
                while "Maintenance" not in (text := await hover_text(client, requirements, 0)):
                    await asyncio.sleep(0.05)
                return text

            await asyncio.wait_for(maintenance_shown(), WAIT_TIMEOUT)
        finally:
            await client.shutdown_session()
            await client.stop()
    assert forge.count("/pypi/requests/json") == 1
    assert forge.count("/pypi/nose/json") == 0
