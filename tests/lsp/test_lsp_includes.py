"""A requirements file's -r/-c lines in the editor: the files they lead to are checked (as
`check` checks them) and told on the include line; a hostile include costs that include."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import pytest_lsp
from lsp_e2e_support import (
    SERVER_COMMAND,
    initialize,
    make_recording_client,
    open_document,
    push_capabilities,
    wait_until,
)
from lsp_fixtures import lines_of, manifest_of, record
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from indexserver import IndexServer
from lsp.includes import IncludeReader, include_boundary, included_diagnostics, read_included
from lsp.lsp_settings import LspSettings
from sbom_enrich.manifests import Include
from sbom_enrich.manifests.kinds import MAX_MANIFEST_BYTES


def include_of(text: str) -> Include:
    (include,) = manifest_of(text).includes
    return include


def test_what_an_include_leads_to_is_read_once_each_loop_and_all(tmp_path: Path) -> None:
    document = tmp_path / "requirements.txt"
    (tmp_path / "base.txt").write_text("pycrypto\n-r nested/more.txt\n-r base.txt\n")
    (tmp_path / "nested").mkdir()
    # A loop back to base.txt, and to the open document itself (the editor has its text).
    (tmp_path / "nested" / "more.txt").write_text(
        "nose==1.3.6\n-r ../base.txt\n-r ../requirements.txt\n"
    )
    document.write_text("on-disk-only\n")
    included = read_included(document, include_of("-r base.txt\n"), tmp_path)
    assert [r.name for r in included.requirements] == ["pycrypto", "nose"]
    assert included.problems == ()


def test_a_url_an_included_file_includes_is_one_problem_credentials_removed(
    tmp_path: Path,
) -> None:
    (tmp_path / "base.txt").write_text("nose\n-c https://u:t0ken@example.invalid/c.txt\n")
    included = read_included(tmp_path / "requirements.txt", include_of("-r base.txt\n"), tmp_path)
    assert [r.name for r in included.requirements] == ["nose"]
    assert included.problems == (
        "base.txt:2: not following the URL include https://example.invalid/c.txt: its "
        "requirements are not checked (pip fetches it; a run never does: download it and "
        "name the file)",
    )


@pytest.mark.parametrize(
    ("line", "make", "expected"),
    [
        ("-r missing.txt", None, "included file missing.txt: no such file"),
        ("-r ../outside.txt", "outside", "leads outside"),
        ("-r pipe.txt", "fifo", "not a regular file"),
        ("-r big.txt", "big", "larger than 64 MB"),
        ("-r /dev/zero", None, "leads outside"),
        ("-r https://example.invalid/r.txt", None, "not following the URL include"),
        ("-c bad.txt", "bad", "bad.txt:2: Invalid requirement"),
    ],
)
def test_a_hostile_include_is_one_problem_and_never_read(
    tmp_path: Path, line: str, make: str | None, expected: str
) -> None:
    """A FIFO would hang the server, /dev/zero or a huge file fill its memory, and a file
    outside the workspace (~/.netrc) is nobody's business: each is one problem, not read."""
    workspace = tmp_path / "ws"
    workspace.mkdir()
    if make == "outside":
        (tmp_path / "outside.txt").write_text("secret\n")
    elif make == "fifo":
        os.mkfifo(workspace / "pipe.txt")  # opening it for reading would wait for a writer
    elif make == "big":
        with (workspace / "big.txt").open("wb") as sparse:
            sparse.truncate(MAX_MANIFEST_BYTES + 1)
    elif make == "bad":
        (workspace / "bad.txt").write_text("nose\nnot a requirement!\n")
    included = read_included(workspace / "requirements.txt", include_of(line + "\n"), workspace)
    assert len(included.problems) == 1 and expected in included.problems[0], included.problems
    assert "secret" not in repr(included)


def test_the_boundary_is_the_workspace_folder_else_the_project_root(tmp_path: Path) -> None:
    project = tmp_path / "repo"
    (project / ".git").mkdir(parents=True)
    (project / "sub").mkdir()
    document = project / "sub" / "requirements.txt"
    assert include_boundary(document, []) == project.resolve()
    assert include_boundary(document, [tmp_path, project / "sub"]) == project / "sub"
    assert include_boundary(document, [tmp_path / "elsewhere"]) == project.resolve()


