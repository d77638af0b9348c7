"""What new users tripped on (issue 15): misleading summaries, lost reports, silent exits."""

from __future__ import annotations

import json
import os
import re
import resource
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from cli_runner import Run
from indexserver import IndexServer, ProjectSpec, release

REQUIREMENTS = "requests==2.32.0\nnose==1.3.6\nevil-pkg\npycrypto\n"


def sbom(*purls: str) -> bytes:
    components = [{"type": "library", "name": p.split("/")[-1].split("@")[0], "purl": p}
                  for p in purls]  # fmt: skip
    return json.dumps(
        {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "components": components}
    ).encode()


# -- the policy line says what failed and why, and stays short --------------------------------


def test_the_policy_line_names_the_yank_that_failed_a_component(
    project: Path, check: Callable[..., Run]
) -> None:
    (project / "requirements.txt").write_text(REQUIREMENTS)
    done = check("--fail-on", "yanked")
    assert done.code == 1
    policy = [line for line in done.stderr.splitlines() if line.startswith("policy:")]
    assert policy == [
        "policy: FAILED (--fail-on yanked): nose 1.3.6 (yanked), requests 2.32.0 (yanked)"
    ]


def test_a_long_list_of_violators_is_cut_on_the_policy_line(
    cli: Callable[..., Run], make_index_server: Callable[..., IndexServer]
) -> None:
    names = [f"gone-{i:03d}" for i in range(122)]
    index = make_index_server([ProjectSpec("requests")])
    done = cli(
        "enrich", "-", "--index-url", index.url, "--fail-on", "not-found",
        stdin=sbom(*(f"pkg:pypi/{n}@1.0" for n in names), "pkg:pypi/requests@2.31.0"),
    )  # fmt: skip
    assert done.code == 1
    (policy,) = [line for line in done.stderr.splitlines() if line.startswith("policy:")]
    assert len(policy) < 300
    assert policy.endswith("and 117 more (listed above)")
    assert "122 components" in policy


# -- report files are complete and in the format their name asks for ------------------------


def test_a_text_report_file_lists_every_finding(
    cli: Callable[..., Run], make_index_server: Callable[..., IndexServer], tmp_path: Path
) -> None:
    names = [f"gone-{i:03d}" for i in range(80)]
    index = make_index_server([ProjectSpec("requests")])
    report = tmp_path / "report.txt"
    done = cli(
        "enrich", "-", "-o", str(tmp_path / "out.json"), "--index-url", index.url,
        "--report", str(report), "--fail-on", "none",
        stdin=sbom(*(f"pkg:pypi/{n}@1.0" for n in names), "pkg:pypi/requests@2.31.0"),
    )  # fmt: skip
    assert done.code == 0, done.stderr
    text = report.read_text()
    assert all(f"{n} · 1.0 · not-found" in text for n in names)
    assert "more (all of them" not in text
    # The terminal summary may be cut, but says where the rest is (80 not-found, and the
    # requests release this index does not list).
    assert "and 31 more (all of them: --report FILE)" in done.stderr


def test_the_report_format_flag_does_not_override_a_known_file_extension(
    project: Path, check: Callable[..., Run]
) -> None:
    (project / "requirements.txt").write_text(REQUIREMENTS)
    done = check(
        "--report", "r.md", "--report", "r.sarif", "--report", "r.out",
        "--report-format", "json", "--fail-on", "none",
    )  # fmt: skip
    assert done.code == 0, done.stderr
    assert (project / "r.md").read_text().startswith("#")
    assert json.loads((project / "r.sarif").read_text())["version"] == "2.1.0"
    assert "counts" in json.loads((project / "r.out").read_text())


def test_markdown_shows_the_index_url_as_a_plain_link(
    project: Path, check: Callable[..., Run], index_server: IndexServer
) -> None:
    (project / "requirements.txt").write_text(REQUIREMENTS)
    check("--report", "r.md", "--fail-on", "none")
    text = (project / "r.md").read_text()
    assert index_server.url in text
    assert "\\." not in text and "\\/" not in text and "\\:" not in text


