"""End to end through the CLI: what a hostile index or input file can do to a run, and cannot."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import pytest

from cli_runner import Run
from hostile_pages import HOSTILE_NAMES, QUARANTINED_NAMES, HostilePageServer, hostile_pages
from hostile_text_index import hostile_text_projects
from indexserver import IndexServer
from untrusted_text import HOSTILE, assert_json_safe, assert_terminal_safe


def sbom(*purls: str) -> bytes:
    components = [{"type": "library", "name": "x", "purl": p} for p in purls]
    return json.dumps(
        {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "components": components}
    ).encode()


def test_a_token_in_a_purl_repository_url_never_reaches_the_output(
    cli: Callable[..., Run], index_server: IndexServer, tmp_path: Path
) -> None:
    secret_index = f"{index_server.url}?token=SECRET123"
    purl = f"pkg:pypi/nose@1.3.7?repository_url={quote(secret_index, safe='')}"
    summary = tmp_path / "summary.json"
    done = cli("enrich", "-", "--summary-json", str(summary), stdin=sbom(purl))
    assert done.code == 3  # refused: not an allowed index
    assert "SECRET123" not in done.stderr
    document = json.loads(done.stdout)
    properties = document["components"][0]["properties"]
    assert properties and not any("SECRET123" in p["value"] for p in properties), properties
    data = json.loads(summary.read_text())
    for component in data["components"]:
        # Only the input's own purl, echoed verbatim, may hold it.
        shown = {k: v for k, v in component.items() if k != "purl"}
        assert "SECRET123" not in json.dumps(shown)


def test_index_text_and_input_names_reach_no_output_raw(
    cli: Callable[..., Run], make_index_server: Callable[..., IndexServer], tmp_path: Path
) -> None:
    index = make_index_server(hostile_text_projects())
    in_file_name = HOSTILE.replace("\x00", "").replace("/", "")  # what a file name can hold
    requirements = tmp_path / f"req{in_file_name}.txt"
    requirements.write_text("old-text==1.0\nbad-reason==1.0\nfine==1.0\n")
    summary, markdown, sarif = tmp_path / "s.json", tmp_path / "r.md", tmp_path / "r.sarif"
    argv = ["check", str(requirements), "--summary-json", str(summary), "--fail-on", "deprecated"]
    argv += ["--report", str(markdown), "--report", str(sarif)]
    done = cli(*argv, env={"SBOM_ENRICH_INDEX_URL": index.url})
    assert done.code == 1, done.stderr  # deprecated bad-reason fails the policy
    assert_terminal_safe(done.stderr)
    assert "it speaks Simple API 1.0" in done.stderr and "use other" in done.stderr
    assert_terminal_safe(markdown.read_text())
    assert_json_safe(json.loads(summary.read_text()))
    assert_json_safe(json.loads(sarif.read_text()))
    # An SBOM's names (input) and the same index text, through enrich's properties too.
    purls = ["pkg:pypi/bad-reason@1.0", f"pkg:pypi/{quote(HOSTILE)}@1.0"]
    done = cli("enrich", "-", env={"SBOM_ENRICH_INDEX_URL": index.url}, stdin=sbom(*purls))
    assert done.code == 3, done.stderr  # the invalid name is a failed lookup
    assert_terminal_safe(done.stderr)
    for component in json.loads(done.stdout)["components"]:
        assert_json_safe(component.get("properties", []))


def test_log_lines_go_through_the_sanitiser(capsys: pytest.CaptureFixture[str]) -> None:
    from sbom_enrich.cli.entry import configure_logging

    root = logging.getLogger("sbom_enrich")
    saved = root.handlers[:], root.level, root.propagate
    try:
        configure_logging(0)
        logging.getLogger("sbom_enrich.status.client").warning("index said %s", HOSTILE)
    finally:
        root.handlers[:], root.level, root.propagate = saved
    err = capsys.readouterr().err
    assert err.startswith("sbom-enrich: WARNING: index said click")
    assert_terminal_safe(err)


def test_every_hostile_page_costs_only_its_own_lookup_end_to_end(
    cli: Callable[..., Run], tmp_path: Path
) -> None:
    requirements = tmp_path / "requirements.txt"
    honest = ("fine", "fine-forever", *QUARANTINED_NAMES)
    requirements.write_text("".join(f"{n}\n" for n in (*HOSTILE_NAMES, *honest)))
    summary = tmp_path / "summary.json"
    with HostilePageServer() as index:
        argv = ["check", str(requirements), "--summary-json", str(summary), "--fail-on", "none"]
        done = cli(*argv, env={"SBOM_ENRICH_INDEX_URL": index.url})
    assert done.code == 3, done.stderr  # incomplete: not a traceback (1), not a pass (0)
    assert "Traceback" not in done.stderr
    assert f"incomplete: {len(HOSTILE_NAMES)} lookups failed" in done.stderr
    pages = hostile_pages()
    components = {c["name"]: c for c in json.loads(summary.read_text())["components"]}
    for fine in ("fine", "fine-forever"):
        assert components[fine]["status"] == "active" and not components[fine]["lookup_error"]
    for name in QUARANTINED_NAMES:  # JSON, JSON under a joined type, HTML in UTF-16 and EBCDIC
        assert components[name]["status"] == "quarantined", (name, components[name])
    for name in HOSTILE_NAMES:
        component = components[name]
        assert component["status"] == "unknown", (name, component)
        assert pages[name].error in (component["lookup_error"] or ""), (name, component)


def test_a_token_in_a_manifests_index_url_never_reaches_the_output(
    check: Callable[..., Run], tmp_path: Path
) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(
        "--index-url https://user:PASSWORD@private.example/simple/?token=SECRET123\nnose\n"
    )
    summary = tmp_path / "summary.json"
    done = check(str(requirements), "--summary-json", str(summary))
    assert "names the index https://private.example/simple/?…" in done.stderr, done.stderr
    for text in (done.stderr, summary.read_text()):
        assert "SECRET123" not in text and "PASSWORD" not in text
