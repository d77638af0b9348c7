"""What one run of the command line is given (environment, streams), and what a command is."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import IO, Any, Protocol

import msgspec

#: Command name → its line in ``sbom-enrich --help``, in that order; each name is a module of
#: this package. Here, not in the modules, so that the parser can list every command while
#: importing only the one that runs.
COMMAND_HELP: Mapping[str, str] = {
    "enrich": "add status properties to a CycloneDX SBOM",
    "check": "check requirements files, pyproject.toml and lock files against the index",
    "status": "show what the index says about projects",
    "cache": "inspect or clear the cache",
    "serve": "run the HTTP enrichment service (needs sbom-enrich[serve])",
    "monitor": "watch what your projects ship and get told when a package changes status",
}


class Invocation(msgspec.Struct, frozen=True, eq=False):
    """The environment (``os.environ`` unless a test passes its own) and the byte streams."""

    env: Mapping[str, str]
    stdin: IO[bytes]
    stdout: IO[bytes]


class Command(Protocol):
    """A command module: ``add_parser`` registers its flags, ``run`` returns the exit code."""

    def add_parser(self, commands: Any) -> None: ...

    def run(self, args: argparse.Namespace, invocation: Invocation) -> int: ...