def test_json_and_markdown_say_why_an_old_index_gives_unknown(
    cli: Callable[..., Run], make_index_server: Callable[..., IndexServer], tmp_path: Path
) -> None:
    old = make_index_server([ProjectSpec("requests")], api_version="1.1")
    summary, report = tmp_path / "s.json", tmp_path / "r.md"
    cli(
        "enrich", "-", "-o", str(tmp_path / "out.json"), "--index-url", old.url,
        "--summary-json", str(summary), "--report", str(report), "--allow-incomplete",
        stdin=sbom("pkg:pypi/requests@2.31.0"),
    )  # fmt: skip
    (component,) = json.loads(summary.read_text())["components"]
    assert component["status"] == "unknown"
    assert component["status_note"] == (
        "the index cannot express project status (it speaks Simple API 1.1; PEP 792 needs 1.4)"
    )
    assert "cannot express project status" in report.read_text()


def test_json_counts_components_that_are_not_from_pypi(
    cli: Callable[..., Run], tmp_path: Path
) -> None:
    summary = tmp_path / "s.json"
    cli(
        "enrich", "-", "-o", str(tmp_path / "out.json"), "--summary-json", str(summary),
        stdin=sbom("pkg:pypi/requests@2.31.0", "pkg:npm/left-pad@1.3.0", "pkg:maven/a/b@1"),
    )  # fmt: skip
    assert json.loads(summary.read_text())["not_pypi"] == 2


# -- grammar and plain words ----------------------------------------------------------------


def test_counts_are_spelled_in_the_singular_when_there_is_one(
    project: Path, check: Callable[..., Run]
) -> None:
    (project / "requirements.txt").write_text("requests\n")
    done = check()
    first = done.stderr.splitlines()[0]
    assert "1 requirement (1 project) in 1 file checked against" in first


def test_one_sbom_component_is_one_component(cli: Callable[..., Run], tmp_path: Path) -> None:
    done = cli(
        "enrich", "-", "-o", str(tmp_path / "o.json"), stdin=sbom("pkg:pypi/requests@2.31.0")
    )
    assert "1 PyPI component (1 project) checked against" in done.stderr


def test_standard_library_alternatives_are_marked(project: Path, check: Callable[..., Run]) -> None:
    (project / "requirements.txt").write_text("nose\n")
    done = check()
    assert "alternatives: pytest, unittest (standard library)" in done.stderr


# -- commands that said nothing, or the wrong thing ------------------------------------------


def test_status_says_on_stderr_why_it_exits_non_zero(cli: Callable[..., Run]) -> None:
    done = cli("status", "evil-pkg")
    assert done.code == 1
    assert "policy: FAILED (--fail-on quarantined): evil-pkg (quarantined)" in done.stderr


def test_status_says_when_a_lookup_failed(
    cli: Callable[..., Run], make_index_server: Callable[..., IndexServer]
) -> None:
    down = make_index_server([ProjectSpec("requests")])
    url = down.url
    down.stop()
    done = cli("status", "requests", "--index-url", url, "--timeout", "2")
    assert done.code == 3
    assert "incomplete: 1 lookup failed" in done.stderr


def test_cache_info_does_not_create_the_directory(cli: Callable[..., Run], tmp_path: Path) -> None:
    missing = tmp_path / "no-such-cache"
    done = cli("cache", "info", "--cache-dir", str(missing))
    assert done.code == 0
    assert not missing.exists()
    assert "no cache yet" in done.stdout.decode()


def test_check_on_a_directory_checks_the_manifests_in_it(
    project: Path, check: Callable[..., Run]
) -> None:
    sub = project / "app"
    sub.mkdir()
    (sub / "requirements.txt").write_text("evil-pkg\n")
    done = check("app")
    assert done.code == 1, done.stderr
    assert "app/requirements.txt:1:1: evil-pkg" in done.stderr