def test_the_include_line_tells_what_the_included_files_hold(tmp_path: Path) -> None:
    text = "-r base.txt\nrequests\n"
    (tmp_path / "base.txt").write_text(
        "pycrypto\nevil-pkg\nnose==1.3.6\nrequests\nflaky\ngone\nignored  # sbom-enrich: ignore\n"
    )
    (included,) = IncludeReader().included(
        tmp_path / "requirements.txt", manifest_of(text), tmp_path
    )
    records = {
        "pycrypto": record("pycrypto", "archived"),
        "evil-pkg": record("evil-pkg", "quarantined"),
        "nose": record("nose", "deprecated", versions=("1.3.6",), yanked={"1.3.6": ""}),
        "requests": record("requests", "active"),
        "flaky": record("flaky", "unknown", error="connection refused"),
        # "gone": no answer yet: left out, as on a line of the document
        "ignored": record("ignored", "quarantined"),
    }
    found = included_diagnostics(included, records, LspSettings(), lines_of(text), "utf-16")
    assert {str(d.code): d.message for d in found} == {
        "sbom-enrich/quarantined": "base.txt: 1 of 6 packages quarantined: evil-pkg",
        "sbom-enrich/archived": "base.txt: 1 of 6 packages archived: pycrypto",
        "sbom-enrich/deprecated": "base.txt: 1 of 6 packages deprecated: nose",
        "sbom-enrich/yanked": "base.txt: pinned versions yanked: nose==1.3.6",
        "sbom-enrich/not-checked": (
            "base.txt: 1 of 6 packages could not be checked (flaky): connection refused"
        ),
    }
    assert all(d.range.start == types.Position(line=0, character=3) for d in found)
    assert found[0].severity == types.DiagnosticSeverity.Error


def test_an_included_file_is_read_again_once_it_changes(tmp_path: Path) -> None:
    reader = IncludeReader()
    document, parsed = tmp_path / "requirements.txt", manifest_of("-r base.txt\n")
    (tmp_path / "base.txt").write_text("pycrypto\n")
    (first,) = reader.included(document, parsed, tmp_path)
    assert reader.included(document, parsed, tmp_path) == (first,) and not first.changed()
    (tmp_path / "base.txt").write_text("pycrypto\nnose\n")
    assert first.changed()
    (second,) = reader.included(document, parsed, tmp_path)
    assert [r.name for r in second.requirements] == ["pycrypto", "nose"]


# -- the real server -------------------------------------------------------------------------


@pytest_lsp.fixture(
    config=ClientServerConfig(server_command=SERVER_COMMAND, client_factory=make_recording_client)
)
async def client(lsp_client: LanguageClient, index_server: IndexServer, tmp_path: Path):
    options = {"indexUrl": index_server.url, "cacheDir": str(tmp_path / "cache"), "debounceMs": 20}
    await initialize(lsp_client, push_capabilities(), options)
    yield
    await lsp_client.shutdown_session()


def on_line(client: LanguageClient, uri: str, line: int) -> dict[str, str]:
    return {
        str(d.code): d.message
        for d in client.diagnostics.get(uri, [])
        if d.range.start.line == line
    }


async def test_the_editor_checks_what_a_requirements_file_includes(
    client: LanguageClient, tmp_path: Path
) -> None:
    """The CLI's check followed -r and -c; the editor showed only the open file, and an
    archived or quarantined package in base.txt looked fine there."""
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "base.txt").write_text("pycrypto\nrequests\n")
    (workspace / "constraints.txt").write_text("evil-pkg==1.0\n")
    text = "-r base.txt\n-c constraints.txt\n-r ../outside.txt\nrequests\n"
    uri = open_document(client, workspace / "requirements.txt", text)
    await wait_until(lambda: "sbom-enrich/archived" in on_line(client, uri, 0))
    assert on_line(client, uri, 0) == {
        "sbom-enrich/archived": "base.txt: 1 of 2 packages archived: pycrypto"
    }
    await wait_until(lambda: on_line(client, uri, 1))
    assert on_line(client, uri, 1) == {
        "sbom-enrich/quarantined": "constraints.txt: 1 of 1 packages quarantined: evil-pkg"
    }
    outside = on_line(client, uri, 2)["sbom-enrich/invalid-requirement"]
    assert outside.startswith("../outside.txt: not all of it is checked: included file")
    assert "leads outside" in outside

    # base.txt saved in the editor with another package: the include line follows.
    (workspace / "base.txt").write_text("requests\nnose\n")
    client.text_document_did_save(
        types.DidSaveTextDocumentParams(
            text_document=types.TextDocumentIdentifier(uri=(workspace / "base.txt").as_uri())
        )
    )
    await wait_until(lambda: "sbom-enrich/deprecated" in on_line(client, uri, 0))
    assert on_line(client, uri, 0) == {
        "sbom-enrich/deprecated": "base.txt: 1 of 2 packages deprecated: nose"
    }
