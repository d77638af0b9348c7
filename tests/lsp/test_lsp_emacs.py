"""A real editor: Emacs runs editors/emacs/sbom-enrich-tests.el (ERT), Eglot and lsp-mode.

The ERT suite byte-compiles nothing (scripts/test-editors does that) but runs every test of
the Emacs client against the real server and the test index, including the README's
``.dir-locals.el`` example (Eglot) and its lsp-mode recipe, read from the README as printed.
Skipped when Emacs is not installed (scripts/ensure-emacs installs Debian's emacs-nox,
elpa-eglot and elpa-lsp-mode).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EMACS = shutil.which("emacs")

pytestmark = [
    pytest.mark.editor,
    pytest.mark.skipif(EMACS is None, reason="emacs not installed (scripts/ensure-emacs)"),
]


def test_emacs_client_tests_pass_with_eglot_end_to_end() -> None:
    assert EMACS is not None
    completed = subprocess.run(
        [
            EMACS,
            "--batch",
            "-Q",
            "-L",
            "editors/emacs",
            "-l",
            "editors/emacs/sbom-enrich-tests.el",
            "-f",
            "ert-run-tests-batch-and-exit",
        ],  # fmt: skip
        cwd=REPO,
        env={**os.environ, "SBOM_ENRICH_TEST_PYTHON": sys.executable},
        capture_output=True,
        text=True,
        timeout=240,
        stdin=subprocess.DEVNULL,
    )
    log = completed.stdout + completed.stderr
    assert completed.returncode == 0, log
    # Eglot must have loaded: its end-to-end tests ran instead of being skipped.
    assert "skipped" not in log.lower(), log
    for readme_recipe in (
        "sbom-enrich-readme-workspace-configuration",
        "sbom-enrich-readme-lsp-mode",
    ):
        assert "passed" in log and readme_recipe in log, log
