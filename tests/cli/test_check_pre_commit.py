"""The pre-commit hook, installed and run by the real `pre-commit try-repo` on the test index."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from indexserver import IndexServer

ROOT = Path(__file__).resolve().parents[2]
PRE_COMMIT = shutil.which("pre-commit", path=str(Path(sys.executable).parent)) or shutil.which(
    "pre-commit"
)


def git(cwd: Path, *argv: str) -> None:
    subprocess.run(["git", *argv], cwd=cwd, check=True, capture_output=True, timeout=60)


@pytest.mark.timeout(300)
@pytest.mark.skipif(
    PRE_COMMIT is None and not os.environ.get("CI"),
    reason="pre-commit is not installed (pip install -e '.[test]'); never skipped in CI",
)
def test_hook_passes_a_clean_manifest_and_fails_a_quarantined_one(
    tmp_path: Path, index_server: IndexServer
) -> None:
    # A clone of this repository's HEAD: what a user's `rev:` would fetch (and clean in CI).
    hooks = tmp_path / "hooks"
    git(ROOT, "clone", "--quiet", "--no-local", str(ROOT), str(hooks))
    project = tmp_path / "project"
    project.mkdir()
    git(project, "init", "--quiet")
    (project / "requirements.txt").write_text("requests==2.32.3\n")
    (project / "MANIFEST.in").write_text("include README.md\n")  # not a manifest: not passed
    git(project, "add", ".")
    env = {
        **os.environ,
        "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
        "SBOM_ENRICH_INDEX_URL": index_server.url,
        "SBOM_ENRICH_CACHE_DIR": str(tmp_path / "cache"),
        "SBOM_ENRICH_FAIL_ON": "",
    }

    def try_repo() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(PRE_COMMIT), "try-repo", str(hooks), "sbom-enrich-check", "--all-files"],
            cwd=project, env=env, capture_output=True, text=True, timeout=240, check=False,
        )  # fmt: skip

    started = time.monotonic()
    clean = try_repo()
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "sbom-enrich check" in clean.stdout and "Passed" in clean.stdout
    (project / "requirements.txt").write_text("requests==2.32.3\nevil-pkg\n")
    git(project, "add", ".")
    bad = try_repo()
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "requirements.txt:2:1: evil-pkg · quarantined" in bad.stdout
    print(f"pre-commit try-repo twice: {time.monotonic() - started:.1f} s")
