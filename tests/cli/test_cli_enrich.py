"""`sbom-enrich enrich|status|cache` through main(): exit codes, outputs, bad input, faults."""

from __future__ import annotations

import gc
import io
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from indexserver import Fault, IndexServer, ProjectSpec, release
from sbom_enrich.cli import ENV_TWINS, main

DATA = Path(__file__).resolve().parent.parent / "data" / "sboms"
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sbom.cdx.json"
PREFIX = "sbom-enrich:"


class Run:
    def __init__(self, code: int, stdout: bytes, stderr: str) -> None:
        self.code, self.stdout, self.stderr = code, stdout, stderr


@pytest.fixture
def cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Callable[..., Run]:
    def run(*argv: str, stdin: bytes = b"", env: dict[str, str] | None = None) -> Run:
        out = io.BytesIO()
        base = {"SBOM_ENRICH_CACHE_DIR": str(tmp_path / "cache"), "HOME": str(tmp_path)}
        code = main(list(argv), env={**base, **(env or {})}, stdin=io.BytesIO(stdin), stdout=out)
        return Run(code, out.getvalue(), capsys.readouterr().err)

    return run


def props(component: dict[str, object]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for prop in component.get("properties", []):  # type: ignore[union-attr]
        found.setdefault(prop["name"], []).append(prop["value"])
    return found


def bom(components: list[dict[str, object]], spec: str = "1.6") -> bytes:
    return json.dumps(
        {"bomFormat": "CycloneDX", "specVersion": spec, "version": 1, "components": components}
    ).encode()


def comp(name: str, version: str, **extra: object) -> dict[str, object]:
    return {"type": "library", "name": name, "version": version,
            "purl": f"pkg:pypi/{name}@{version}", **extra}  # fmt: skip


def test_enrich_writes_every_property_and_passes_policy(
    cli: Callable[..., Run], index_server: IndexServer, tmp_path: Path
) -> None:
    source = bom([
        comp("requests", "2.32.0"), comp("pycrypto", "2.6.1"), comp("nose", "1.3.7"),
        comp("ghost", "1.0"), comp("old-api", "1.0"),
    ])  # fmt: skip
    out = tmp_path / "out.json"
    summary = tmp_path / "summary.json"
    run = cli("enrich", "-", "-o", str(out), "--index-url", index_server.url,
              "--summary-json", str(summary), stdin=source)  # fmt: skip
    assert run.code == 0, run.stderr
    doc = json.loads(out.read_text())
    by_name = {c["name"]: props(c) for c in doc["components"]}
    assert by_name["requests"][f"{PREFIX}pypi:project-status"] == ["active"]
    assert by_name["requests"][f"{PREFIX}pypi:version-yanked"] == ["true"]
    assert "CVE-2024-35195" in by_name["requests"][f"{PREFIX}pypi:version-yanked-reason"][0]
    assert by_name["requests"][f"{PREFIX}pypi:latest-version"] == ["2.32.3"]
    assert by_name["pycrypto"][f"{PREFIX}pypi:project-status"] == ["archived"]
    assert by_name["pycrypto"][f"{PREFIX}alternative"] == ["pycryptodome"]
    assert by_name["nose"][f"{PREFIX}pypi:project-status-reason"] == [
        "Unmaintained since 2015; use pytest"
    ]
    assert by_name["ghost"][f"{PREFIX}pypi:project-status"] == ["not-found"]
    assert by_name["old-api"][f"{PREFIX}pypi:project-status"] == ["unknown"]
    assert f"{PREFIX}pypi:lookup-error" not in by_name["old-api"]
    for values in by_name.values():
        assert values[f"{PREFIX}pypi:index"] == [index_server.url]
        assert values[f"{PREFIX}pypi:checked-at"][0].endswith("Z")
    assert doc["version"] == 2
    tools = doc["metadata"]["tools"]["components"]
    assert [t["name"] for t in tools] == ["sbom-enrich"]
    assert "pycrypto · 2.6.1 · archived" in run.stderr
    assert "old-api · 1.0 · unknown · the index cannot express project status" in run.stderr
    assert "1 project is unknown because the index cannot express project status" in run.stderr
    assert "alternatives: pycryptodome" in run.stderr
    report = json.loads(summary.read_text())
    assert report["counts"]["archived"] == 1 and report["exit_code"] == 0


def test_rerun_is_idempotent_apart_from_version(
    cli: Callable[..., Run], index_server: IndexServer, tmp_path: Path
) -> None:
    first, second = tmp_path / "1.json", tmp_path / "2.json"
    assert cli("enrich", str(EXAMPLE), "-o", str(first), "--index-url", index_server.url).code == 0
    assert cli("enrich", str(first), "-o", str(second), "--index-url", index_server.url).code == 0
    one, two = json.loads(first.read_text()), json.loads(second.read_text())
    assert two["version"] == one["version"] + 1
    two["version"] = one["version"]
    assert one == two  # same properties (fresh cache: same checked-at), one tool entry


@pytest.mark.parametrize(
    ("fail_on", "expected"),
    [("quarantined", 1), ("archived", 1), ("yanked", 1), ("deprecated,not-found", 1),
     ("none", 0), ("active", 1)],
)  # fmt: skip
def test_fail_on_policy(
    cli: Callable[..., Run], index_server: IndexServer, fail_on: str, expected: int
) -> None:
    source = bom([comp("requests", "2.32.0"), comp("pycrypto", "2.6.1"), comp("nose", "1.3.7")])
    if fail_on.startswith("quarantined"):
        source = bom([comp("evil-pkg", "0.0.1"), comp("requests", "2.32.3")])
    run = cli("enrich", "-", "--index-url", index_server.url, "--fail-on", fail_on, stdin=source)
    assert run.code == expected, run.stderr
    assert run.stdout  # the enriched SBOM is written even when the policy fails
    if expected:
        assert "policy: FAILED" in run.stderr


def test_default_policy_fails_on_quarantined_only(
    cli: Callable[..., Run], index_server: IndexServer
) -> None:
    clean = cli("enrich", "-", "--index-url", index_server.url,
                stdin=bom([comp("pycrypto", "2.6.1"), comp("nose", "1.3.7")]))  # fmt: skip
    assert clean.code == 0
    bad = cli("enrich", "-", "--index-url", index_server.url, stdin=bom([comp("evil-pkg", "1")]))
    assert bad.code == 1


def test_fail_on_env_twin_and_flag_precedence(
    cli: Callable[..., Run], index_server: IndexServer
) -> None:
    source = bom([comp("pycrypto", "2.6.1")])
    env = {"SBOM_ENRICH_FAIL_ON": "archived", "SBOM_ENRICH_INDEX_URL": index_server.url}
    assert cli("enrich", "-", stdin=source, env=env).code == 1
    assert cli("enrich", "-", "--fail-on", "none", stdin=source, env=env).code == 0


def test_failed_lookups_exit_3_unless_allowed_and_violations_win(
    cli: Callable[..., Run], index_server: IndexServer
) -> None:
    index_server.fault_all = Fault.SERVER_ERROR
    source = bom([comp("nose", "1.3.7")])
    run = cli("enrich", "-", "--index-url", index_server.url, stdin=source)
    assert run.code == 3 and "incomplete" in run.stderr
    doc = json.loads(run.stdout)
    assert props(doc["components"][0])[f"{PREFIX}pypi:lookup-error"][0].startswith("HTTP 500")
    assert cli("enrich", "-", "--index-url", index_server.url, "--allow-incomplete",
               stdin=source).code == 0  # fmt: skip
    index_server.fault_all = None
    mixed = bom([comp("evil-pkg", "1"), comp("nose", "1.3.7")])
    index_server.inject("nose", *[Fault.SERVER_ERROR] * 3)
    assert cli("enrich", "-", "--index-url", index_server.url, "--no-cache", stdin=mixed).code == 1


def test_hanging_index_finishes_within_the_timeout_with_exit_3(
    cli: Callable[..., Run], index_server: IndexServer, tmp_path: Path
) -> None:
    index_server.fault_all = Fault.HANG
    source = bom([comp(f"pkg{i}", "1.0") for i in range(30)])
    out = tmp_path / "out.json"
    run = cli("enrich", "-", "-o", str(out), "--index-url", index_server.url,
              "--timeout", "1", stdin=source)  # fmt: skip
    assert run.code == 3
    statuses = {
        props(c)[f"{PREFIX}pypi:project-status"][0]
        for c in json.loads(out.read_bytes())["components"]
    }  # noqa: E501
    assert statuses == {"unknown"}
    # What ended the wait was the 1 s timeout (then the breaker), not an answer: no wall clock.
    errors = [
        props(c)[f"{PREFIX}pypi:lookup-error"][0]
        for c in json.loads(out.read_bytes())["components"]
    ]
    assert len(errors) == 30 and any("timed out after 1 s" in e for e in errors)


@pytest.mark.parametrize("maintenance", [False, True])
def test_offline_without_a_cache_is_unknown_exit_3_says_so_and_creates_nothing(
    cli: Callable[..., Run], index_server: IndexServer, tmp_path: Path, maintenance: bool
) -> None:
    run = cli("enrich", "-", "--index-url", index_server.url, "--offline",
              *(["--maintenance"] if maintenance else []),
              stdin=bom([comp("nose", "1.3.7")]))  # fmt: skip
    assert run.code == 3
    assert index_server.stats.requests == 0
    error = props(json.loads(run.stdout)["components"][0])[f"{PREFIX}pypi:lookup-error"]
    assert error == ["offline and not in the cache"]
    cache = tmp_path / "cache"
    assert f"offline, and no cache in {cache}" in run.stderr
    assert not cache.exists()  # no empty cache made where the user pointed by mistake


def test_offline_with_an_empty_cache_is_unknown_and_exit_3_without_the_no_cache_warning(
    cli: Callable[..., Run], index_server: IndexServer, tmp_path: Path
) -> None:
    cli("status", "nose", "--index-url", index_server.url)  # the cache exists now
    index_server.stats.requests = 0
    run = cli("enrich", "-", "--index-url", index_server.url, "--offline",
              stdin=bom([comp("pycrypto", "2.6.1")]))  # fmt: skip
    assert run.code == 3 and index_server.stats.requests == 0
    error = props(json.loads(run.stdout)["components"][0])[f"{PREFIX}pypi:lookup-error"]
    assert error == ["offline and not in the cache"]
    assert "no cache in" not in run.stderr


def test_second_run_uses_the_cache_and_offline_says_how_old(
    cli: Callable[..., Run], index_server: IndexServer
) -> None:
    source = bom([comp("nose", "1.3.7"), comp("pycrypto", "2.6.1")])
    assert cli("enrich", "-", "--index-url", index_server.url, stdin=source).code == 0
    requests_after_first = index_server.stats.requests
    assert cli("enrich", "-", "--index-url", index_server.url, stdin=source).code == 0
    assert index_server.stats.requests == requests_after_first
    offline = cli("enrich", "-", "--index-url", index_server.url, "--offline", stdin=source)
    assert offline.code == 0 and "2 answers from the cache (oldest" in offline.stderr


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"", "empty"),
        (b"\x00\x01\x02garbage", ""),
        (b'{"hello": "world"}', "CycloneDX"),
        (b'{"bomFormat": "CycloneDX", "specVersion": "1.2", "components": []}', "1.2"),
        (b'{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [', ""),
        (b'<?xml version="1.0"?><!DOCTYPE bom [<!ENTITY a "aaaa">]>'
         b'<bom xmlns="http://cyclonedx.org/schema/bom/1.6">&a;</bom>', ""),
    ],
)  # fmt: skip
def test_bad_input_is_one_line_exit_2_and_nothing_written(
    cli: Callable[..., Run], index_server: IndexServer, tmp_path: Path, payload: bytes, message: str
) -> None:
    out = tmp_path / "out.json"
    out.write_text("previous content")
    source = tmp_path / "in.json"
    source.write_bytes(payload)
    run = cli("enrich", str(source), "-o", str(out), "--index-url", index_server.url)
    assert run.code == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sbom-enrich: error:"), run.stderr
    assert message.lower() in lines[0].lower()
    assert "Traceback" not in run.stderr
    assert out.read_text() == "previous content"
    assert index_server.stats.requests == 0
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.json")]


