"""VS Code end to end: the built .vsix in code-server, driven by headless Chromium (playwright).

Run by scripts/test-vscode (which installs code-server, playwright and builds the .vsix):
    python scripts/vscode_e2e.py CODE_SERVER VSIX CHROMIUM
Opens a requirements.txt in a workspace, waits for the extension's diagnostics in the Problems
view, hovers the archived project's name and checks the hover text; exit 0 when all is seen.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
from indexserver import IndexServer, default_projects  # noqa: E402

REQUIREMENTS = "pycrypto==2.6.1\nnose==1.3.6\nrequests\n"
EXPECTED = ("pycrypto is archived", "nose is deprecated", "nose 1.3.6 was yanked")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def wait_for_port(port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not listening(port):
        if time.monotonic() > deadline:
            raise SystemExit(f"code-server did not listen on {port} within {timeout:.0f} s")
        time.sleep(0.2)


def main(code_server: str, vsix: str, chromium: str) -> int:
    from playwright.sync_api import sync_playwright

    with IndexServer(default_projects()) as index, tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        project, data, extensions = root / "project", root / "data", root / "extensions"
        project.mkdir()
        (project / "requirements.txt").write_text(REQUIREMENTS, encoding="utf-8")
        settings = data / "User" / "settings.json"
        settings.parent.mkdir(parents=True)
        settings.write_text(
            json.dumps(
                {
                    "sbomEnrich.interpreter": sys.executable,
                    "sbomEnrich.indexUrl": index.url,
                    "sbomEnrich.cacheDir": str(root / "cache"),
                    "security.workspace.trust.enabled": False,
                    "workbench.startupEditor": "none",
                    "telemetry.telemetryLevel": "off",
                }
            ),
            encoding="utf-8",
        )
        common = ["--user-data-dir", str(data), "--extensions-dir", str(extensions)]
        subprocess.run(
            [code_server, *common, "--install-extension", vsix], check=True, capture_output=True
        )
        port = free_port()
        server = subprocess.Popen(
            [
                code_server,
                *common,
                "--auth",
                "none",
                "--bind-addr",
                f"127.0.0.1:{port}",
                "--disable-telemetry",
                "--disable-update-check",
                "--disable-workspace-trust",
                str(project),
            ],  # fmt: skip
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "SBOM_ENRICH_INDEX_URL": "http://127.0.0.1:9/simple/"},
        )
        try:
            wait_for_port(port)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=chromium, args=["--no-sandbox"]
                )
                page = browser.new_page(viewport={"width": 1400, "height": 900})
                page.goto(f"http://127.0.0.1:{port}/?folder={project}", timeout=120_000)
                page.wait_for_selector(".monaco-workbench", timeout=120_000)
                try:
                    # The Explorer lists the workspace's files: open ours from there.
                    item = page.locator(
                        ".explorer-folders-view .monaco-list-row", has_text=("requirements.txt")
                    )
                    item.first.click(timeout=60_000)
                    page.wait_for_selector(".monaco-editor .view-lines", timeout=60_000)
                except Exception:
                    page.screenshot(path=str(REPO / "vscode-e2e-failure.png"))
                    raise
                # The Problems view lists every diagnostic with its message.
                page.keyboard.press("Control+Shift+M")
                deadline = time.monotonic() + 90
                text = ""
                while time.monotonic() < deadline:
                    text = page.locator(".markers-panel").inner_text(timeout=5_000)
                    if all(expected in text for expected in EXPECTED):
                        break
                    time.sleep(0.5)
                missing = [e for e in EXPECTED if e not in text]
                if missing:
                    page.screenshot(path=str(REPO / "vscode-e2e-failure.png"))
                    print(f"vscode e2e: not in the Problems view: {missing}\n{text}")
                    return 1
                # Hover at the start of line 1 ("pycrypto"): editor.action.showHover.
                page.locator(".monaco-editor .view-lines").first.click()
                page.keyboard.press("Control+Home")
                page.keyboard.press("Control+K")
                page.keyboard.press("Control+I")
                hover = page.locator(".monaco-hover-content", has_text="archived")
                hover.first.wait_for(timeout=30_000)
                hover_text = hover.first.inner_text()
                if "archived" not in hover_text or "pycryptodome" not in hover_text:
                    page.screenshot(path=str(REPO / "vscode-e2e-failure.png"))
                    print(f"vscode e2e: unexpected hover:\n{hover_text}")
                    return 1
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=30)
    print("vscode e2e: ok (diagnostics in the Problems view, hover with the alternative)")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
