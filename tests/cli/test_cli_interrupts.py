"""Ctrl-C (SIGINT) ends a run with exit 130, or once the run has its status with that status:
never with the process killed by SIGINT (-2 to its parent), wherever the signal lands.

Each test puts the SIGINT exactly where a random one landed now and then: a
``sitecustomize`` module of the test's own (first on ``PYTHONPATH``) sends it from inside the
process at that point (while the command line is imported; while the interpreter ends;
from a lookup worker just forked), so the test is as exact as the window is narrow.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from indexserver import IndexServer, MakeIndexServer, synthetic_projects
from sbom_enrich.cli.lookup_workers import WORKERS_THRESHOLD
from sbom_enrich.status.model import canonical

SRC = Path(__file__).resolve().parents[2] / "src"

#: Where to send the SIGINT from: SIGINT_AT names the point (see the tests).
HOOK = """
import os, signal, sys

AT = os.environ.get("SIGINT_AT")

# Started from a background job (`pytest ... &` in a script), the process inherits SIGINT
# ignored, and Python then installs no KeyboardInterrupt handler: the signal sent below would
# do nothing. A run started in the foreground has the handler; so does this one.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


def interrupt(group=False, once=None):
    if once is not None:
        try:  # the first process to get here sends it, no other
            os.close(os.open(once, os.O_CREAT | os.O_EXCL))
        except FileExistsError:
            return
    if group:
        os.killpg(0, signal.SIGINT)
    else:
        os.kill(os.getpid(), signal.SIGINT)


if AT == "import":
    class AtImport:
        def find_spec(self, name, path=None, target=None):
            if name == "sbom_enrich.cli.entry":
                sys.meta_path.remove(self)
                interrupt()
                sum(range(1000))  # Python code runs on: a handler that raises, raises here
            return None

    sys.meta_path.insert(0, AtImport())
elif AT == "string":
    class InText:
        # As a dataclass or a namedtuple is made while a module is imported: code from text.
        def find_spec(self, name, path=None, target=None):
            if name == "sbom_enrich.cli.status":
                sys.meta_path.remove(self)
                exec("interrupt(); sum(range(1000))", {"interrupt": interrupt})
            return None

    sys.meta_path.insert(0, InText())
elif AT == "exit":
    class AtExit:
        # Freed when the interpreter clears the sys module, after main() returned; by then
        # the signal module is cleared too, hence what it needs is kept here.
        def __del__(self, kill=os.kill, pid=os.getpid(), sigint=signal.SIGINT):
            kill(pid, sigint)

    sys.sigint_at_exit = AtExit()
elif AT == "fork":
    once = os.environ["SIGINT_ONCE"]
    os.register_at_fork(after_in_child=lambda: interrupt(group=True, once=once))