@pytest.mark.parametrize(
    "name", ["bom-examples-laravel-1.1.xml", "bom-examples-juice-shop-1.2.json"]
)
def test_old_spec_corpus_files_are_refused(
    cli: Callable[..., Run], tmp_path: Path, name: str
) -> None:
    out = tmp_path / "out"
    run = cli("enrich", str(DATA / name), "-o", str(out), "--offline")
    assert run.code == 2 and not out.exists()
    assert "1.3" in run.stderr
    assert run.stderr.count(name) == 1  # the file is named once


@pytest.mark.parametrize(
    "argv",
    [
        ["enrich"],
        ["enrich", "x.json", "--fail-on", "bogus"],
        ["enrich", "x.json", "--fail-on", "none,archived"],
        ["enrich", "x.json", "--concurrency", "0"],
        ["enrich", "x.json", "--timeout", "soon"],
        ["enrich", "x.json", "--index-url", "ftp://example"],
        ["enrich", "x.json", "--index-url", "http://[::1/simple/"],
        ["enrich", "x.json", "--index-url", "http://u:secret@host:99999/simple/"],
        ["enrich", "x.json", "--index-url", "http://host/simple/?token=secret"],
        ["enrich", "x.json", "--index-url", "http://host/simple/#secret"],
        ["enrich", "x.json", "--index-url", "http://host/simple/?"],
        # Control characters and white space: refused (they reached logs raw).
        ["enrich", "x.json", "--index-url", "http://u:secret@host/simple/\x1b[2J/"],
        ["enrich", "x.json", "--index-url", "http://host/sim\nple/"],
        ["enrich", "/no/such/file.json"],
        ["enrich", "-", "-o", "/no/such/dir/out.json"],
        ["frobnicate"],
    ],
)
def test_usage_errors_exit_2_with_one_line(cli: Callable[..., Run], argv: list[str]) -> None:
    run = cli(*argv)
    assert run.code == 2
    assert len(run.stderr.strip().splitlines()) == 1, run.stderr
    assert "Traceback" not in run.stderr and "secret" not in run.stderr
    if "--index-url" in argv:
        assert "--index-url" in run.stderr, run.stderr
    if "none,archived" in argv:
        assert "none cannot be combined" in run.stderr, run.stderr
    if any("/simple/?" in arg or "/simple/#" in arg for arg in argv):
        assert "cannot carry a query or fragment" in run.stderr, run.stderr
    if any("\x1b" in arg or "\n" in arg for arg in argv):
        assert "cannot hold white space or control characters" in run.stderr, run.stderr
        assert "\x1b" not in run.stderr


