"""`sbom-enrich serve` as a real process: flags and twins, startup errors, graceful shutdown."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from servicekit import MakeIndexServer, serve_process

from indexserver import IndexServer
from listening import ProcessOutput
from sbom_enrich.cli import main
from sbom_enrich.service.config import DEFAULT_PORT

BODY = json.dumps(
    {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "version": 1,
        "components": [{"type": "library", "name": "nose", "purl": "pkg:pypi/nose@1.3.7"}],
    }
).encode()


def wait_healthy(url: str, process: subprocess.Popen[bytes], output: ProcessOutput) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        assert process.poll() is None, output.text()
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError("the service did not come up")


def test_sigterm_lets_the_request_in_flight_finish(
    make_index_server: MakeIndexServer, tmp_path: Path
) -> None:
    index = make_index_server(latency=1.0)
    env = {
        **os.environ,
        "SBOM_ENRICH_CACHE_DIR": str(tmp_path / "cache"),
        "SBOM_ENRICH_PORT": "0",  # the twin, not the flag: any free port, the log says which
        "SBOM_ENRICH_FAIL_ON": "deprecated",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "sbom_enrich", "serve", "--index-url", index.url],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    output = ProcessOutput(process, process.stderr)
    try:
        port = output.port(20)
        assert port != DEFAULT_PORT  # the twin was read
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url, process, output)
        results: list[httpx.Response] = []

        def post() -> None:
            results.append(
                httpx.post(
                    f"{url}/v1/enrich",
                    content=BODY,
                    headers={"Content-Type": "application/json"},
                    timeout=30,
                )
            )

        sender = threading.Thread(target=post)
        sender.start()
        deadline = time.monotonic() + 10
        while index.stats.requests == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        process.send_signal(signal.SIGTERM)  # while the index is still answering
        sender.join(30)
        code = process.wait(30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    # uvicorn re-raises the signal after its graceful shutdown, as supervisors expect.
    assert code == -signal.SIGTERM
    assert len(results) == 1 and results[0].status_code == 200
    assert results[0].headers["X-Sbom-Enrich-Verdict"] == "failed"  # the twin's policy
    assert b"sbom-enrich:pypi:project-status" in results[0].content


def test_bad_serve_settings_are_one_line_usage_errors(capsys: object, tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path)}
    assert main(["serve", "--max-body", "lots"], env=env) == 2
    assert main(["serve", "--cache-url", "http://user:pw@cache/"], env=env) == 2
    assert main(["serve", "--workers", "0"], env=env) == 2
    assert main(["serve"], env={**env, "SBOM_ENRICH_PORT": "70000"}) == 2
    err = capsys.readouterr().err  # type: ignore[attr-defined]
    lines = err.strip().splitlines()
    assert len(lines) == 4 and all(line.startswith("sbom-enrich: error: ") for line in lines)
    assert "--max-body" in lines[0] and "--cache-url" in lines[1] and "pw" not in err
    assert "--workers" in lines[2] and "--port" in lines[3]


def test_every_serve_flag_and_twin_is_documented_in_deploy_md() -> None:
    from sbom_enrich.service.config import SERVE_ENV_TWINS

    docs = (Path(__file__).resolve().parents[2] / "docs" / "deploy.md").read_text()
    for flag, variable in SERVE_ENV_TWINS.items():
        assert f"| `{flag}` | `{variable}` |" in docs, flag


def test_workers_get_the_tokens_and_the_header_timeout(
    index_server: IndexServer, tmp_path: Path
) -> None:
    """With --workers the settings travel to spawned processes (token file path, the protocol
    as a picklable partial): both must hold there too."""
    tokens = tmp_path / "tokens"
    tokens.write_text("worker-token-0123456789abcdef\n")
    args = ["--workers", "2", "--index-url", index_server.url, "--token-file", str(tokens)]
    args += ["--header-timeout", "0.5", "--cache-dir", str(tmp_path / "cache")]
    with serve_process(args) as service:
        port = int(service.url.rsplit(":", 1)[1])
        with httpx.Client(base_url=service.url, timeout=30) as http:
            refused = http.get("/v1/projects/nose")
            allowed = http.get(
                "/v1/projects/nose",
                headers={"Authorization": "Bearer worker-token-0123456789abcdef"},
            )
        with socket.create_connection(("127.0.0.1", port), timeout=10) as slow:
            slow.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n")
            slow.settimeout(20)
            answer = slow.recv(4096)
    assert refused.status_code == 401
    assert allowed.status_code == 200
    assert answer.startswith(b"HTTP/1.1 408"), answer[:100]


def test_the_service_runs_on_the_event_loop_the_cli_would(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # uvloop when installed; SBOM_ENRICH_EVENT_LOOP=asyncio holds for the service as for the
    # CLI's lookups (docs/connections.md, "The event loop").
    import uvicorn

    loops: list[str] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: loops.append(options["loop"]))
    env = {"HOME": str(tmp_path), "SBOM_ENRICH_NO_AUTH": "1"}
    for value in ("", "asyncio", "uvloop"):
        assert main(["serve"], env={**env, "SBOM_ENRICH_EVENT_LOOP": value}) == 0
    assert loops == ["uvloop", "asyncio", "uvloop"]
    assert main(["serve"], env={**env, "SBOM_ENRICH_EVENT_LOOP": "tornado"}) == 2


def test_the_service_keeps_uvloop_under_a_low_descriptor_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The CLI's lookups take asyncio's loop below --concurrency + 64 descriptors
    # (cli/event_loop.py); the service keeps uvloop, whose server answers again once a flood
    # of connections past the limit has closed (asyncio's kept failing accept()).
    import resource

    import uvicorn

    loops: list[str] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: loops.append(options["loop"]))
    monkeypatch.setattr(resource, "getrlimit", lambda which: (100, 100))
    env = {"HOME": str(tmp_path), "SBOM_ENRICH_NO_AUTH": "1"}
    assert main(["serve"], env=env) == 0
    assert loops == ["uvloop"]
