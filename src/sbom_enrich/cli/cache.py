"""``sbom-enrich cache info|clear``: inspect or clear the disk cache."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..errors import SettingsError, UsageError
from ..findings.model import ExitCode
from ..status.cache.disk import StatusCache
from ..status.repository.cache import RepoCache
from ..status.settings import client_settings_from_env, parse_user_path
from .invocation import COMMAND_HELP, Invocation
from .output import write_stdout


def add_parser(commands: Any) -> None:
    cache = commands.add_parser("cache", help=COMMAND_HELP["cache"])
    cache.add_argument("action", choices=["info", "clear"])
    cache.add_argument("--cache-dir", type=Path, help="cache directory")


def run(args: argparse.Namespace, invocation: Invocation) -> int:
    """``info`` or ``clear`` the disk cache (its directory: --cache-dir, else the env twin)."""
    stdout = invocation.stdout
    try:
        settings = client_settings_from_env(invocation.env)
        directory = (
            parse_user_path("--cache-dir", args.cache_dir)
            if args.cache_dir
            else settings.resolved_cache_dir
        )
    except SettingsError as error:
        raise UsageError(str(error)) from None
    if not directory.exists():
        # Opening the cache would create it; looking at one must not.
        said = (
            f"directory: {directory}\nno cache yet (nothing has been looked up with it)\n"
            if args.action == "info"
            else f"nothing to clear: {directory} does not exist\n"
        )
        write_stdout(stdout, said.encode())
        return ExitCode.OK
    cache = StatusCache(directory)
    try:
        if args.action == "info":
            info = cache.info()
            lines = [f"{key}: {value}" for key, value in info.items()]
            lines.extend(_repositories_info(directory))
            write_stdout(stdout, ("\n".join(lines) + "\n").encode())
        else:
            removed = cache.clear()
            write_stdout(stdout, f"removed {removed} entries from {directory}\n".encode())
            _clear_repositories(directory, stdout)
    finally:
        cache.close()
    return ExitCode.OK


def _repositories_info(directory: Path) -> list[str]:
    """The repository source's store (--maintenance): where, and how many entries."""
    repositories = RepoCache.directory_beside(directory)
    if not repositories.is_dir():
        return []
    store = StatusCache(repositories)
    try:
        usable = store.usable
        entries = store.count() if usable else 0
    finally:
        store.close()
    return [f"repositories: {repositories} ({entries} entries)"]


def _clear_repositories(directory: Path, stdout: Any) -> None:
    """The repository source's entries (--maintenance) live beside the index's; clear them too."""
    repositories = RepoCache.directory_beside(directory)
    if not repositories.is_dir():
        return
    store = StatusCache(repositories)
    try:
        removed = store.clear()
    finally:
        store.close()
    write_stdout(stdout, f"removed {removed} repository entries from {repositories}\n".encode())