def test_bad_environment_value_is_a_usage_error(cli: Callable[..., Run]) -> None:
    run = cli("enrich", "-", env={"SBOM_ENRICH_CONCURRENCY": "many"}, stdin=bom([]))
    assert run.code == 2 and "SBOM_ENRICH_CONCURRENCY" in run.stderr


def test_an_invalid_purl_name_is_shown_as_written_not_as_another_name(
    cli: Callable[..., Run], index_server: IndexServer, tmp_path: Path
) -> None:
    # Cleaned, "evil\x00" read "evil" and canonicalised ".evil" read "-evil": the line
    # saying "not a valid project name" named valid-looking names the SBOM does not hold.
    sbom = tmp_path / "in.json"
    sbom.write_bytes(bom([
        {"type": "library", "name": "a", "purl": "pkg:pypi/evil%00@1.0"},
        {"type": "library", "name": "b", "purl": "pkg:pypi/.evil@1.0"},
        {"type": "library", "name": "c", "purl": "pkg:pypi/ev%1B%5B31mil@1.0"},
    ]))  # fmt: skip
    env = {"SBOM_ENRICH_INDEX_URL": index_server.url}
    run = cli("enrich", str(sbom), "-o", str(tmp_path / "out.json"), "--report", "-",
              "--report-format", "json", env=env)  # fmt: skip
    assert run.code == 3, run.stderr
    line = next(li for li in run.stderr.splitlines() if "not a valid project name" in li)
    assert line.endswith("(.evil, ev\\x1b…il, evil\\x00)"), line
    assert "\x1b" not in run.stderr and "\x00" not in run.stderr  # escaped, never raw
    names = [c["name"] for c in json.loads(run.stdout)["components"]]
    assert names == ["evil\\x00", ".evil", "ev\\x1b…il"]
    assert index_server.stats.requests == 0


