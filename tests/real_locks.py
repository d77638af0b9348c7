"""Running the real lock-file writers (uv, pdm, poetry, pip) offline, for tests across the tree.

The tools come from PyPI through the ``test`` extra and lock against the test index
(``indexserver.IndexServer(..., core_metadata=True)`` serving ``indexserver.built_wheel``
files). Every proxy points at a closed port and only 127.0.0.1 is exempt; each tool's
configuration and cache live under a home folder of the test's own.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
OFFLINE = {
    "HTTP_PROXY": "http://127.0.0.1:9",
    "HTTPS_PROXY": "http://127.0.0.1:9",
    "ALL_PROXY": "http://127.0.0.1:9",
    "NO_PROXY": "127.0.0.1,localhost",
}


def tool(name: str) -> str:
    found = shutil.which(name, path=str(BIN))
    if found is None:
        pytest.fail(f"{name} is not installed: pip install -e '.[test]' brings it from PyPI")
    return found


def tool_env(home: Path) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.upper().endswith("_PROXY")}
    keep = {k: v for k, v in keep.items() if not k.startswith(("PIP_", "UV_", "PDM_", "POETRY_"))}
    return {
        **keep,
        **OFFLINE,
        "HOME": str(home),
        "XDG_CACHE_HOME": str(home / "cache"),
        "XDG_CONFIG_HOME": str(home / "config"),
        "UV_NO_CONFIG": "1",
        "UV_PYTHON_DOWNLOADS": "never",
        "UV_PYTHON": sys.executable,
        "PDM_CHECK_UPDATE": "false",
        "PDM_PYTHON": sys.executable,
        "PDM_USE_VENV": "false",
        "POETRY_VIRTUALENVS_CREATE": "false",
        "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
        "PIP_CONFIG_FILE": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
    }


def run_tool(command: list[str], cwd: Path, env: dict[str, str]) -> None:
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{command[:3]} failed:\n{done.stdout}\n{done.stderr}"


PYPROJECT = """\
[project]
name = "myapp"
version = "0.1"
requires-python = ">=3.10"
dependencies = [{dependencies}]
"""
STATIC_BUILD = '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n'
