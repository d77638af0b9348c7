"""Odd indexes in a registered lock file cost their packages, never the pass (no traceback)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from cli_runner import Run
from indexserver import IndexServer

ODD = [
    "http://[::1/simple",  # unclosed bracket
    "ftp://files.example/simple",  # not http(s): never asked
    "https://corp.example/simple?token=s3cretQ",  # a query: never asked, never shown
    "http://corp.example:99999/simple",  # port out of range
    "http://corp\u202eexample/simple",  # a bidi override
]


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    return sqlite_url


def test_odd_lock_indexes_are_refused_items_and_the_pass_goes_on(
    monitor: Callable[..., Run], index_server: IndexServer, tmp_path: Path
) -> None:
    packages = [
        f'[[package]]\nname = "odd{i}"\nversion = "1.0"\n'
        f"source = {{ registry = {json.dumps(url)} }}\n"
        for i, url in enumerate(ODD)
    ]
    packages.append('[[package]]\nname = "alpha"\nversion = "1.0"\nsource = { registry = "'
                    + index_server.url + '" }\n')  # fmt: skip
    lock = tmp_path / "uv.lock"
    lock.write_text('version = 1\nrequires-python = ">=3.10"\n\n' + "\n".join(packages))
    added = monitor("add", "--project", "shop", str(lock))
    assert added.code == 0, added.stderr
    ran = monitor("run")
    assert ran.code == 3, ran.stderr
    assert "Traceback" not in ran.stderr and "internal error" not in ran.stderr
    assert "s3cretQ" not in ran.stderr and "\u202e" not in ran.stderr
    # Each odd index is never asked; its name is, on the configured index (as `check` asks a
    # lock's names there), for a quarantine only.
    assert set(index_server.stats.by_project) == {"alpha", *(f"odd{i}" for i in range(len(ODD)))}
    for argv in (("status", "--json"), ("list", "--json"), ("history",)):
        shown = monitor(*argv)
        assert shown.code == 0, (argv, shown.stderr)
        assert b"s3cretQ" not in shown.stdout