def test_status_of_an_invalid_name_shows_it_as_written(cli: Callable[..., Run]) -> None:
    run = cli("status", "evil\x00", "--offline")
    assert run.code == 2 and "not a valid project name: 'evil\\x00'" in run.stderr, run.stderr


def test_credentials_never_reach_output_or_summary(
    cli: Callable[..., Run], make_index_server: Callable[..., IndexServer], tmp_path: Path
) -> None:
    server = make_index_server(auth=("ci", "t0ken"))
    url = server.url.replace("http://", "http://ci:t0ken@")
    summary = tmp_path / "s.json"
    run = cli("enrich", "-", "--index-url", url, "--summary-json", str(summary), "-vv",
              stdin=bom([comp("nose", "1.3.7")]))  # fmt: skip
    assert run.code == 0, run.stderr
    for text in (run.stdout.decode(), run.stderr, summary.read_text()):
        assert "t0ken" not in text
    assert props(json.loads(run.stdout)["components"][0])[f"{PREFIX}pypi:project-status"] == [
        "deprecated"
    ]


def test_repository_url_only_for_allowed_indexes(
    cli: Callable[..., Run], index_server: IndexServer,
    make_index_server: Callable[..., IndexServer],
) -> None:  # fmt: skip
    other = make_index_server()
    other.set_status("nose", "quarantined")
    purl = f"pkg:pypi/nose@1.3.7?repository_url={other.url}"
    source = bom([{"type": "library", "name": "nose", "version": "1.3.7", "purl": purl}])
    refused = cli("enrich", "-", "--index-url", index_server.url, stdin=source)
    # Refused components are not checked, so the run is incomplete (was exit 0: issue 15).
    assert refused.code == 3 and other.stats.requests == 0
    got = props(json.loads(refused.stdout)["components"][0])
    assert got[f"{PREFIX}pypi:project-status"] == ["unknown"]
    assert "not allowed" in got[f"{PREFIX}pypi:project-status-reason"][0]
    allowed = cli("enrich", "-", "--index-url", index_server.url, "--allow-index", other.url,
                  stdin=source)  # fmt: skip
    assert allowed.code == 1  # quarantined on the other index
    assert other.stats.requests == 1


def test_xml_round_trip_through_the_cli(
    cli: Callable[..., Run], index_server: IndexServer, tmp_path: Path
) -> None:
    out = tmp_path / "out.xml"
    run = cli("enrich", str(DATA / "cyclonedx-py-requirements-1.6.xml"), "-o", str(out),
              "--index-url", index_server.url, "--validate")  # fmt: skip
    assert run.code == 0, run.stderr
    assert b"sbom-enrich:pypi:project-status" in out.read_bytes()