"""


def run(argv: list[str], tmp_path: Path, at: str, loop: str = "auto") -> subprocess.Popen[bytes]:
    hooks = tmp_path / "hooks"
    hooks.mkdir(exist_ok=True)
    (hooks / "sitecustomize.py").write_text(HOOK)
    env = {k: v for k, v in os.environ.items() if not k.upper().endswith("_PROXY")}
    env.update(
        PYTHONPATH=os.pathsep.join([str(hooks), str(SRC)]),
        HOME=str(tmp_path),
        SBOM_ENRICH_ALTERNATIVES="",
        SBOM_ENRICH_CACHE_DIR=str(tmp_path / "cache"),
        NO_PROXY="127.0.0.1",
        SIGINT_AT=at,
        SIGINT_ONCE=str(tmp_path / "sent"),
        SBOM_ENRICH_EVENT_LOOP=loop,
    )
    env.pop("SBOM_ENRICH_LOOKUP_WORKERS", None)
    return subprocess.Popen(
        [sys.executable, "-m", "sbom_enrich", *argv],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=tmp_path,
        start_new_session=True,  # a SIGINT to its process group reaches no test
    )


def sbom(names: list[str]) -> bytes:
    components = [{"type": "library", "name": n, "purl": f"pkg:pypi/{n}@1.0"} for n in names]
    document = {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1}
    return json.dumps({**document, "components": components}).encode()


@pytest.mark.parametrize("command", ["enrich", "check", "status"])
def test_a_sigint_while_the_command_line_is_imported_is_exit_130(
    index_server: IndexServer, tmp_path: Path, command: str
) -> None:
    (tmp_path / "requirements.txt").write_text("requests\n")
    argv = {"enrich": ["enrich", "-"], "check": ["check"], "status": ["status", "requests"]}
    process = run([*argv[command], "--index-url", index_server.url], tmp_path, "import")
    out, err = process.communicate(sbom(["requests"]), timeout=60)
    assert process.returncode == 130, err.decode()
    assert err.decode() == "sbom-enrich: interrupted; nothing written\n"
    assert out == b""
    assert index_server.stats.requests == 0  # stopped before it asked anything


def test_a_sigint_in_code_run_from_text_is_exit_130(
    index_server: IndexServer, tmp_path: Path
) -> None:
    """A KeyboardInterrupt that leaves code run by exec() (dataclasses, namedtuples) is
    marked by CPython as unhandled: once handled by main(), `python -m` still ended the
    process killed by SIGINT."""
    process = run(["status", "requests", "--index-url", index_server.url], tmp_path, "string")
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err.decode()
    assert err.decode() == "sbom-enrich: interrupted; nothing written\n"
    assert out == b""


@pytest.mark.parametrize("loop", ["uvloop", "asyncio"])
def test_a_sigint_while_the_interpreter_ends_leaves_the_runs_status(
    index_server: IndexServer, tmp_path: Path, loop: str
) -> None:
    """After main() returned, CPython gives SIGINT its default action back before it frees
    the modules: a SIGINT then killed the finished run. Its status stands now."""
    if loop == "uvloop":
        pytest.importorskip("uvloop")
    argv = ["enrich", "-", "--index-url", index_server.url, "--no-cache"]
    process = run(argv, tmp_path, "exit", loop)
    out, err = process.communicate(sbom(["requests", "pycrypto"]), timeout=60)
    assert process.returncode == 0, err.decode()
    statuses = [
        p["value"]
        for c in json.loads(out)["components"]
        for p in c["properties"]
        if p["name"] == "sbom-enrich:pypi:project-status"
    ]
    assert statuses == ["active", "archived"]


@pytest.mark.timeout(120)
def test_a_sigint_to_the_process_group_as_a_worker_starts_is_exit_130_without_a_traceback(
    make_index_server: MakeIndexServer, tmp_path: Path
) -> None:
    """Ctrl-C reaches every process of the group: a worker just forked, not yet ignoring
    SIGINT, printed a KeyboardInterrupt traceback (the parent's exit was 130 already)."""
    projects = synthetic_projects(WORKERS_THRESHOLD + 10)
    index = make_index_server(projects)
    names = [canonical(spec.name) for spec in projects]
    argv = ["status", "--index-url", index.url, "--workers", "2", "--fail-on", "none", *names]
    process = run(argv, tmp_path, "fork")
    out, err = process.communicate(timeout=100)
    assert (tmp_path / "sent").exists()  # a worker was forked, and sent it
    assert process.returncode == 130, err.decode()
    assert err.decode() == "sbom-enrich: interrupted; nothing written\n"


def test_an_interrupt_after_a_file_was_written_names_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A Ctrl-C while the summary prints comes after the SBOM was written: "nothing written"
    would be false."""
    from sbom_enrich.cli import entry, output, status

    written = tmp_path / "out.json"

    def run(args: object, invocation: object) -> int:
        output.write_atomically(written, b"{}")
        raise KeyboardInterrupt

    monkeypatch.setattr(status, "run", run)
    assert entry.main(["status", "requests"]) == 130
    assert capsys.readouterr().err == (
        f"sbom-enrich: interrupted after writing {written} (complete); nothing else written\n"
    )
    assert written.read_bytes() == b"{}"
    monkeypatch.undo()
    # The next run starts with nothing written.
    monkeypatch.setattr(
        status, "run", lambda args, invocation: (_ for _ in ()).throw(KeyboardInterrupt())
    )
    assert entry.main(["status", "requests"]) == 130
    assert capsys.readouterr().err == "sbom-enrich: interrupted; nothing written\n"
