"""The command line: logging never on stdout, --log-file, --tcp validation and a taken port."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from lsp.__main__ import main


def test_logs_go_to_the_log_file_and_never_to_stdout(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    completed = subprocess.run(
        [sys.executable, "-m", "lsp", "-vv", "--log-file", str(log)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=60,
    )
    assert completed.returncode == 0
    assert completed.stdout == b""  # stdout is the protocol channel
    assert "Registered" in log.read_text(encoding="utf-8")


def test_debug_logs_hold_no_credentials_and_no_control_characters(tmp_path: Path) -> None:
    """pygls logs whole messages at debug: the initialize options went into the log with the
    index URL's password (DESIGN: credentials never appear in output or logs)."""
    log = tmp_path / "server.log"
    options = {"indexUrl": "http://user:hunter2@127.0.0.1:9/simple/\x1b[2J/", "cacheDir": "x"}
    messages = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize",
         "params": {"capabilities": {}, "initializationOptions": options}},
        {"jsonrpc": "2.0", "method": "initialized", "params": {}},
        {"jsonrpc": "2.0", "id": 2, "method": "shutdown"},
        {"jsonrpc": "2.0", "method": "exit"},
    ]  # fmt: skip
    stdin = b"".join(
        b"Content-Length: %d\r\n\r\n%b" % (len(body), body)
        for body in (json.dumps(m).encode() for m in messages)
    )
    completed = subprocess.run(
        [sys.executable, "-m", "lsp", "-vv", "--log-file", str(log)],
        input=stdin,
        capture_output=True,
        timeout=60,
    )
    assert completed.returncode == 0, completed.stderr
    written = log.read_text(encoding="utf-8")
    assert "127.0.0.1:9" in written  # the options were logged, without their secret
    assert "hunter2" not in written and "user:" not in written
    assert "\x1b" not in written


@pytest.mark.parametrize(
    # "²" and 5,000 digits: isdigit() passed them and int() raised, argparse's "invalid value".
    "address",
    ["localhost", "localhost:\u00b2", "localhost:" + "9" * 5000],
    ids=["no-port", "superscript-two", "5000-digits"],
)
def test_tcp_address_must_be_host_and_port(
    capsys: pytest.CaptureFixture[str], address: str
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--tcp", address])
    assert exit_info.value.code == 2
    assert "--tcp: expected HOST:PORT" in capsys.readouterr().err  # the usage line names it too


def test_unwritable_log_file_is_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--log-file", str(tmp_path / "missing" / "x.log")]) == 2
    assert "cannot open log file" in capsys.readouterr().err


def test_starting_the_server_imports_no_http_client_or_cache() -> None:
    # Server start-up (issue 15: 0.6-0.8 s): httpx (and the rich/click/pygments its CLI pulls in
    # when installed), the status client and diskcache load after initialize is answered.
    code = (
        "import sys\n"
        "from lsp.server import build_server\n"
        "build_server()\n"
        "heavy = ['httpx', 'rich', 'click', 'pygments', 'diskcache', 'sqlite3', 'h11',\n"
        "         'sbom_enrich.status.client', 'sbom_enrich.status.compose',\n"
        "         'sbom_enrich.enrich']\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert completed.stdout.strip() == "[]", completed.stdout


def test_a_taken_tcp_port_is_one_line_exit_2() -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        completed = subprocess.run(
            [sys.executable, "-m", "lsp", "--tcp", f"127.0.0.1:{port}"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=60,
        )
    err = completed.stderr.decode()
    assert completed.returncode == 2, err
    assert "Traceback" not in err
    assert err.splitlines()[-1] == (
        f"sbom-enrich-lsp: cannot listen on 127.0.0.1:{port}: Address already in use"
    )