def test_validate_without_the_validation_extra_is_a_usage_error(
    cli: Callable[..., Run], index_server: IndexServer, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    # A None entry in sys.modules is how Python marks a module as not importable.
    monkeypatch.setitem(sys.modules, "cyclonedx", None)
    out = tmp_path / "out.json"
    run = cli("enrich", str(DATA / "cyclonedx-py-environment-1.6.json"), "-o", str(out),
              "--validate")  # fmt: skip
    assert run.code == 2 and not out.exists()
    assert run.stderr.strip() == (
        "sbom-enrich: error: --validate needs the validation extra: "
        "pip install 'sbom-enrich[validation]' (missing: cyclonedx)"
    )


def test_status_command_text_and_json(cli: Callable[..., Run], index_server: IndexServer) -> None:
    run = cli("status", "pycrypto", "requests==2.32.0", "--index-url", index_server.url)
    assert run.code == 0
    text = run.stdout.decode()
    assert "pycrypto · archived" in text and "version yanked" in text
    as_json = cli("status", "nose", "evil-pkg", "--json", "--index-url", index_server.url)
    assert as_json.code == 1  # quarantined fails the default policy
    data = json.loads(as_json.stdout)
    assert [d["status"] for d in data] == ["deprecated", "quarantined"]
    assert cli("status", "not a name!", "--index-url", index_server.url).code == 2


def test_cache_info_and_clear(
    cli: Callable[..., Run], index_server: IndexServer, tmp_path: Path
) -> None:
    cli("status", "nose", "pycrypto", "--index-url", index_server.url)
    info = cli("cache", "info").stdout.decode()
    assert "entries: 2" in info and str(tmp_path / "cache") in info
    assert "removed 2 entries" in cli("cache", "clear").stdout.decode()
    assert "entries: 0" in cli("cache", "info").stdout.decode()


def test_every_flag_with_a_twin_is_documented_in_the_readme() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    for flag, variable in ENV_TWINS.items():
        assert flag in readme and variable in readme, (flag, variable)


def test_console_script_runs_as_a_process(index_server: IndexServer, tmp_path: Path) -> None:
    env = {**os.environ, "SBOM_ENRICH_CACHE_DIR": str(tmp_path / "c")}
    done = subprocess.run(
        [sys.executable, "-m", "sbom_enrich", "enrich", str(EXAMPLE), "--index-url",
         index_server.url],
        capture_output=True, env=env, check=False, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["version"] >= 2


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"metadata": "app"}, "metadata is not an object"),
        ({"metadata": {"tools": "syft"}}, "metadata.tools"),
        ({"metadata": {"tools": {"components": {}}}}, "metadata.tools.components"),
    ],
)
def test_shapes_enrichment_cannot_edit_are_exit_2_before_any_lookup(
    cli: Callable[..., Run],
    index_server: IndexServer,
    tmp_path: Path,
    document: dict[str, object],
    message: str,
) -> None:
    source = tmp_path / "in.json"
    source.write_text(
        json.dumps({"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, **document})
    )
    out = tmp_path / "out.json"
    run = cli("enrich", str(source), "-o", str(out), "--index-url", index_server.url)
    assert run.code == 2, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sbom-enrich: error:"), run.stderr
    assert message in lines[0]
    assert not out.exists()
    assert index_server.stats.requests == 0


def test_a_component_enrichment_cannot_edit_is_left_as_written_and_not_looked_up(
    cli: Callable[..., Run], index_server: IndexServer, tmp_path: Path
) -> None:
    # It used to refuse the whole SBOM (exit 2); now it costs only that component (exit 3).
    document = {"components": [{**comp("requests", "2.31.0"), "properties": {}}]}
    text = json.dumps({"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, **document})
    source = tmp_path / "in.json"
    source.write_text(text)
    out = tmp_path / "out.json"
    run = cli("enrich", str(source), "-o", str(out), "--index-url", index_server.url)
    assert run.code == 3, run.stderr
    assert "invalid-component" in run.stderr and "properties is an object" in run.stderr
    assert out.read_text() == text  # nothing enriched: no tool entry, no version bump
    assert index_server.stats.requests == 0


@pytest.mark.parametrize(
    ("spec", "metadata"),
    [
        ("1.6", None),
        ("1.4", None),
        ("1.6", {"tools": None}),
        ("1.6", {"tools": {"components": None}}),
    ],
)
def test_null_metadata_or_tools_still_get_the_tool_entry(
    cli: Callable[..., Run], index_server: IndexServer, spec: str, metadata: object
) -> None:
    source = {"bomFormat": "CycloneDX", "specVersion": spec, "version": 1, "metadata": metadata,
              "components": [comp("requests", "2.31.0")]}  # fmt: skip
    run = cli("enrich", "-", "--index-url", index_server.url, stdin=json.dumps(source).encode())
    assert run.code == 0, run.stderr
    tools = json.loads(run.stdout)["metadata"]["tools"]
    entries = tools if isinstance(tools, list) else tools["components"]
    assert [entry["name"] for entry in entries] == ["sbom-enrich"]


def test_report_dash_goes_to_stdout_when_the_sbom_goes_to_a_file(
    cli: Callable[..., Run],
    index_server: IndexServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out.json"
    run = cli("enrich", "-", "-o", str(out), "--index-url", index_server.url, "--report", "-",
              "--report-format", "markdown", stdin=bom([comp("pycrypto", "2.6.1")]))  # fmt: skip
    assert run.code == 0, run.stderr
    assert run.stdout.decode().startswith("## sbom-enrich: project status")
    assert json.loads(out.read_text())["version"] == 2
    assert not (tmp_path / "-").exists()
    status = cli("status", "requests", "--index-url", index_server.url, "--report", "-")
    assert status.code == 2 and "--report -" in status.stderr
    assert not (tmp_path / "-").exists()


def test_output_symlink_is_written_through_and_kept(
    cli: Callable[..., Run], index_server: IndexServer, tmp_path: Path
) -> None:
    target = tmp_path / "releases" / "v1.cdx.json"
    target.parent.mkdir()
    target.write_text("old")
    link = tmp_path / "latest.cdx.json"
    link.symlink_to(target)
    run = cli("enrich", "-", "-o", str(link), "--index-url", index_server.url,
              stdin=bom([comp("requests", "2.31.0")]))  # fmt: skip
    assert run.code == 0, run.stderr
    assert link.is_symlink() and link.resolve() == target.resolve()
    assert json.loads(target.read_text())["version"] == 2
    assert [p.name for p in target.parent.iterdir()] == ["v1.cdx.json"]


def _console(index_server: IndexServer, tmp_path: Path) -> tuple[list[str], dict[str, str]]:
    source = tmp_path / "in.json"
    source.write_bytes(bom([comp("evil-pkg", "0.0.1"), *[comp("requests", "2.31.0")] * 2000]))
    env = {**os.environ, "SBOM_ENRICH_CACHE_DIR": str(tmp_path / "c")}
    argv = [sys.executable, "-m", "sbom_enrich", "enrich", str(source), "--index-url",
            index_server.url]  # fmt: skip
    return argv, env


class _ReaderGone(io.BytesIO):
    """Standard output whose reader went away (`sbom-enrich enrich in.json | head -c 10`)."""

    def write(self, data: object) -> int:
        raise BrokenPipeError(32, "Broken pipe")


def test_reader_closing_the_pipe_early_keeps_the_verdict_and_summary(
    index_server: IndexServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = bom([comp("evil-pkg", "0.0.1"), comp("requests", "2.31.0")])
    env = {"SBOM_ENRICH_CACHE_DIR": str(tmp_path / "c"), "HOME": str(tmp_path)}
    summary = tmp_path / "summary.json"
    code = main(["enrich", "-", "--index-url", index_server.url, "--summary-json", str(summary)],
                env=env, stdin=io.BytesIO(source), stdout=_ReaderGone())  # fmt: skip
    assert code == 1  # evil-pkg is quarantined: the policy verdict is not lost
    assert "policy: FAILED" in capsys.readouterr().err
    assert json.loads(summary.read_text())["exit_code"] == 1


def test_closed_stdout_is_one_line_and_exit_2(index_server: IndexServer, tmp_path: Path) -> None:
    argv, env = _console(index_server, tmp_path)
    # `sbom-enrich enrich in.json >&-`
    done = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          preexec_fn=lambda: os.close(1), timeout=60, check=False)  # fmt: skip
    lines = done.stderr.decode().strip().splitlines()
    assert done.returncode == 2, lines
    assert lines == [
        "sbom-enrich: error: cannot write to standard output: standard output is closed"
    ]


SUBJECT_XML = b"""<?xml version="1.0" encoding="UTF-8"?>
<bom xmlns="http://cyclonedx.org/schema/bom/1.6" version="1">
  <metadata><component type="application"><name>my-app</name><version>1.0</version>
    <purl>pkg:pypi/my-app@1.0</purl>
    <components><component type="library"><name>nose</name><version>1.3.7</version>
      <purl>pkg:pypi/nose@1.3.7</purl></component></components>
  </component></metadata>
  <components><component type="library"><name>my-app</name><version>1.0</version>
    <purl>pkg:pypi/my-app@1.0</purl></component></components>
</bom>
"""


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_the_sboms_own_subject_is_labelled(
    cli: Callable[..., Run], index_server: IndexServer, tmp_path: Path, fmt: str
) -> None:
    # metadata.component is the product (often unpublished: not-found); its sub-components and a
    # component of the same name elsewhere are not the subject.
    if fmt == "json":
        document = json.loads(bom([comp("my-app", "1.0")]))
        subject = {**comp("my-app", "1.0"), "components": [comp("nose", "1.3.7")]}
        source = json.dumps({**document, "metadata": {"component": subject}}).encode()
    else:
        source = SUBJECT_XML
    summary = tmp_path / "summary.json"
    run = cli("enrich", "-", "--index-url", index_server.url, "--summary-json", str(summary),
              stdin=source)  # fmt: skip
    assert run.code == 0, run.stderr
    # In document order, which differs: the JSON has "components" before "metadata".
    lines = sorted(line for line in run.stderr.splitlines() if "my-app" in line)
    assert lines == [
        "  my-app · 1.0 · not-found",
        "  my-app · 1.0 · not-found · the SBOM's own subject (metadata.component)",
    ]
    found = json.loads(summary.read_text())["components"]
    assert sorted((f["name"], f["subject"]) for f in found) == [
        ("my-app", False),
        ("my-app", True),
        ("nose", False),
    ]


def enrich_listing_modules(argv: list[str], home: Path) -> tuple[int, set[str], str]:
    """(exit code, top-level modules loaded, stderr) of a whole ``enrich`` process."""
    script = (
        "import json, sys\n"
        "from sbom_enrich.cli import main\n"
        "code = main(sys.argv[1:])\n"
        "print(json.dumps([code, sorted({m.split('.')[0] for m in sys.modules})]))\n"
    )
    code, modules, stderr = run_script(script, ["enrich", *argv], home)
    return code, set(modules), stderr


def run_script(script: str, argv: list[str], home: Path) -> tuple[int, list[str], str]:
    """(exit code, list printed, stderr) of ``script`` (which prints ``[code, list]`` as JSON,
    its last line of output) run with ``argv`` in a fresh interpreter, at home in ``home``."""
    done = subprocess.run(
        [sys.executable, "-c", script, *argv],
        capture_output=True,
        text=True,
        env={**os.environ, "HOME": str(home)},
        cwd=home,
        check=False,
    )
    code, listed = json.loads(done.stdout.splitlines()[-1])
    return code, listed, done.stderr


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_cold_run_loads_only_what_its_input_and_index_need(
    index_server: IndexServer, tmp_path: Path, fmt: str
) -> None:
    """Start-up is part of every run's time: no httpcore/anyio for an http:// index (its own
    transport), no lxml for JSON, no schema validator without --validate."""
    source = EXAMPLE if fmt == "json" else DATA / "cyclonedx-py-requirements-1.6.xml"
    argv = [str(source), "-o", str(tmp_path / "out"), "--index-url", index_server.url,
            "--cache-dir", str(tmp_path / "cache"), "--fail-on", "none"]  # fmt: skip
    code, modules, stderr = enrich_listing_modules(argv, tmp_path)
    assert code == 0, stderr
    assert index_server.stats.full_responses > 0  # cold: it did go to the network
    assert not {"httpcore", "anyio", "jsonschema", "cyclonedx"} & modules
    assert ("lxml" in modules) == (fmt == "xml")


def test_a_warm_offline_run_loads_no_page_parser_purl_library_or_hashing(
    index_server: IndexServer, tmp_path: Path
) -> None:
    """A run answered wholly from the cache parses no index page (html.parser), no purl the
    simple pattern cannot read (packageurl), no Retry-After date (email), writes no SARIF
    (hashlib), finds the user's alternatives file without platformdirs and sizes argparse's
    help without shutil: each was start-up time every warm run paid."""
    argv = [str(EXAMPLE), "-o", str(tmp_path / "out"), "--index-url", index_server.url,
            "--cache-dir", str(tmp_path / "cache"), "--fail-on", "none"]  # fmt: skip
    code, modules, stderr = enrich_listing_modules(argv, tmp_path)  # fills the cache
    assert code == 0, stderr
    code, modules, stderr = enrich_listing_modules([*argv, "--offline"], tmp_path)
    assert code == 0, stderr
    assert "answers from the cache" in stderr
    unneeded = {"html", "packageurl", "email", "hashlib", "secrets", "platformdirs", "shutil"}
    assert not unneeded & modules


_LISTING_ALL = (
    "import json, sys\n"
    "from sbom_enrich.cli import main\n"
    "code = main(sys.argv[1:])\n"
    "print(json.dumps([code, sorted(sys.modules)]))\n"
)

#: What only the other input format needs.
_OTHER_READER = {
    "xml": {"sbom_enrich.enrich.json_sbom", "sbom_enrich.enrich.json_positions"},
    "json": {"sbom_enrich.enrich.xml_sbom", "sbom_enrich.enrich.xml_positions", "lxml"},
}


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_warm_offline_run_imports_only_its_own_reader_and_no_lookup_machinery(
    index_server: IndexServer, tmp_path: Path, fmt: str
) -> None:
    """Importing is part of every run's CPU: an XML run imports no JSON reader (nor the JSON
    position scanner), a JSON run no XML reader or lxml; the finding locator only for a report
    file; an offline run neither the lookup workers' module (it never forks) nor the
    descriptor-limit check of their event loop (``resource``); a run without a maintenance
    survey not the repository model. A report file still gets its locator (the control)."""
    source = EXAMPLE if fmt == "json" else DATA / "cyclonedx-py-requirements-1.6.xml"
    argv = ["enrich", str(source), "-o", str(tmp_path / "out"), "--index-url", index_server.url,
            "--cache-dir", str(tmp_path / "cache"), "--fail-on", "none"]  # fmt: skip
    code, _, stderr = run_script(_LISTING_ALL, argv, tmp_path)  # fills the cache
    assert code == 0, stderr
    code, listed, stderr = run_script(_LISTING_ALL, [*argv, "--offline"], tmp_path)
    assert code == 0, stderr
    assert "answers from the cache" in stderr
    modules = set(listed)
    unneeded = {
        *_OTHER_READER[fmt],
        "sbom_enrich.enrich.locate",
        "sbom_enrich.cli.lookup_workers",
        "resource",
        "sbom_enrich.status.repository.model",
    }
    assert not unneeded & modules
    assert f"sbom_enrich.enrich.{fmt}_sbom" in modules  # the names above are spelled right
    report = ["--report", str(tmp_path / "report.sarif")]
    code, listed, stderr = run_script(_LISTING_ALL, [*argv, "--offline", *report], tmp_path)
    assert code == 0, stderr
    assert {"sbom_enrich.enrich.locate", "sbom_enrich.enrich.json_sbom"} <= set(listed)


#: Before the probes below: ``on_connect()`` is called when an event loop is first asked for a
#: connection, on asyncio's loop or uvloop's (which connects in C, never through
#: ``socket.socket.connect``). Importing both loops here changes none of what the probes
#: look for.
_ON_CONNECT = """
import asyncio.base_events
def _noting(loop_class):
    create_connection = loop_class.create_connection
    async def noting(self, *args, **kwargs):
        on_connect()
        return await create_connection(self, *args, **kwargs)
    loop_class.create_connection = noting
_noting(asyncio.base_events.BaseEventLoop)
try:
    import uvloop
except ImportError:
    pass
else:
    _noting(uvloop.Loop)
"""

#: Run before ``main``: the modules loaded when the process first connects or forks.
_FIRST_REQUEST_PROBE = (
    _ON_CONNECT
    + """
import json, os, sys
first = []
def note():
    if not first:
        first.extend(sorted(sys.modules))
on_connect = note
fork = os.fork
def noting_fork():
    note()
    return fork()
os.fork = noting_fork
from sbom_enrich.cli import main
code = main(sys.argv[1:])
print(json.dumps([code, first]))
"""
)


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_cold_run_loads_before_its_first_request_only_what_the_lookups_need(
    index_server: IndexServer, tmp_path: Path, workers: str
) -> None:
    """What is imported or parsed before the first request (or, with workers, before the fork,
    where nothing runs in parallel) delays every lookup: the shipped alternatives catalog
    (TOML), a pyproject.toml without our table, the other commands and the service's
    settings, the report writers, the HTML page parser for a JSON index wait until they are
    needed, or are never loaded."""
    names = [f"project-{n}" for n in range(250 if workers == "2" else 3)]
    for name in names:
        index_server.add(ProjectSpec(name, files=release(name, "1.0")))
    source = tmp_path / "sbom.json"
    source.write_bytes(bom([comp(name, "1.0") for name in names]))
    # Run from a project without a policy: its pyproject.toml is not parsed either.
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "app"\n\n[tool.ruff]\nfix = true\n')
    argv = ["enrich", str(source), "-o", str(tmp_path / "out"), "--index-url", index_server.url,
            "--cache-dir", str(tmp_path / "cache"), "--fail-on", "none",
            "--workers", workers]  # fmt: skip
    code, first, stderr = run_script(_FIRST_REQUEST_PROBE, argv, tmp_path)
    assert code == 0, stderr
    assert first, "no request was made"
    early = set(first)
    assert not {"tomllib", "html.parser", "sbom_enrich._toml"} & early
    other_commands = {f"sbom_enrich.cli.{name}" for name in ("check", "status", "serve", "monitor")}
    assert not other_commands & early
    assert not {"sbom_enrich.service", "sbom_enrich.status.html_page"} & early
    forge_tables = {"sbom_enrich.status.repository.settings", "sbom_enrich.status.repository.urls"}
    assert not forge_tables & early  # without --maintenance
    report_writers = {
        f"sbom_enrich.formats.{name}" for name in ("text", "json", "markdown", "sarif")
    }
    assert not {*report_writers, "sbom_enrich.findings.graph"} & early


#: ``python -m sbom_enrich`` with the collections made up to its first connect counted.
_COLLECTIONS_PROBE = (
    _ON_CONNECT
    + """
import gc, json, os, runpy, sys
before, counted = sum(g["collections"] for g in gc.get_stats()), []
def on_connect():
    if not counted:
        counted.append(sum(g["collections"] for g in gc.get_stats()) - before)
sys.argv[0] = "sbom-enrich"
try:
    runpy.run_module("sbom_enrich", run_name="__main__", alter_sys=True)
except SystemExit as end:
    print(json.dumps([end.code, counted]))
"""
)


def test_the_program_collects_no_garbage_while_it_imports(
    index_server: IndexServer, tmp_path: Path
) -> None:
    """Started as sbom-enrich for one run, the import of the command line (~50,000 objects
    that live to the end) is not walked by ~35 young collections before the first request:
    the collector is off for it and what it made is frozen, as main() then does anyway."""
    argv = ["enrich", str(EXAMPLE), "-o", str(tmp_path / "out"), "--index-url",
            index_server.url, "--cache-dir", str(tmp_path / "cache"), "--fail-on", "none",
            "--workers", "1"]  # fmt: skip
    code, counted, stderr = run_script(_COLLECTIONS_PROBE, argv, tmp_path)
    assert code == 0, stderr
    assert counted and counted[0] < 5, counted


#: ``python -m sbom_enrich`` telling, as the interpreter exits, what the run left unfreed.
_KEPT_PROBE = """
import atexit, json, runpy, sys
def at_exit():
    from sbom_enrich import _collector
    kept = [type(value).__name__ for values in (_collector._kept or [])[1:] for value in values]
    print(json.dumps([code[0], kept]))
code = [None]
atexit.register(at_exit)
sys.argv[0] = "sbom-enrich"
try:
    runpy.run_module("sbom_enrich", run_name="__main__", alter_sys=True)
except SystemExit as end:
    code[0] = end.code
    raise
"""


def test_the_program_never_frees_what_its_run_made(
    cli: Callable[..., Run], index_server: IndexServer, tmp_path: Path
) -> None:
    """Started as sbom-enrich, the run's document, records and report are held to the end and
    never freed object by object (the process gives the memory back at once); a program that
    calls main() keeps nothing."""
    argv = ["enrich", str(EXAMPLE), "-o", str(tmp_path / "out"), "--index-url",
            index_server.url, "--cache-dir", str(tmp_path / "cache"),
            "--fail-on", "none"]  # fmt: skip
    code, kept, stderr = run_script(_KEPT_PROBE, argv, tmp_path)
    assert code == 0, stderr
    assert {"dict", "JsonSbom", "Report", "bytes", "list"} <= set(kept), kept
    from sbom_enrich import _collector

    run = cli(*argv)
    assert run.code == 0, run.stderr
    assert _collector._kept is None  # noqa: SLF001


@pytest.mark.parametrize("argv", [["--version"], ["--help"], ["nosuchcommand"]])
def test_without_a_command_no_command_is_imported(tmp_path: Path, argv: list[str]) -> None:
    """``--version`` (the start-up the bench compares with uv's), ``--help`` and a typo are
    answered from the list of commands: no command's module is imported or its flags built."""
    script = (
        "import json, sys\n"
        "from sbom_enrich.cli import main\n"
        "try:\n"
        "    code = main(sys.argv[1:])\n"
        "except SystemExit as end:\n"
        "    code = end.code\n"
        "print(json.dumps([code, sorted(sys.modules)]))\n"
    )
    code, modules, stderr = run_script(script, argv, tmp_path)
    assert code in (0, 2), stderr
    commands = {f"sbom_enrich.cli.{name}" for name in ("enrich", "check", "status", "cache")}
    assert not (commands | {"sbom_enrich.cli.serve", "sbom_enrich.cli.monitor"}) & set(modules)


@pytest.mark.parametrize("source", ["good", "not json"])
def test_enrich_leaves_the_garbage_collector_as_it_found_it(
    cli: Callable[..., Run], index_server: IndexServer, tmp_path: Path, source: str
) -> None:
    """The run freezes the parsed document and defers full collections (speed): afterwards,
    in this same process, nothing stays frozen and the thresholds are the caller's again."""
    data = bom([comp("requests", "2.32.0")]) if source == "good" else b"{not json"
    thresholds, enabled = gc.get_threshold(), gc.isenabled()
    run = cli("enrich", "-", "-o", str(tmp_path / "out.json"), "--index-url",
              index_server.url, "--fail-on", "none", stdin=data)  # fmt: skip
    assert run.code == (0 if source == "good" else 2), run.stderr
    assert gc.get_freeze_count() == 0
    assert (gc.get_threshold(), gc.isenabled()) == (thresholds, enabled)
