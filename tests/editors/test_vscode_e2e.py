"""VS Code for real: our .vsix in code-server, driven by headless Chromium (scripts/test-vscode)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from indexserver import IndexServer

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver
    from selenium.webdriver.remote.webelement import WebElement

REPO = Path(__file__).resolve().parents[2]
ENABLED = os.environ.get("SBOM_ENRICH_VSCODE_E2E") == "1"
# Generous bounds for a loaded 2-core machine; they end a hung run, they measure nothing.
START_TIMEOUT = 180.0
UI_TIMEOUT = 120.0

pytestmark = [
    pytest.mark.vscode,
    pytest.mark.timeout(900),
    pytest.mark.skipif(
        not ENABLED,
        reason="set SBOM_ENRICH_VSCODE_E2E=1 (scripts/test-vscode installs what it needs)",
    ),
]


def _tool(variable: str, default: str | None, what: str) -> Path:
    """A tool the test needs: asked for with SBOM_ENRICH_VSCODE_E2E=1, so missing is a failure."""
    value = os.environ.get(variable) or (shutil.which(default) if default else None)
    if not value or not Path(value).is_file():
        pytest.fail(f"{what} not found: set {variable} (scripts/test-vscode installs it)")
    return Path(value)


@dataclass(frozen=True)
class CodeServer:
    url: str
    workspace: Path
    log: Path
    user_data: Path


def _wait_for_listen_url(process: subprocess.Popen[bytes], log: Path) -> str:
    """code-server picks a free port (bind 127.0.0.1:0) and logs it: read it from the log."""
    deadline = time.monotonic() + START_TIMEOUT
    pattern = re.compile(r"HTTP server listening on (http://127\.0\.0\.1:\d+/)")
    while time.monotonic() < deadline:
        match = pattern.search(log.read_text(errors="replace"))
        if match:
            return match.group(1)
        if process.poll() is not None:
            pytest.fail(f"code-server exited with {process.returncode}:\n{log.read_text()}")
        time.sleep(0.2)
    pytest.fail(f"code-server did not start within {START_TIMEOUT:.0f} s:\n{log.read_text()}")


@pytest.fixture
def socket_dir() -> Iterator[Path]:
    """code-server's TMPDIR, where VS Code puts its IPC and git sockets: short (a socket path has
    at most 107 bytes, pytest's tmp_path can be longer) and removed, not left in /tmp."""
    path = Path(tempfile.mkdtemp(prefix="sbom-vsc-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def code_server(
    tmp_path: Path, index_server: IndexServer, socket_dir: Path
) -> Iterator[CodeServer]:
    """code-server with only our extension, installed from the .vsix, pointed at the test index.

    HOME is a fresh directory, so neither code-server's nor the extension's defaults can reach a
    real configuration or the user cache; the server runs with this test's Python (which has
    sbom-enrich[lsp]) and a cache of its own.
    """
    binary = _tool("SBOM_ENRICH_CODE_SERVER", "code-server", "code-server")
    vsix = Path(os.environ.get("SBOM_ENRICH_VSIX", REPO / "editors/vscode/sbom-enrich.vsix"))
    if not vsix.is_file():
        pytest.fail(f"{vsix} not found: build it with scripts/test-editors")

    home, user_data, extensions = tmp_path / "home", tmp_path / "user-data", tmp_path / "extensions"
    workspace = tmp_path / "workspace"
    for directory in (home, user_data / "User", extensions, workspace):
        directory.mkdir(parents=True)
    # The deprecated project on the first line, the quarantined one on the second: one warning
    # (drawn struck through) and one error.
    (workspace / "requirements.txt").write_text("nose\nevil-pkg\n")
    settings = {
        "sbomEnrich.interpreter": [sys.executable],
        "sbomEnrich.indexUrl": index_server.url,
        "sbomEnrich.cacheDir": str(tmp_path / "cache"),
        "sbomEnrich.logLevel": "info",
        # The LSP traffic in the output channel, printed on failure: tells a client that sent
        # nothing from a server that answered nothing.
        "sbomEnrich.trace.server": "messages",
        # Quiet, predictable workbench: nothing opens over the editor or asks for attention.
        "workbench.startupEditor": "none",
        "workbench.tips.enabled": False,
        "workbench.enableExperiments": False,
        "telemetry.telemetryLevel": "off",
        "security.workspace.trust.enabled": False,
        "extensions.autoCheckUpdates": False,
        "extensions.autoUpdate": False,
        "extensions.ignoreRecommendations": True,
        "update.mode": "none",
        "editor.hover.delay": 200,
        "editor.minimap.enabled": False,
    }
    (user_data / "User" / "settings.json").write_text(json.dumps(settings, indent=2))
    env = {
        **os.environ,
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "TMPDIR": str(socket_dir),
    }
    env.pop("VSCODE_IPC_HOOK_CLI", None)
    common = ["--user-data-dir", str(user_data), "--extensions-dir", str(extensions)]
    config = tmp_path / "code-server.yaml"
    config.write_text("bind-addr: 127.0.0.1:0\nauth: none\ncert: false\n")

    install = subprocess.run(
        [str(binary), "--config", str(config), *common, "--install-extension", str(vsix)],
        env=env,
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT,
        check=False,
    )
    assert install.returncode == 0 and "successfully installed" in install.stdout, (
        install.stdout + install.stderr
    )
    installed = [p.name for p in extensions.iterdir() if p.is_dir()]
    assert installed == ["sbom-enrich.sbom-enrich-0.1.0"], installed

    log = tmp_path / "code-server.log"
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            [
                str(binary),
                "--config",
                str(config),
                *common,
                "--disable-telemetry",
                "--disable-update-check",
                "--disable-workspace-trust",
                "--disable-getting-started-override",
                "--ignore-last-opened",
                str(workspace),
            ],
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        url = _wait_for_listen_url(process, log)
        yield CodeServer(url=url, workspace=workspace, log=log, user_data=user_data)
    finally:
        # The whole session: code-server, its extension host and the language server it ran.
        with contextlib.suppress(ProcessLookupError):  # already gone, e.g. it failed to start
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[WebDriver]:
    """Debian's headless Chromium through Debian's chromedriver (same build, no downloads)."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.fail(
            "selenium is not installed: pip install -e '.[vscode-e2e]' (scripts/test-vscode)"
        )
    chromium = _tool("SBOM_ENRICH_CHROMIUM", "chromium", "Chromium")
    chromedriver = _tool("SBOM_ENRICH_CHROMEDRIVER", "chromedriver", "chromedriver")
    options = webdriver.ChromeOptions()
    options.binary_location = str(chromium)
    for argument in (
        "--headless=new",
        "--no-sandbox",  # root in a container has no user namespace for the sandbox
        "--disable-dev-shm-usage",
        "--window-size=1400,900",
        f"--user-data-dir={tmp_path / 'chromium'}",
        "--no-first-run",
        "--disable-extensions",
    ):
        options.add_argument(argument)
    service = Service(
        executable_path=str(chromedriver), log_output=str(tmp_path / "chromedriver.log")
    )
    driver = webdriver.Chrome(options=options, service=service)
    try:
        yield driver
    finally:
        driver.quit()


def _wait_for(
    driver: WebDriver, condition: Callable[[WebDriver], Any], what: str, timeout: float = UI_TIMEOUT
) -> Any:
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.25).until(condition)
    except TimeoutException:
        raise AssertionError(f"VS Code did not show {what} within {timeout:.0f} s") from None


def _text_of(driver: WebDriver, selector: str) -> str:
    from selenium.webdriver.common.by import By

    return "\n".join(e.text for e in driver.find_elements(By.CSS_SELECTOR, selector) if e.text)


def _press(driver: WebDriver, *keys: str) -> None:
    """A chord such as Ctrl+Shift+M, sent to whatever has focus (as a person's keyboard would)."""
    from selenium.webdriver.common.action_chains import ActionChains

    chain = ActionChains(driver)
    for key in keys[:-1]:
        chain.key_down(key)
    chain.send_keys(keys[-1])
    for key in reversed(keys[:-1]):
        chain.key_up(key)
    chain.perform()


def _line_element(driver: WebDriver, text: str) -> WebElement | None:
    from selenium.webdriver.common.by import By

    for line in driver.find_elements(By.CSS_SELECTOR, ".monaco-editor .view-lines .view-line"):
        if line.text.strip() == text:
            spans: list[WebElement] = line.find_elements(By.CSS_SELECTOR, "span > span")
            return spans[0] if spans else line
    return None


def _save_screenshot(driver: WebDriver, path: Path) -> Path:
    driver.save_screenshot(str(path))
    return path


def _open_file(driver: WebDriver, name: str) -> None:
    """Quick Open (Ctrl+P), type the name, Enter: how a person opens a file."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    _press(driver, Keys.CONTROL, "p")
    box = _wait_for(
        driver,
        lambda d: next(iter(d.find_elements(By.CSS_SELECTOR, ".quick-input-widget input")), None),
        "the Quick Open box",
    )
    box.send_keys(name)
    _wait_for(driver, lambda d: name in _text_of(d, ".quick-input-list"), f"{name} in Quick Open")
    box.send_keys(Keys.ENTER)
    _wait_for(driver, lambda d: _line_element(d, "evil-pkg") is not None, f"{name} in an editor")


@contextmanager
def _screenshot_on_failure(driver: WebDriver, server: CodeServer, shots: Path) -> Iterator[None]:
    """On failure: what VS Code showed, and the extension's log, for the person fixing it."""
    try:
        yield
    except BaseException:
        shot = _save_screenshot(driver, shots / "failure.png")
        print(f"screenshot: {shot}\ncode-server log: {server.log}", file=sys.stderr)
        # The extension's output channel: interpreter, server command, the server's own log.
        for channel in sorted(server.user_data.glob("logs/*/exthost*/sbom-enrich.*/*.log")):
            print(f"--- {channel}\n{channel.read_text(errors='replace')[-4000:]}", file=sys.stderr)
        raise


def _squiggles(driver: WebDriver, severity: str) -> int:
    from selenium.webdriver.common.by import By

    return len(driver.find_elements(By.CSS_SELECTOR, f".view-overlays .squiggly-{severity}"))


def _open_requirements_and_problems(driver: WebDriver, server: CodeServer) -> str:
    """Open the workspace, then requirements.txt, then the Problems panel; its text once the
    server's two problems are in it (an error squiggle for the quarantined project, a warning
    drawn struck through, the Deprecated tag, for the deprecated one)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    driver.get(f"{server.url}?folder={server.workspace}")
    _wait_for(
        driver,
        lambda d: "requirements.txt" in _text_of(d, ".explorer-folders-view"),
        "the workspace in the Explorer",
        timeout=START_TIMEOUT,
    )
    _open_file(driver, "requirements.txt")
    _wait_for(
        driver,
        lambda d: _squiggles(d, "error") == 1 and _squiggles(d, "warning") == 1,
        "an error and a warning squiggle",
    )
    assert driver.find_elements(By.CSS_SELECTOR, ".squiggly-inline-deprecated")
    _press(driver, Keys.CONTROL, Keys.SHIFT, "m")
    problems: str = _wait_for(
        driver,
        lambda d: (
            (text := _text_of(d, ".markers-panel"))
            and "evil-pkg is quarantined" in text
            and "nose is deprecated" in text
            and text
        ),
        "both problems in the Problems panel",
    )
    return problems


def test_vscode_shows_diagnostics_and_hover_from_the_vsix(
    code_server: CodeServer, browser: WebDriver, index_server: IndexServer, tmp_path: Path
) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    shots = tmp_path / "screenshots"
    shots.mkdir()
    with _screenshot_on_failure(browser, code_server, shots):
        problems = _open_requirements_and_problems(browser, code_server)
        # The server's words, reasons included, with the source.
        assert "Reported as malware" in problems, problems
        assert "Unmaintained since 2015; use pytest" in problems, problems
        assert "sbom-enrich" in problems, problems

        # Hover over the quarantined name: the server's hover (not only the problem's message).
        target = _line_element(browser, "evil-pkg")
        assert target is not None
        ActionChains(browser).move_to_element(target).perform()
        hover = _wait_for(
            browser,
            lambda d: (
                (text := _text_of(d, ".monaco-hover"))
                and "Reason given by the index" in text
                and text
            ),
            "the hover of evil-pkg",
        )
        assert "quarantined" in hover, hover
        assert "Reported as malware" in hover, hover
        assert f"Index: {index_server.url}" in hover, hover
        _save_screenshot(browser, shots / "success.png")


def test_vscode_shows_a_settings_change_without_an_edit(
    code_server: CodeServer, browser: WebDriver, tmp_path: Path
) -> None:
    """Settings edited while the file is open (severity, ignore) show at once, as a person
    changing them in the Settings editor expects: no edit, no reopening, no restart."""
    shots = tmp_path / "screenshots"
    shots.mkdir()
    with _screenshot_on_failure(browser, code_server, shots):
        _open_requirements_and_problems(browser, code_server)
        # Workspace settings, as the Settings editor's "Workspace" tab writes them.
        settings = {"sbomEnrich.severity.quarantined": "information", "sbomEnrich.ignore": ["NOSE"]}
        (code_server.workspace / ".vscode").mkdir()
        (code_server.workspace / ".vscode" / "settings.json").write_text(json.dumps(settings))
        _wait_for(
            browser,
            lambda d: (
                _squiggles(d, "error") == 0
                and _squiggles(d, "warning") == 0
                and _squiggles(d, "info") == 1
            ),
            "evil-pkg as information and nose not at all",
        )
        problems = _wait_for(
            browser,
            lambda d: (
                (text := _text_of(d, ".markers-panel"))
                and "nose is deprecated" not in text
                and text
            ),
            "the Problems panel without nose",
        )
        assert "evil-pkg is quarantined" in problems, problems
        _save_screenshot(browser, shots / "settings-changed.png")