def test_a_pyproject_shaped_file_with_another_name_is_read_as_pyproject(
    project: Path, check: Callable[..., Run]
) -> None:
    (project / "pyproject-dev.toml").write_text(
        '[project]\nname = "app"\nversion = "1"\ndependencies = ["evil-pkg"]\n'
    )
    done = check("pyproject-dev.toml")
    assert done.code == 1, done.stderr
    assert "invalid-requirement" not in done.stderr
    assert "pyproject-dev.toml:4:" in done.stderr


def test_enrich_on_a_requirements_file_points_to_check(
    project: Path, cli: Callable[..., Run]
) -> None:
    (project / "requirements.txt").write_text(REQUIREMENTS)
    done = cli("enrich", "requirements.txt")
    assert done.code == 2
    assert "sbom-enrich check requirements.txt" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_help_lists_fail_on_values_env_twins_and_commands(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from sbom_enrich.cli import main

    with pytest.raises(SystemExit):
        main(["--help"])
    top = capsys.readouterr().out
    for command in ("enrich", "check", "status", "cache", "serve"):
        assert re.search(rf"^\s+{command}\s+\S", top, re.M), command
    with pytest.raises(SystemExit):
        main(["check", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "quarantined, archived, deprecated" in text or "active, deprecated, archived" in text
    assert "yanked" in text
    assert "SBOM_ENRICH_INDEX_URL" in text and "SBOM_ENRICH_FAIL_ON" in text


# -- writing after the up-front checks ---------------------------------------------------------


def run_cli(
    *argv: str, env: dict[str, str], **kwargs: object
) -> subprocess.CompletedProcess[bytes]:
    streams = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
    return subprocess.run(
        [sys.executable, "-m", "sbom_enrich", *argv],
        env={**os.environ, **env},
        timeout=60,
        **{**streams, **kwargs},  # type: ignore[call-overload]
    )


@pytest.fixture
def env(index_server: IndexServer, tmp_path: Path) -> dict[str, str]:
    return {"SBOM_ENRICH_INDEX_URL": index_server.url, "SBOM_ENRICH_NO_CACHE": "1"}


def a_full_disk() -> None:
    """In the child: files may grow to 64 bytes, then writes fail (EFBIG) like a full disk.

    Never /dev/full: a tool that renames over its output would replace the device itself.
    """
    resource.setrlimit(resource.RLIMIT_FSIZE, (64, 64))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


def test_a_full_disk_is_one_line_and_its_own_exit_code(env: dict[str, str], tmp_path: Path) -> None:
    source = tmp_path / "in.json"
    source.write_bytes(sbom("pkg:pypi/requests@2.31.0"))
    out = tmp_path / "out"
    out.mkdir()
    done = run_cli(
        "enrich", str(source), "-o", str(out / "o.json"), env=env, preexec_fn=a_full_disk
    )
    err = done.stderr.decode()
    assert done.returncode == 4, err
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1] == (
        f"sbom-enrich: error: cannot write {out / 'o.json'}: File too large"
    )
    assert "policy: passed" in err  # the summary still came out
    assert list(out.iterdir()) == []  # no partial file, no hidden temporary


def test_a_reader_that_closed_the_pipe_of_o_dev_stdout_keeps_the_verdict(
    env: dict[str, str], tmp_path: Path
) -> None:
    source = tmp_path / "in.json"
    source.write_bytes(sbom("pkg:pypi/evil-pkg@0.0.1"))
    read, write = os.pipe()
    os.close(read)
    try:
        done = run_cli("enrich", str(source), "-o", "/dev/stdout", env=env, stdout=write)
    finally:
        os.close(write)
    err = done.stderr.decode()
    assert done.returncode == 1, err  # quarantined: the verdict, not a crash and not a pass
    assert "Traceback" not in err and "policy: FAILED" in err


def test_a_report_that_cannot_be_written_is_not_exit_0(env: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("requests\n")
    done = run_cli(
        "check", "--report", "r.txt", "--summary-json", "s.json", "--fail-on", "none",
        env=env, cwd=tmp_path, preexec_fn=a_full_disk,
    )  # fmt: skip
    err = done.stderr.decode()
    assert done.returncode == 4, err
    assert "cannot write r.txt: File too large" in err
    assert "cannot write s.json: File too large" in err
    assert "Traceback" not in err


def test_a_report_in_an_impossible_place_is_refused_up_front(
    project: Path, check: Callable[..., Run]
) -> None:
    (project / "requirements.txt").write_text("requests\n")
    done = check("--summary-json", "/proc/version/x", "--fail-on", "none")
    assert done.code == 2
    assert "Traceback" not in done.stderr


WRITER = """
import os, sys, time
from pathlib import Path
from sbom_enrich.cli.output import write_atomically

def chunks():
    yield b"x" * 100
    print("writing", flush=True)
    time.sleep(60)
    yield b"y"

write_atomically(Path(sys.argv[1]), chunks())
"""


def test_a_kill_during_a_write_leaves_no_file_behind(tmp_path: Path) -> None:
    target = tmp_path / "out" / "enriched.json"
    target.parent.mkdir()
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(target)], stdout=subprocess.PIPE)
    assert writer.stdout is not None
    assert writer.stdout.readline() == b"writing\n"
    writer.kill()
    writer.wait()
    assert list(target.parent.iterdir()) == []


# -- progress on a terminal ---------------------------------------------------------------


def run_on_a_terminal(argv: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run the real CLI with stderr on a pseudo-terminal; return the exit code and its text."""
    import pty

    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "sbom_enrich", *argv],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=follower,
        stdin=subprocess.DEVNULL,
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    os.close(leader)
    return process.wait(timeout=60), b"".join(chunks).decode(errors="replace")


@pytest.fixture
def slow_index(make_index_server: Callable[..., IndexServer]) -> IndexServer:
    projects = [
        ProjectSpec(f"pkg-{i:02d}", files=release(f"pkg-{i:02d}", "1.0")) for i in range(30)
    ]
    return make_index_server(projects, latency=0.05)


def test_progress_shows_on_a_terminal_and_not_with_q_or_a_pipe(
    slow_index: IndexServer, tmp_path: Path
) -> None:
    source = tmp_path / "in.json"
    source.write_bytes(sbom(*(f"pkg:pypi/pkg-{i:02d}@1.0" for i in range(30))))
    env = {"SBOM_ENRICH_INDEX_URL": slow_index.url, "SBOM_ENRICH_CACHE_DIR": str(tmp_path / "c"),
           "SBOM_ENRICH_CONCURRENCY": "2", "TERM": "xterm"}  # fmt: skip
    code, text = run_on_a_terminal(["enrich", str(source), "-o", str(tmp_path / "o.json")], env)
    assert code == 0, text
    assert re.search(r"\d+/30 ", text), text
    env["SBOM_ENRICH_CACHE_DIR"] = str(tmp_path / "c2")
    code, quiet = run_on_a_terminal(
        ["enrich", str(source), "-o", str(tmp_path / "o.json"), "-q"], env
    )
    assert code == 0 and "/30 " not in quiet
    piped = run_cli(
        "enrich", str(source), "-o", str(tmp_path / "o.json"),
        env={**env, "SBOM_ENRICH_CACHE_DIR": str(tmp_path / "c3")},
    )  # fmt: skip
    assert "/30 " not in piped.stderr.decode()


def test_colour_on_a_terminal_unless_no_color(slow_index: IndexServer, tmp_path: Path) -> None:
    source = tmp_path / "in.json"
    source.write_bytes(sbom("pkg:pypi/pkg-01@1.0"))
    env = {"SBOM_ENRICH_INDEX_URL": slow_index.url, "SBOM_ENRICH_CACHE_DIR": str(tmp_path / "c"),
           "TERM": "xterm"}  # fmt: skip
    _, coloured = run_on_a_terminal(["enrich", str(source), "-o", str(tmp_path / "o.json")], env)
    assert "\x1b[" in coloured
    _, plain = run_on_a_terminal(
        ["enrich", str(source), "-o", str(tmp_path / "o.json")], {**env, "NO_COLOR": "1"}
    )
    assert "\x1b[3" not in plain and "\x1b[1" not in plain


def test_quiet_prints_only_the_verdict_and_vv_is_more_than_v(
    project: Path, check: Callable[..., Run]
) -> None:
    (project / "requirements.txt").write_text(REQUIREMENTS)
    quiet = check("-q")
    assert quiet.code == 1
    assert quiet.stderr.strip().splitlines() == [
        "policy: FAILED (--fail-on quarantined): evil-pkg (quarantined)"
    ]
    one = check("-v", "--no-cache")
    two = check("-vv", "--no-cache")
    assert len(two.stderr.splitlines()) > len(one.stderr.splitlines())


def test_importing_the_cli_loads_no_http_stack() -> None:
    # --help, --version and `cache info` must not pay for httpx and the transports (~0.1 s):
    # the commands import the status client where they use it. This regressed once already.
    code = (
        "import sys, sbom_enrich.cli; "
        "print(sorted(m for m in sys.modules if m.startswith(('httpx', 'h11', 'httpcore'))))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_a_bug_is_one_line_and_its_own_exit_code_never_1_or_0(
    project: Path,
    check: Callable[..., Run],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from sbom_enrich.cli import check as check_command

    def broken(*args: object) -> int:
        raise RuntimeError("something nobody expected\x1b[2J")

    monkeypatch.setattr(check_command, "run", broken)  # the command table holds the module
    (project / "requirements.txt").write_text("requests\n")
    done = check()
    assert done.code == 5  # exit 1 would read as "policy violated"
    lines = done.stderr.strip().splitlines()
    assert lines == [
        "sbom-enrich: internal error (a bug; -vv shows the traceback): "
        "RuntimeError: something nobody expected"
    ]
    assert "Traceback" not in done.stderr
    verbose = check("-vv")
    assert verbose.code == 5 and "Traceback" in verbose.stderr


def test_each_workers_flag_names_its_own_environment_twin() -> None:
    """serve --workers (uvicorn processes, SBOM_ENRICH_WORKERS) said SBOM_ENRICH_LOOKUP_WORKERS,
    the lookup commands' twin, which serve does not read."""

    def shown(command: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "sbom_enrich", command, "--help"],
            capture_output=True, text=True, check=True, env={**os.environ, "COLUMNS": "100"},
        )  # fmt: skip
        return " ".join(done.stdout.split())

    serve, enrich = shown("serve"), shown("enrich")
    assert "worker processes (default 1) [env: SBOM_ENRICH_WORKERS]" in serve
    assert "SBOM_ENRICH_LOOKUP_WORKERS" not in serve
    assert "[env: SBOM_ENRICH_LOOKUP_WORKERS]" in enrich


def test_a_crashed_lookup_is_one_line_below_vv_and_its_traceback_with_it(
    project: Path,
    check: Callable[..., Run],
    index_server: IndexServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The status client logs a lookup that raised (a bug) with its traceback, for a server's
    log; the command line showed it at every verbosity, then said "-vv shows the traceback"."""
    from sbom_enrich.status import client as client_module

    async def broken(*args: object) -> object:
        raise RuntimeError("nobody expected this")

    monkeypatch.setattr(client_module.StatusClient, "_fetch", broken)
    (project / "requirements.txt").write_text("pycrypto\n")
    done = check("--no-cache")
    assert done.code == 5
    assert "Traceback" not in done.stderr, done.stderr
    assert "status lookup of pycrypto" in done.stderr and "failed unexpectedly" in done.stderr
    assert done.stderr.strip().splitlines()[-1] == (
        "sbom-enrich: internal error (a bug; -vv shows the traceback): "
        "RuntimeError: nobody expected this"
    )
    verbose = check("--no-cache", "-vv")
    assert verbose.code == 5 and "Traceback" in verbose.stderr
