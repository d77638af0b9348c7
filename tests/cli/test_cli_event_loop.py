"""The event loop of a command's lookups: uvloop when installed, asyncio's own on request."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from cli_runner import Run
from indexserver import IndexServer

uvloop = pytest.importorskip("uvloop")  # a dependency except on Windows


def loop_line(run: Run) -> str:
    lines = [line for line in run.stderr.splitlines() if "event loop" in line]
    assert len(lines) == 1, run.stderr
    return lines[0]


def test_lookups_run_on_uvloop_by_default(cli: Callable[..., Run]) -> None:
    done = cli("status", "requests", "evil-pkg", "-vv", "--fail-on", "none")
    assert done.code == 0, done.stderr
    assert "event loop uvloop" in loop_line(done)


@pytest.mark.parametrize("value", ["asyncio", "ASYNCIO ", "auto", "uvloop"])
def test_the_environment_chooses_the_event_loop(cli: Callable[..., Run], value: str) -> None:
    done = cli("status", "requests", "-vv", env={"SBOM_ENRICH_EVENT_LOOP": value})
    assert done.code == 0, done.stderr
    expected = "asyncio" if value.strip().lower() == "asyncio" else "uvloop"
    assert f"event loop {expected}" in loop_line(done)


def test_both_loops_give_the_same_answers(cli: Callable[..., Run]) -> None:
    names = ("requests", "pycrypto", "nose", "evil-pkg", "old-api", "no-such-project")
    runs = [
        cli(
            "status",
            *names,
            "--no-cache",
            "--fail-on",
            "none",
            env={"SBOM_ENRICH_EVENT_LOOP": loop},
        )
        for loop in ("asyncio", "uvloop")
    ]
    assert [run.code for run in runs] == [0, 0]
    assert runs[0].stdout == runs[1].stdout
    assert b"quarantined" in runs[0].stdout


def test_an_unknown_event_loop_is_one_clear_line_and_exit_2(cli: Callable[..., Run]) -> None:
    done = cli("status", "requests", env={"SBOM_ENRICH_EVENT_LOOP": "trio\x1b[2J"})
    assert done.code == 2
    assert done.stderr.strip().splitlines() == [
        "sbom-enrich: error: SBOM_ENRICH_EVENT_LOOP: unknown event loop 'trio' "
        "(choose from auto, uvloop, asyncio)"
    ]


def test_uvloop_asked_for_but_missing_is_a_usage_error(
    cli: Callable[..., Run], monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "uvloop", None)  # import uvloop now fails
    done = cli("status", "requests", env={"SBOM_ENRICH_EVENT_LOOP": "uvloop"})
    assert done.code == 2
    assert "SBOM_ENRICH_EVENT_LOOP=uvloop" in done.stderr and "Traceback" not in done.stderr
    fallback = cli("status", "requests", "-vv")  # auto: asyncio's own loop, no complaint
    assert fallback.code == 0, fallback.stderr
    assert "event loop asyncio" in loop_line(fallback)


def uvloop_env(index_server: IndexServer, tmp_path: Path) -> dict[str, str]:
    """The environment of a CLI subprocess that asks for uvloop against ``index_server``."""
    return {
        **os.environ,
        "HOME": str(tmp_path),
        "SBOM_ENRICH_INDEX_URL": index_server.url,
        "SBOM_ENRICH_CACHE_DIR": str(tmp_path / "cache"),
        "SBOM_ENRICH_EVENT_LOOP": "uvloop",
    }


@pytest.mark.parametrize("closed", [0, 2])
def test_a_closed_standard_stream_never_aborts_the_process(
    index_server: IndexServer, tmp_path: Path, closed: int
) -> None:
    # libuv aborts when it closes a socket that got descriptor 0-2 (`sbom-enrich … <&-`):
    # such a run takes asyncio's loop (tests/cli/test_cli_enrich.py has stdout closed).
    env = uvloop_env(index_server, tmp_path)
    argv = [sys.executable, "-m", "sbom_enrich", "status", "requests", "nose", "--fail-on", "none"]
    argv += ["--summary-json", str(tmp_path / "summary.json")]
    done = subprocess.run(argv, env=env, capture_output=True, timeout=60,
                          preexec_fn=lambda: os.close(closed), check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["exit_code"] == 0


@pytest.mark.parametrize(("offline", "loop"), [(False, "uvloop"), (True, "none (offline)")])
def test_enrich_looks_up_on_uvloop_too(cli: Callable[..., Run], offline: bool, loop: str) -> None:
    """enrich runs its lookups in a loop of their own, apart from the edits: that loop is
    the chosen one as well (a merge once left it on asyncio's default). Offline the cache is
    read without any event loop, and asyncio is not even imported."""
    sbom = json.dumps(
        {
            "bomFormat": "CycloneDX",
            "specVersion": "1.6",
            "version": 1,
            "components": [
                {"type": "library", "name": "requests", "version": "2.0",
                 "purl": "pkg:pypi/requests@2.0"},
            ],
        }
    ).encode()  # fmt: skip
    cli("enrich", "-", "--fail-on", "none", stdin=sbom)  # fills the cache for --offline
    argv = ("enrich", "-", "-vv", "--fail-on", "none", *(["--offline"] if offline else []))
    done = cli(*argv, stdin=sbom)
    assert done.code == 0, done.stderr
    assert loop_line(done).endswith(f"event loop {loop}")


def test_an_offline_enrich_imports_no_event_loop(
    cli: Callable[..., Run], index_server: IndexServer, tmp_path: Path
) -> None:
    """An offline run reads the cache without an event loop: neither asyncio (nor ssl under
    it) nor uvloop is imported, ~20 ms of every start; its output is the online run's."""
    sbom = tmp_path / "sbom.json"
    sbom.write_text(
        json.dumps(
            {
                "bomFormat": "CycloneDX",
                "specVersion": "1.6",
                "version": 1,
                "components": [
                    {"type": "library", "name": name, "version": "1.0",
                     "purl": f"pkg:pypi/{name}@1.0"}
                    for name in ("requests", "nose", "no-such-project-here")
                ],
            }
        )
    )  # fmt: skip
    online = cli("enrich", str(sbom), "--fail-on", "none")  # fills the cache
    assert online.code == 0, online.stderr
    code = (
        "import sys\n"
        "from sbom_enrich.cli import main\n"
        "code = main(sys.argv[1:])\n"
        "loaded = sorted({'asyncio', 'ssl', 'uvloop'} & set(sys.modules))\n"
        "print('loaded:', ','.join(loaded) or 'none', file=sys.stderr)\n"
        "raise SystemExit(code)\n"
    )
    out = tmp_path / "offline.json"
    argv = [sys.executable, "-c", code, "enrich", str(sbom), "-o", str(out), "--offline"]
    done = subprocess.run(
        [*argv, "--fail-on", "none"], env={**uvloop_env(index_server, tmp_path),
                                           "SBOM_ENRICH_EVENT_LOOP": "auto"},
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "loaded: none" in done.stderr
    assert out.read_bytes() == online.stdout


def lower_descriptor_limit(soft: int) -> Callable[[], None]:
    import resource

    def lower() -> None:
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))

    return lower


@pytest.mark.parametrize(("concurrency", "expected"), [(128, "asyncio"), (8, "uvloop")])
def test_too_few_descriptors_for_the_connections_take_asyncios_loop(
    index_server: IndexServer, tmp_path: Path, concurrency: int, expected: str
) -> None:
    # `ulimit -n 64` with --concurrency 128: on uvloop the connections took every descriptor,
    # its loop could not make the socket pair it makes each time it starts running, and the
    # run ended in "Cannot close a running event loop" (exit 5, or a worker and its lookups
    # lost). asyncio's loop loses only the lookups that found no descriptor.
    env = uvloop_env(index_server, tmp_path)
    argv = [sys.executable, "-m", "sbom_enrich", "status", "requests", "nose", "--fail-on",
            "none", "-vv", "--concurrency", str(concurrency)]  # fmt: skip
    done = subprocess.run(argv, env=env, capture_output=True, timeout=60, text=True,
                          preexec_fn=lower_descriptor_limit(100), check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"event loop {expected}" in done.stderr
    assert "Traceback" not in done.stderr
