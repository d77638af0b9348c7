"""What one run of the command line is given (environment, streams), and what a command is."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import IO, Any, Protocol


@dataclass(frozen=True)
class Invocation:
    """The environment (``os.environ`` unless a test passes its own) and the byte streams."""

    env: Mapping[str, str]
    stdin: IO[bytes]
    stdout: IO[bytes]


class Command(Protocol):
    """A command module: ``add_parser`` registers its flags, ``run`` returns the exit code."""

    def add_parser(self, commands: Any) -> None: ...

    def run(self, args: argparse.Namespace, invocation: Invocation) -> int: ...
